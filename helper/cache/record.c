/* SPDX-License-Identifier: GPL-2.0-or-later */
/* record.c: the cache's record format (see record.h). libc only: `sprout` parses one
 * or two of these on every warm start, so the reader is one pass over the bytes. */
#include "config.h"
#include "cache/record.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
key_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

void
sp_record_free (struct sp_record *r)
{
  free (r->buf);
  free (r->fields);
  r->buf = NULL;
  r->fields = NULL;
  r->n = 0;
}

/* Unescape the value at p (up to the newline at end) in place; -1 at a bad escape. */
static int
unescape (char *p, char *end, size_t line, sp_error_t *err)
{
  char *out = p;

  for (; p < end; p++)
    {
      if (*p != '\\')
        {
          *out++ = *p;
          continue;
        }
      if (p + 1 == end || (p[1] != '\\' && p[1] != 'n'))
        return sp_error_make (err, 0, "line %zu: a '\\' that is not \"\\\\\" or \"\\n\"", line);
      *out++ = p[1] == 'n' ? '\n' : '\\';
      p++;
    }
  *out = '\0';
  return 0;
}

int
sp_record_parse (const char *text, size_t len, struct sp_record *r, sp_error_t *err)
{
  size_t magic = strlen (SP_RECORD_MAGIC), cap = 0, line = 1;
  char *p, *end;

  r->buf = NULL;
  r->fields = NULL;
  r->n = 0;
  if (memchr (text, '\0', len) != NULL)
    return sp_error_make (err, 0, "a NUL byte in it; not a record");
  if (len < magic + 1 || memcmp (text, SP_RECORD_MAGIC "\n", magic + 1) != 0)
    return sp_error_make (err, 0, "not a record of this format (first line is not \"%s\")", SP_RECORD_MAGIC);
  r->buf = xmalloc (len + 1);
  memcpy (r->buf, text, len);
  r->buf[len] = '\0';
  p = r->buf + magic + 1;
  end = r->buf + len;
  for (;;)
    {
      char *nl = memchr (p, '\n', (size_t) (end - p)), *k = p;

      line++;
      if (nl == NULL)
        {
          sp_record_free (r);
          return sp_error_make (err, 0, "cut short at line %zu (no final \"end\" line)", line);
        }
      if (nl - p == 3 && memcmp (p, "end", 3) == 0)
        {
          if (nl + 1 != end)
            {
              sp_record_free (r);
              return sp_error_make (err, 0, "line %zu: something after the final \"end\"", line + 1);
            }
          return 0;
        }
      while (p < nl && key_char (*p))
        p++;
      if (p == k || p == nl || *p != ' ')
        {
          sp_record_free (r);
          return sp_error_make (err, 0, "line %zu: not \"KEY VALUE\"", line);
        }
      *p++ = '\0';
      if (strcmp (k, "end") == 0) /* the last line's word is no key: no field may look like it */
        {
          sp_record_free (r);
          return sp_error_make (err, 0, "line %zu: \"end\" followed by a value", line);
        }
      if (unescape (p, nl, line, err) < 0)
        {
          sp_record_free (r);
          return -1;
        }
      if (r->n == cap)
        {
          cap = cap ? 2 * cap : 16;
          r->fields = realloc (r->fields, cap * sizeof (*r->fields));
          if (r->fields == NULL)
            abort ();
        }
      r->fields[r->n].key = k;
      r->fields[r->n].value = p;
      r->n++;
      p = nl + 1;
    }
}

int
sp_record_read_at (int dfd, const char *name, struct sp_record *r, sp_error_t *err)
{
  cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  cleanup_free char *buf = NULL;
  struct stat st;
  ssize_t n;

  r->buf = NULL;
  r->fields = NULL;
  r->n = 0;
  if (fd < 0 || fstat (fd, &st) < 0)
    return sp_error_make (err, errno, "%s", name);
  if (!S_ISREG (st.st_mode) || (uint64_t) st.st_size > SP_RECORD_MAX)
    return sp_error_make (err, 0, "%s: not a regular file of at most %u bytes", name, SP_RECORD_MAX);
  buf = xmalloc ((size_t) st.st_size + 1);
  n = sp_read_all (fd, buf, (size_t) st.st_size);
  if (n < 0)
    return sp_error_make (err, errno, "%s", name);
  if (sp_record_parse (buf, (size_t) n, r, err) < 0)
    return sp_error_wrap (err, "%s", name);
  return 0;
}

const char *
sp_record_get (const struct sp_record *r, const char *key)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->fields[i].key, key) == 0)
      return r->fields[i].value;
  return NULL;
}

char **
sp_record_strv (const struct sp_record *r, const char *key)
{
  size_t n = 0, k = 0;
  char **v;

  for (size_t i = 0; i < r->n; i++)
    n += strcmp (r->fields[i].key, key) == 0;
  if (n == 0)
    return NULL;
  v = xcalloc (n + 1, sizeof (char *));
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->fields[i].key, key) == 0)
      v[k++] = xstrdup (r->fields[i].value);
  return v;
}

int
sp_record_has (const struct sp_record *r, const char *key, const char *value)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->fields[i].key, key) == 0 && strcmp (r->fields[i].value, value) == 0)
      return 1;
  return 0;
}

/* ---- writing ---- */

static void
put (struct sp_record_writer *w, const char *s, size_t n)
{
  if (w->len + n + 1 > w->cap)
    {
      while (w->len + n + 1 > w->cap)
        w->cap = w->cap ? 2 * w->cap : 256;
      w->buf = realloc (w->buf, w->cap);
      if (w->buf == NULL)
        abort ();
    }
  memcpy (w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

void
sp_record_begin (struct sp_record_writer *w)
{
  w->buf = NULL;
  w->len = w->cap = 0;
  put (w, SP_RECORD_MAGIC "\n", strlen (SP_RECORD_MAGIC) + 1);
}

void
sp_record_add (struct sp_record_writer *w, const char *key, const char *value)
{
  const char *p;

  if (value == NULL)
    return;
  if (*key == '\0' || strcmp (key, "end") == 0)
    abort ();
  for (p = key; *p; p++)
    if (!key_char (*p))
      abort ();
  put (w, key, strlen (key));
  put (w, " ", 1);
  for (p = value; *p;)
    {
      size_t run = strcspn (p, "\\\n");
      put (w, p, run);
      p += run;
      if (*p == '\\')
        put (w, "\\\\", 2);
      else if (*p == '\n')
        put (w, "\\n", 2);
      else
        break;
      p++;
    }
  put (w, "\n", 1);
}

void
sp_record_add_strv (struct sp_record_writer *w, const char *key, char *const *v)
{
  for (; v != NULL && *v != NULL; v++)
    sp_record_add (w, key, *v);
}

void
sp_record_addf (struct sp_record_writer *w, const char *key, const char *fmt, ...)
{
  cleanup_free char *s = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  sp_record_add (w, key, s);
}

char *
sp_record_end (struct sp_record_writer *w)
{
  put (w, "end\n", 4);
  w->len = w->cap = 0;
  return steal_pointer (&w->buf);
}
