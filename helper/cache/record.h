/* SPDX-License-Identifier: GPL-2.0-or-later */
/* record.h: the cache's own record format, what `sprout` reads on every warm start
 * (an entry's run config and names, a ref index record), so that sprout needs no JSON.
 *
 *   sprout-record 1          first line: the format and its version
 *   KEY VALUE                one field a line; KEY is [a-z0-9-]+ (not "end"), a space, VALUE
 *   KEY VALUE                a list is the same KEY repeated, in order
 *   end                      last line: a record cut short is refused, never half-read
 *
 * VALUE is any byte string without NUL, escaped: '\' as "\\", a newline as "\n"; every
 * other byte (tab, '=', non-UTF-8) is itself. The reader refuses anything else. */
#ifndef SPROUT_RECORD_H
#define SPROUT_RECORD_H

#include <stddef.h>
#include "error.h"

#define SP_RECORD_MAGIC "sprout-record 1"
#define SP_RECORD_MAX (16u << 20) /* larger files are refused unread */

struct sp_record_field {
  const char *key;
  const char *value; /* unescaped, NUL-terminated */
};

/* A parsed record: the fields point into buf. */
struct sp_record {
  char *buf;
  struct sp_record_field *fields;
  size_t n;
};

/* Parse len bytes of text strictly. 0, or -1 with *err saying which line is wrong
 * (r is then empty). */
int sp_record_parse (const char *text, size_t len, struct sp_record *r, sp_error_t *err);

/* Read and parse the file dfd/name (O_NOFOLLOW, a regular file of at most
 * SP_RECORD_MAX bytes). 0, or -1 with *err naming it (errno ENOENT when it is absent). */
int sp_record_read_at (int dfd, const char *name, struct sp_record *r, sp_error_t *err);

/* Free what sp_record_parse filled; harmless on a zeroed or freed one. */
void sp_record_free (struct sp_record *r);

/* The first value of key, or NULL. */
const char *sp_record_get (const struct sp_record *r, const char *key);

/* All values of key, in order, as a malloc'd NULL-terminated vector of copies; NULL
 * when key is absent (an empty list is written as no field and reads back as NULL). */
char **sp_record_strv (const struct sp_record *r, const char *key);

/* Whether value is among the values of key. */
int sp_record_has (const struct sp_record *r, const char *key, const char *value);

/* A record being written. */
struct sp_record_writer {
  char *buf;
  size_t len, cap;
};

/* Start a record (writes the first line). */
void sp_record_begin (struct sp_record_writer *w);

/* Add one field; value NULL adds nothing. key must be [a-z0-9-]+ (abort otherwise:
 * keys are the program's, never the user's). */
void sp_record_add (struct sp_record_writer *w, const char *key, const char *value);

/* Add one field per string of the NULL-terminated v (nothing when v is NULL). */
void sp_record_add_strv (struct sp_record_writer *w, const char *key, char *const *v);

/* Add one field from a format. */
void sp_record_addf (struct sp_record_writer *w, const char *key, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* Finish the record (writes the last line) and return its text, malloc'd; w is empty
 * again. */
char *sp_record_end (struct sp_record_writer *w);

#endif
