/* SPDX-License-Identifier: GPL-2.0-or-later */
/* progress.c: see progress.h. */
#include "config.h"
#include "import/progress.h"

#include <stdio.h>
#include <string.h>

#define WIDTH 30

void
sp_progress_start (struct sp_progress *p, bool on, const char *label, uint64_t total)
{
  memset (p, 0, sizeof (*p));
  p->on = on;
  p->label = label;
  p->total = total;
}

static void
draw (struct sp_progress *p)
{
  char bar[WIDTH + 1];
  unsigned fill = p->total ? (unsigned) (p->done * WIDTH / (p->total > p->done ? p->total : p->done)) : 0;
  unsigned pct = p->total ? (unsigned) (p->done * 100 / (p->total > p->done ? p->total : p->done)) : 0;

  const char *label = p->label ? p->label : "";
  size_t len = strlen (label);

  if (len > 40)
    label += len - 40; /* the end of a path says more than its start */
  for (unsigned i = 0; i < WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[WIDTH] = '\0';
  if (p->total)
    fprintf (stderr, "\r%s [%s] %6.1f / %.1f MB %3u%%", label, bar, (double) p->done / 1e6, (double) p->total / 1e6,
             pct);
  else
    fprintf (stderr, "\r%s %6.1f MB", label, (double) p->done / 1e6);
  fflush (stderr);
}

void
sp_progress_add (void *ctx, uint64_t n)
{
  struct sp_progress *p = ctx;
  struct timespec now;

  p->done += n;
  if (!p->on)
    return;
  clock_gettime (CLOCK_MONOTONIC, &now);
  if ((now.tv_sec - p->last.tv_sec) * 1000000000L + (now.tv_nsec - p->last.tv_nsec) < 100000000L
      && (p->total == 0 || p->done < p->total))
    return; /* at most 10 frames a second, but always the last one */
  p->last = now;
  draw (p);
}

void
sp_progress_end (struct sp_progress *p)
{
  if (p->on)
    {
      fprintf (stderr, "\r\033[K");
      fflush (stderr);
    }
  p->on = false;
}
