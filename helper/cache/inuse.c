/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inuse.c: which cache entries are the root of a running container.
 *
 * `sprout run` execs its command in place with fds 0-2 only, so its shared lock on the
 * entry ends at the exec. What stays is the container's root mount: a bind of
 * images/<hex>/rootfs, which the kernel lists in /proc/PID/mountinfo of every process in
 * that mount namespace, with the directory's path inside its file system as the mount's
 * root. rm and prune take the entry's lock exclusively first (a `run` holds it shared
 * until its root is mounted), then look here: no window in which a starting container
 * is missed. */
#include "config.h"
#include "cache/cache.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define MAX_MOUNTINFO (16 * 1024 * 1024)
#define HEX_LEN 64

/* Undo mountinfo's octal escapes (\040 for a space, \011, \012, \134) in place. */
static void
unescape (char *s)
{
  char *w = s;

  for (char *r = s; *r != '\0'; r++)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
          r += 3;
        }
      else
        *w++ = *r;
    }
  *w = '\0';
}

/* If root (a mount's root inside its file system) is CACHE/images/<hex>/rootfs, or a
 * tail of it that starts at a '/' (the cache's file system mounted below /), the hex. */
static const char *
entry_of (const char *root, const char *cache, size_t cache_len)
{
  static const char tail[] = "/rootfs";
  size_t n = strlen (root), t = sizeof (tail) - 1, pre = sizeof ("/images/") - 1;
  const char *hex;

  if (n < pre + HEX_LEN + t || strcmp (root + n - t, tail) != 0)
    return NULL;
  hex = root + n - t - HEX_LEN;
  if (strncmp (hex - pre, "/images/", pre) != 0 || strspn (hex, "0123456789abcdef") < HEX_LEN)
    return NULL;
  /* the part before /images/ must be a tail of the cache's path (it starts with '/', so
   * at a directory), or empty: the cache is the root of its file system */
  n = (size_t) (hex - pre - root);
  if (n > cache_len || strncmp (cache + cache_len - n, root, n) != 0)
    return NULL;
  return hex;
}

static void
scan_mountinfo (char *text, const char *cache, char ***found, size_t *n_found)
{
  size_t cache_len = strlen (cache);

  for (char *line = text, *next; line != NULL && *line != '\0'; line = next)
    {
      char *f[5] = { NULL }, *p = line;
      const char *hex;

      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';
      /* mount ID, parent ID, major:minor, root, mount point, ... */
      for (int i = 0; i < 5; i++)
        {
          f[i] = strsep (&p, " ");
          if (f[i] == NULL)
            break;
        }
      if (f[3] == NULL)
        continue;
      unescape (f[3]);
      hex = entry_of (f[3], cache, cache_len);
      if (hex == NULL)
        continue;
      *found = realloc (*found, (*n_found + 2) * sizeof (char *));
      if (*found == NULL)
        abort ();
      (*found)[(*n_found)++] = xstrndup (hex, HEX_LEN);
      (*found)[*n_found] = NULL;
    }
}

char **
sp_cache_mounted (const char *cache)
{
  char **found = xcalloc (1, sizeof (char *));
  size_t n_found = 0, n_ns = 0, cap_ns = 0;
  ino_t *seen = NULL;
  uid_t uid = geteuid ();
  DIR *d = opendir ("/proc");
  struct dirent *de;

  if (d == NULL)
    return found;
  while ((de = readdir (d)) != NULL)
    {
      char path[NAME_MAX + 16];
      struct stat st;
      bool dup = false;
      cleanup_close int fd = -1;
      cleanup_free char *text = NULL;

      if (!isdigit ((unsigned char) de->d_name[0]))
        continue;
      /* our own processes only: nobody else can reach a 0700 cache */
      if (fstatat (dirfd (d), de->d_name, &st, 0) < 0 || st.st_uid != uid)
        continue;
      snprintf (path, sizeof (path), "%s/ns/mnt", de->d_name);
      if (fstatat (dirfd (d), path, &st, 0) == 0)
        {
          for (size_t i = 0; i < n_ns && !dup; i++)
            dup = seen[i] == st.st_ino;
          if (dup)
            continue;
          if (n_ns == cap_ns)
            {
              cap_ns = cap_ns ? 2 * cap_ns : 16;
              seen = realloc (seen, cap_ns * sizeof (*seen));
              if (seen == NULL)
                abort ();
            }
          seen[n_ns++] = st.st_ino;
        }
      snprintf (path, sizeof (path), "%s/mountinfo", de->d_name);
      fd = openat (dirfd (d), path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue; /* gone, or not ours to read */
      text = sp_read_text (fd, MAX_MOUNTINFO);
      if (text != NULL)
        scan_mountinfo (text, cache, &found, &n_found);
    }
  closedir (d);
  free (seen);
  return found;
}

bool
sp_cache_entry_mounted (const char *cache, const char *hex)
{
  char **found = sp_cache_mounted (cache);
  bool hit = false;

  for (char **h = found; *h != NULL && !hit; h++)
    hit = strcmp (*h, hex) == 0;
  sp_strv_free (found);
  return hit;
}
