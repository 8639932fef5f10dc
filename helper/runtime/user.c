/* SPDX-License-Identifier: GPL-2.0-or-later */
/* user.c: see user.h. */
#include "config.h"
#include "runtime/user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/store.h"
#include "util.h"

#define MAX_DB_FILE (16 << 20)

enum lookup { FOUND, NOT_FOUND, ASK_NSS };

static char *
slurp (int dirfd, const char *path, size_t max)
{
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  return sp_read_text (fd, max);
}

/* Does the action at p ("[...]", up to eol) end the lookup when files found nothing? */
static bool
action_stops_on_notfound (const char *p, const char *eol)
{
  const char *e = memchr (p, ']', (size_t) (eol - p));
  cleanup_free char *act = xstrndup (p + 1, e != NULL ? (size_t) (e - p - 1) : 0);
  char *save = NULL;

  for (char *t = strtok_r (act, " \t", &save); t != NULL; t = strtok_r (NULL, " \t", &save))
    if (strcasecmp (t, "NOTFOUND=return") == 0)
      return true;
  return false;
}

void
sp_user_nss_sources (const char *conf, const char *db, bool *files_first, bool *only_local)
{
  size_t dl = strlen (db);

  *files_first = *only_local = true; /* glibc's default without the file or the line */
  for (const char *line = conf; line != NULL && *line;)
    {
      const char *p = line + strspn (line, " \t");
      const char *eol = line + strcspn (line, "\n");
      bool after_files = false; /* the last source was files, with only local ones before */

      line = *eol ? eol + 1 : NULL;
      if (strncmp (p, db, dl) != 0 || p[dl] != ':')
        continue;
      p += dl + 1;
      *files_first = false;
      while (p < eol)
        {
          size_t n;
          bool files, local;

          p += strspn (p, " \t\r");
          if (p >= eol || *p == '#')
            break;
          if (*p == '[') /* an action like [NOTFOUND=return]: not a source */
            {
              const char *e = memchr (p, ']', (size_t) (eol - p));
              /* files, then [NOTFOUND=return]: what files lacks, no source has */
              if (after_files && action_stops_on_notfound (p, eol))
                {
                  *only_local = true;
                  return;
                }
              if (e == NULL)
                break;
              p = e + 1;
              continue;
            }
          n = strcspn (p, " \t\r\n#[");
          files = (n == 5 && strncmp (p, "files", 5) == 0) || (n == 6 && strncmp (p, "compat", 6) == 0);
          local = files || (n == 7 && strncmp (p, "systemd", 7) == 0);
          after_files = files && *only_local;
          if (after_files)
            *files_first = true;
          if (!local)
            *only_local = false;
          p += n;
        }
      return;
    }
}

/* Copy the line of TEXT whose third field is ID (passwd and group files alike); NULL if none. */
static char *
find_line (const char *text, unsigned long id)
{
  for (const char *line = text; line != NULL && *line;)
    {
      const char *end = strchr (line, '\n');
      size_t len = end ? (size_t) (end - line) : strlen (line);
      const char *c1 = memchr (line, ':', len), *c2;

      if (c1 != NULL && line[0] != '+' && line[0] != '-' && line[0] != '#'
          && (c2 = memchr (c1 + 1, ':', len - (size_t) (c1 + 1 - line))) != NULL)
        {
          char *e;
          const char *idp = c2 + 1;
          unsigned long v = strtoul (idp, &e, 10);
          if (e != idp && *e == ':' && v == id)
            return xstrndup (line, len);
        }
      line = end ? end + 1 : NULL;
    }
  return NULL;
}

/* Field IDX of a colon-separated LINE, malloc'd; NULL if it has fewer fields. */
static char *
field (const char *line, int idx)
{
  const char *p = line;
  for (int i = 0; i < idx; i++)
    {
      p = strchr (p, ':');
      if (p == NULL)
        return NULL;
      p++;
    }
  return xstrndup (p, strcspn (p, ":"));
}

/* Take what u lacks from the passwd line pw and the group line gr (either may be NULL);
 * a passwd line without a name, home or shell is not taken. */
static void
fill_from_lines (struct sp_user_entry *u, const char *pw, const char *gr)
{
  if (pw != NULL && u->name == NULL)
    {
      cleanup_free char *name = field (pw, 0);
      cleanup_free char *home = field (pw, 5);
      cleanup_free char *shell = field (pw, 6);
      if (name != NULL && *name != '\0' && home != NULL && shell != NULL)
        {
          u->name = steal_pointer (&name);
          u->gecos = field (pw, 4);
          u->home = steal_pointer (&home);
          u->shell = steal_pointer (&shell);
        }
    }
  if (gr != NULL && u->group == NULL)
    {
      cleanup_free char *group = field (gr, 0);
      if (group != NULL && *group != '\0')
        u->group = steal_pointer (&group);
    }
}

/* The cache directory, opened if it exists and is the user's. */
static int
open_cache (const char *cache_dir, uid_t uid)
{
  cleanup_free char *path = sp_cache_path (cache_dir);
  struct stat st;
  int fd = openat (AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd >= 0 && (fstat (fd, &st) < 0 || st.st_uid != uid))
    {
      close (fd);
      fd = -1;
    }
  return fd;
}

#define CACHE_FILE "user"

/* The NSS answer: "UID GID\n" + the passwd line + "\n" + the group line + "\n" (either
 * line may be empty). From the cache when fresh, else from the importer (then cached). */
static char *
nss_answer (uid_t uid, gid_t gid, const char *cache_dir)
{
  cleanup_close int dfd = open_cache (cache_dir, uid);
  char head[64];
  char *text = NULL;
  struct stat st;
  sp_error_t err = NULL;

  snprintf (head, sizeof (head), "%lu %lu\n", (unsigned long) uid, (unsigned long) gid);
  if (dfd >= 0 && fstatat (dfd, CACHE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)
      && st.st_mtime <= time (NULL) && time (NULL) - st.st_mtime < SP_USER_CACHE_TTL
      && (text = slurp (dfd, CACHE_FILE, 64 << 10)) != NULL && sp_has_prefix (text, head))
    return text;
  free (text);
  text = NULL;
  if (sp_run_importer (NULL, cache_dir, "user", "self", true, &text, &err) != 0 || text == NULL
      || !sp_has_prefix (text, head))
    {
      sp_error_free (&err);
      free (text);
      return NULL;
    }
  if (dfd >= 0 && sp_cache_write_text (dfd, CACHE_FILE, text, &err) < 0)
    sp_error_free (&err); /* not kept: asked again next time */
  return text;
}

/* Look ID up in FILE for DB; FOUND with *line, NOT_FOUND, or ASK_NSS. */
static enum lookup
lookup_local (const char *conf, const char *db, const char *file, unsigned long id, char **line)
{
  bool files_first, only_local;

  *line = NULL;
  sp_user_nss_sources (conf, db, &files_first, &only_local);
  if (files_first)
    {
      cleanup_free char *text = slurp (AT_FDCWD, file, MAX_DB_FILE);
      *line = find_line (text, id);
      if (*line != NULL)
        return FOUND;
    }
  return only_local ? NOT_FOUND : ASK_NSS;
}

void
sp_user_lookup (uid_t uid, gid_t gid, const char *cache_dir, struct sp_user_entry *u)
{
  cleanup_free char *conf = slurp (AT_FDCWD, "/etc/nsswitch.conf", 1 << 20);
  cleanup_free char *pw = NULL;
  cleanup_free char *gr = NULL;
  enum lookup lp = lookup_local (conf, "passwd", "/etc/passwd", uid, &pw);
  enum lookup lg = lookup_local (conf, "group", "/etc/group", gid, &gr);

  memset (u, 0, sizeof (*u));
  fill_from_lines (u, pw, gr);
  if (lp == ASK_NSS || lg == ASK_NSS)
    {
      cleanup_free char *ans = nss_answer (uid, gid, cache_dir);
      if (ans != NULL)
        {
          char *l1 = strchr (ans, '\n') + 1; /* after "UID GID" */
          char *l2 = strchr (l1, '\n');
          if (l2 != NULL)
            {
              *l2++ = '\0';
              char *e = strchr (l2, '\n');
              if (e != NULL)
                *e = '\0';
              fill_from_lines (u, *l1 ? l1 : NULL, *l2 ? l2 : NULL);
            }
        }
    }
}

void
sp_user_entry_free (struct sp_user_entry *u)
{
  free (u->name);
  free (u->gecos);
  free (u->home);
  free (u->shell);
  free (u->group);
  memset (u, 0, sizeof (*u));
}
