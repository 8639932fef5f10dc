/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apply.h: one tar entry applied under the root of an unpack (see layer.h for what
 * entries do). Private to helper/import/layer.c and apply.c. */
#ifndef SPROUT_APPLY_H
#define SPROUT_APPLY_H

#include <time.h>
#include <sys/types.h>
#include "error.h"

struct archive;
struct archive_entry;
struct sp_unpack;

/* What sp_entry_apply and the functions below it return. */
enum sp_apply_rc {
  SP_APPLY_OK = 0,
  SP_APPLY_FAILED = -1,  /* *err says why */
  SP_APPLY_ARCHIVE = -2, /* libarchive failed reading the entry's data; *err is not set:
                            the archive's error (or the stream's under it) says why */
};

/* A directory's final mode and mtime, applied by sp_unpack_finish; seq keeps the order
 * in which layers said it, so that the last word counts. */
struct sp_dirmode {
  char *path;
  mode_t mode;
  struct timespec mtime;
  size_t seq;
};

/* Apply entry e, whose data a is positioned at. An enum sp_apply_rc. */
int sp_entry_apply (struct sp_unpack *u, struct archive *a, struct archive_entry *e, sp_error_t *err);

/* Drop the one-entry parent directory cache (its fd stays open while queued files use it). */
void sp_unpack_forget_parent (struct sp_unpack *u);

#endif
