/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.c: see util.h. */
#include "config.h"
#include "util.h"
#include "syscalls.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void __attribute__ ((noreturn)) oom (void)
{
  static const char msg[] = "sprout: error: out of memory\n";
  (void) !write (STDERR_FILENO, msg, sizeof (msg) - 1);
  _exit (125);
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xcalloc (size_t n, size_t m)
{
  void *p = calloc (n ? n : 1, m ? m : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrndup (const char *s, size_t n)
{
  char *p = strndup (s, n);
  if (p == NULL)
    oom ();
  return p;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *s;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    oom ();
  return s;
}

int
sp_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      p += w;
      len -= (size_t) w;
    }
  return 0;
}

ssize_t
sp_read_all (int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t got = 0;

  while (got < len)
    {
      ssize_t r = read (fd, p + got, len - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;
      got += (size_t) r;
    }
  return (ssize_t) got;
}

/* read(2) retried on EINTR. */
static ssize_t
read_retry (int fd, void *buf, size_t len)
{
  ssize_t r;

  do
    r = read (fd, buf, len);
  while (r < 0 && errno == EINTR);
  return r;
}

char *
sp_read_to_eof (int fd, size_t max, size_t *len_out)
{
  size_t len = 0, cap = max < 4096 ? max : 4096;
  char *buf = malloc (cap + 1);

  if (buf == NULL)
    return NULL;
  for (;;)
    {
      ssize_t r;

      if (len == cap)
        {
          char *nb;
          if (cap >= max)
            {
              /* full: one byte more tells a text of exactly max bytes from a longer one */
              r = read_retry (fd, buf + len, 1);
              if (r == 0)
                break;
              free (buf);
              if (r > 0)
                errno = EFBIG;
              return NULL;
            }
          cap = cap > max / 2 ? max : cap * 2;
          nb = realloc (buf, cap + 1);
          if (nb == NULL)
            {
              free (buf);
              return NULL;
            }
          buf = nb;
        }
      r = read_retry (fd, buf + len, cap - len);
      if (r < 0)
        {
          free (buf);
          return NULL;
        }
      if (r == 0)
        break;
      len += (size_t) r;
    }
  buf[len] = '\0';
  *len_out = len;
  return buf;
}

char *
sp_read_text (int fd, size_t max)
{
  struct stat st;
  size_t len;
  char *buf;
  ssize_t n;

  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || (uint64_t) st.st_size > max)
    return NULL;
  if (st.st_size > 0)
    {
      buf = xmalloc ((size_t) st.st_size + 1);
      n = sp_read_all (fd, buf, (size_t) st.st_size);
      if (n < 0)
        {
          free (buf);
          return NULL;
        }
      buf[n] = '\0';
      return buf;
    }
  /* size 0: a /proc file, whose size is known only at its end */
  return sp_read_to_eof (fd, max, &len);
}

static bool
fd_is_kept (int fd, const int *keep, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (keep[i] == fd)
      return true;
  return false;
}

int
sp_close_range_except (int from, const int *keep, size_t n)
{
  int k[8];
  size_t m = 0;
  unsigned lo = (unsigned) from;

  if (n > sizeof (k) / sizeof (k[0]))
    {
      errno = EINVAL;
      return -1;
    }
  for (size_t i = 0; i < n; i++) /* the kept fds >= from, sorted (insertion) */
    if (keep[i] >= from)
      {
        size_t j = m++;
        for (; j > 0 && k[j - 1] > keep[i]; j--)
          k[j] = k[j - 1];
        k[j] = keep[i];
      }
  for (size_t i = 0; i <= m; i++)
    {
      unsigned hi = i < m ? (unsigned) k[i] : ~0U; /* close [lo, hi) */
      if (hi > lo && sp_close_range (lo, i < m ? hi - 1 : hi, 0) < 0)
        return -1;
      if (i < m)
        lo = hi + 1;
    }
  return 0;
}

int
sp_close_fds_from (int from, const int *keep, size_t n)
{
  DIR *d;
  struct dirent *de;

  if (sp_close_range_except (from, keep, n) == 0)
    return 0;
  /* close_range missing (ENOSYS): walk /proc/self/fd */
  d = opendir ("/proc/self/fd");
  if (d == NULL)
    return -1;
  while ((de = readdir (d)) != NULL)
    {
      char *end;
      long fd = strtol (de->d_name, &end, 10);
      if (*end != '\0' || end == de->d_name || fd < from || fd == dirfd (d))
        continue;
      if (!fd_is_kept ((int) fd, keep, n))
        close ((int) fd);
    }
  closedir (d);
  return 0;
}

int
sp_set_cloexec (int fd, bool on)
{
  int flags = fcntl (fd, F_GETFD);
  if (flags < 0)
    return -1;
  flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  return fcntl (fd, F_SETFD, flags);
}

bool
sp_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

void
sp_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

size_t
sp_strv_len (char *const *v)
{
  size_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}
