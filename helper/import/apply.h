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

/* A directory's final mode and mtime, applied by sp_unpack_finish; seq keeps the order
 * in which layers said it, so that the last word counts. */
struct sp_dirmode {
  char *path;
  mode_t mode;
  struct timespec mtime;
  size_t seq;
};

/* Apply entry e, whose data a is positioned at. 0, -1 with *err, or -2 when libarchive
 * failed reading the entry's data (*err not set: the archive's error says why). */
int sp_entry_apply (struct sp_unpack *u, struct archive *a, struct archive_entry *e, sp_error_t *err);

/* Drop the one-entry parent directory cache (its fd stays open while queued files use it). */
void sp_unpack_forget_parent (struct sp_unpack *u);

#endif
