/* SPDX-License-Identifier: GPL-2.0-or-later */
/* passwd.c: /etc/passwd and /etc/group synthesis (see passwd.h). */
#include "config.h"
#include "runtime/passwd.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field IDX (0-based) of a colon-separated LINE of length LEN, copied into BUF. */
static bool
line_field (const char *line, size_t len, int idx, char *buf, size_t bufsz)
{
  const char *p = line, *end = line + len;

  for (int i = 0; i < idx; i++)
    {
      p = memchr (p, ':', (size_t) (end - p));
      if (p == NULL)
        return false;
      p++;
    }
  const char *q = memchr (p, ':', (size_t) (end - p));
  size_t n = (size_t) ((q ? q : end) - p);
  if (n >= bufsz)
    return false;
  memcpy (buf, p, n);
  buf[n] = '\0';
  return true;
}

static bool
line_matches (const char *line, size_t len, const char *name, unsigned long id)
{
  char f[256], *end;

  if (line_field (line, len, 0, f, sizeof (f)) && strcmp (f, name) == 0)
    return true;
  if (line_field (line, len, 2, f, sizeof (f)) && f[0] != '\0')
    {
      unsigned long v = strtoul (f, &end, 10);
      if (*end == '\0' && v == id)
        return true;
    }
  return false;
}

static bool
has_id (const char *line, size_t len, unsigned long id)
{
  char f[32], *end;
  if (!line_field (line, len, 2, f, sizeof (f)) || f[0] == '\0')
    return false;
  unsigned long v = strtoul (f, &end, 10);
  return *end == '\0' && v == id;
}

/* Copy IMAGE line by line, dropping matching lines (REPLACE), then append ENTRY
 * unless (without REPLACE) a line already has ID. */
static char *
merge (const char *image, const char *name, unsigned long id, const char *entry, bool replace)
{
  size_t cap = (image ? strlen (image) : 0) + strlen (entry) + 2, n = 0;
  char *out = xmalloc (cap + 1);
  const char *p = image ? image : "";
  bool present = false;

  while (*p)
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t) (nl - p) : strlen (p);
      bool drop = false;

      if (replace)
        drop = line_matches (p, len, name, id);
      else if (has_id (p, len, id))
        present = true;
      if (!drop && len > 0)
        {
          memcpy (out + n, p, len);
          n += len;
          out[n++] = '\n';
        }
      p += len + (nl ? 1 : 0);
    }
  if (replace || !present)
    {
      size_t l = strlen (entry);
      memcpy (out + n, entry, l);
      n += l;
    }
  out[n] = '\0';
  return out;
}

/* A field may hold neither the separator nor a newline: they become spaces. */
static char *
field (const char *s)
{
  char *f = xstrdup (s);
  for (char *p = f; *p; p++)
    if (*p == ':' || *p == '\n')
      *p = ' ';
  return f;
}

char *
sp_passwd_merge (const char *image, const struct sp_user *u, bool replace)
{
  cleanup_free char *gecos = field (u->gecos ? u->gecos : "");
  cleanup_free char *home = field (u->home ? u->home : "/");
  cleanup_free char *shell = field (u->shell ? u->shell : "/bin/sh");
  cleanup_free char *entry = xasprintf ("%s:x:%lu:%lu:%s:%s:%s\n", u->name, (unsigned long) u->uid,
                                        (unsigned long) u->gid, gecos, home, shell);
  return merge (image, u->name, u->uid, entry, replace);
}

char *
sp_group_merge (const char *image, const struct sp_user *u, bool replace)
{
  const char *g = u->group ? u->group : u->name;
  cleanup_free char *entry = xasprintf ("%s:x:%lu:%s\n", g, (unsigned long) u->gid, u->name);
  return merge (image, g, u->gid, entry, replace);
}
