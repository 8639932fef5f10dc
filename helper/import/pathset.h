/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pathset.h: a set of strings (paths) in an open-addressed hash table: the paths one
 * layer wrote (which an opaque directory spares) and the files queued for the writer
 * threads. Not thread-safe: one owner. */
#ifndef SPROUT_PATHSET_H
#define SPROUT_PATHSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_pathset {
  char **slot;
  size_t cap, n;
};

/* FNV-1a of s: the set's hash, also how files are spread over the writers. */
uint64_t sp_hash_str (const char *s);

/* Add a copy of s (nothing if it is there already). A zeroed set is empty. */
void sp_pathset_add (struct sp_pathset *ps, const char *s);

/* Is s in the set? */
bool sp_pathset_has (const struct sp_pathset *ps, const char *s);

/* Empty the set and free its memory; it may be used again. */
void sp_pathset_clear (struct sp_pathset *ps);

#endif
