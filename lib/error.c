/* SPDX-License-Identifier: GPL-2.0-or-later */
/* error.c: see error.h for the convention. */
#include "config.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
error_set (sp_error_t *err, int errnum, const char *fmt, va_list ap)
{
  char *msg = NULL, *full = NULL;

  if (err == NULL)
    return -1;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  if (msg != NULL && errnum != 0 && asprintf (&full, "%s: %s", msg, strerror (errnum)) >= 0)
    {
      free (msg);
      msg = full;
    }
  sp_error_free (err);
  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    {
      free (msg);
      return -1;
    }
  (*err)->errnum = errnum;
  (*err)->msg = msg != NULL ? msg : strdup ("out of memory");
  return -1;
}

int
sp_error_make (sp_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  int ret;

  va_start (ap, fmt);
  ret = error_set (err, errnum, fmt, ap);
  va_end (ap);
  return ret;
}

int
sp_error_wrap (sp_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx = NULL, *full = NULL;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end (ap);
  if (ctx != NULL && asprintf (&full, "%s: %s", ctx, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = full;
    }
  free (ctx);
  return -1;
}

void
sp_error_free (sp_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
sp_error_print (const char *prog, sp_error_t err)
{
  const char *p;

  fprintf (stderr, "%s: error: ", prog);
  for (p = err != NULL && err->msg != NULL ? err->msg : "unknown error"; *p; p++)
    fputc (*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
  fputc ('\n', stderr);
}

void
sp_error_printf (const char *prog, const char *fmt, ...)
{
  struct sp_error_s e = { 0, NULL };
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&e.msg, fmt, ap) < 0)
    e.msg = NULL;
  va_end (ap);
  sp_error_print (prog, &e);
  free (e.msg);
}

void
sp_error_die (const char *prog, sp_error_t *err, int status)
{
  sp_error_print (prog, err != NULL ? *err : NULL);
  sp_error_free (err);
  exit (status);
}

void
sp_error_print_fd (int fd, const char *prog, sp_error_t err)
{
  char line[4096];
  const char *msg = err != NULL && err->msg != NULL ? err->msg : "unknown error";
  int n = snprintf (line, sizeof (line) - 1, "%s: error: %s", prog, msg);
  size_t len = n < 0 ? 0 : (size_t) n < sizeof (line) - 1 ? (size_t) n : sizeof (line) - 2;
  const char *p = line;

  for (size_t i = 0; i < len; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  line[len++] = '\n';
  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return;
      p += w;
      len -= (size_t) w;
    }
}
