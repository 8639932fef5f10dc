/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.h: a tiny TAP producer for the C unit tests (run by automake's tap-driver). */
#ifndef SPROUT_TAP_H
#define SPROUT_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n;
static int tap_failed;

static void __attribute__ ((format (printf, 2, 3), unused)) tap_ok (int cond, const char *fmt, ...)
{
  va_list ap;
  printf ("%sok %d - ", cond ? "" : "not ", ++tap_n);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
  fflush (stdout);
  if (!cond)
    tap_failed++;
}

static int __attribute__ ((unused)) tap_done (void)
{
  printf ("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}

#define TAP_IS_INT(got, want, what)                                                                                    \
 do                                                                                                                    \
  {                                                                                                                    \
   long long _g = (got), _w = (want);                                                                                  \
   tap_ok (_g == _w, "%s (got %lld, want %lld)", (what), _g, _w);                                                      \
  }                                                                                                                    \
 while (0)

#endif
