/* SPDX-License-Identifier: GPL-2.0-or-later */
/* progress.h: a one-line progress bar on stderr (bytes of layers done of the total),
 * drawn only when asked to (the caller checks that stderr is a terminal). */
#ifndef SPROUT_PROGRESS_H
#define SPROUT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct sp_progress {
  bool on;
  const char *label;
  uint64_t total, done;
  struct timespec last;
};

/* Start a bar for total bytes (0 when unknown), labelled label (kept, not copied). */
void sp_progress_start (struct sp_progress *p, bool on, const char *label, uint64_t total);

/* Count n more bytes (ctx is a struct sp_progress *); redraws at most 10 times a second. */
void sp_progress_add (void *ctx, uint64_t n);

/* Erase the bar. */
void sp_progress_end (struct sp_progress *p);

#endif
