/* SPDX-License-Identifier: GPL-2.0-or-later */
/* error.h: sprout's one error convention.
 *
 * A function that can fail returns a negative value (or NULL) and fills *err.
 * Callers add context with sp_error_wrap() on the way up; the top level prints
 * the message once as "sprout: error: <what>: <why>" and exits 125.
 * Messages name the thing that is wrong (image, path, option) first.
 */
#ifndef SPROUT_ERROR_H
#define SPROUT_ERROR_H

#include <stdarg.h>

typedef struct sp_error_s {
  int errnum; /* errno behind the failure, 0 if none */
  char *msg;  /* "<what>: <why>", never NULL once set */
} * sp_error_t;

/* Set *err to a message built from fmt; appends strerror(errnum) when errnum != 0.
 * Always returns -1 so callers can `return sp_error_make(...)`. */
int sp_error_make (sp_error_t *err, int errnum, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Prefix the message in *err with "<context>: ". Returns -1. */
int sp_error_wrap (sp_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Free *err and set it to NULL; harmless on NULL. */
void sp_error_free (sp_error_t *err);

/* Print "<prog>: error: <msg>" on stderr (one line: newlines are shown as spaces). */
void sp_error_print (const char *prog, sp_error_t err);

/* Print "<prog>: error: <fmt...>" on stderr as sp_error_print does, for a failure that
 * has no sp_error_t (a bad option found where it is parsed). */
void sp_error_printf (const char *prog, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The same line written to fd with write(2) (no stdio: for a forked child, or another
 * process's stderr received over a socket); at most 4 KiB of it. */
void sp_error_print_fd (int fd, const char *prog, sp_error_t err);

/* Print the error, free it and exit with status. */
void sp_error_die (const char *prog, sp_error_t *err, int status) __attribute__ ((noreturn));

#define cleanup_error __attribute__ ((cleanup (sp_error_free)))

#endif
