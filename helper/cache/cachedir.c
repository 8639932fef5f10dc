/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cachedir.c: the cache directory (cache.h): opening it safely, its format version,
 * temporary directories and their cleanup, atomic writes. */
#include "config.h"
#include "cache/cache.h"
#include "cache/tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STALE_NOLOCK_SECONDS 60

void
sp_cache_close (struct sp_cache *s)
{
  if (s->fd >= 0)
    close (s->fd);
  if (s->images >= 0)
    close (s->images);
  if (s->tmp >= 0)
    close (s->tmp);
  if (s->locks >= 0)
    close (s->locks);
  free (s->path);
  s->fd = s->images = s->tmp = s->locks = -1;
  s->path = NULL;
}

static int
open_subdir (struct sp_cache *s, const char *name, int *out, sp_error_t *err)
{
  /* open first: on a warm start they are there */
  *out = openat (s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*out >= 0 || errno != ENOENT)
    return *out >= 0 ? 0 : sp_error_make (err, errno, "cache %s/%s", s->path, name);
  if (mkdirat (s->fd, name, 0700) < 0 && errno != EEXIST)
    return sp_error_make (err, errno, "cache %s/%s", s->path, name);
  *out = openat (s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*out < 0)
    return sp_error_make (err, errno, "cache %s/%s", s->path, name);
  return 0;
}

/* The format file says which layout the cache has. A cache without one is new or of
 * format 1 (meta.json): both are safe to mark 2, as sprout reads only records, which a
 * format 1 cache does not have (its entries are converted by the importer on use). */
static int
check_format (struct sp_cache *s, sp_error_t *err)
{
  cleanup_close int fd = openat (s->fd, "format", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  char buf[16];
  ssize_t n;

  if (fd < 0 && errno == ENOENT)
    {
      if (sp_cache_write_text (s->fd, "format", SP_CACHE_FORMAT "\n", err) < 0)
        return sp_error_wrap (err, "cache %s", s->path);
      return 0;
    }
  if (fd < 0)
    return sp_error_make (err, errno, "cache %s/format", s->path);
  n = sp_read_all (fd, buf, sizeof (buf) - 1);
  if (n < 0)
    return sp_error_make (err, errno, "cache %s/format", s->path);
  buf[n] = '\0';
  if (strcmp (buf, SP_CACHE_FORMAT "\n") != 0)
    return sp_error_make (err, 0,
                          "cache %s: format \"%.*s\" is not this sprout's (" SP_CACHE_FORMAT
                          "); use another --cache-dir, or remove this one",
                          s->path, (int) strcspn (buf, "\n"), buf);
  return 0;
}

char *
sp_cache_path (const char *cache_dir)
{
  if (cache_dir == NULL || *cache_dir == '\0')
    cache_dir = getenv ("SPROUT_CACHE_DIR");
  if (cache_dir == NULL || *cache_dir == '\0')
    return xasprintf ("/var/tmp/sprout-%u", (unsigned) geteuid ());
  return xstrdup (cache_dir);
}

static int
cache_open (const struct sp_store_opts *opts, struct sp_cache *s, bool check, sp_error_t *err)
{
  cleanup_free char *path = sp_cache_path (opts ? opts->cache_dir : NULL);
  char proc[64], buf[PATH_MAX];
  struct stat st;
  ssize_t n;

  s->fd = s->images = s->tmp = s->locks = -1;
  s->path = NULL;
  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    return sp_error_make (err, errno, "cache %s", path);
  s->fd = openat (AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s->fd < 0)
    {
      if (errno == ELOOP || (errno == ENOTDIR && lstat (path, &st) == 0 && S_ISLNK (st.st_mode)))
        return sp_error_make (err, 0, "cache %s: is a symlink; refusing it", path);
      return sp_error_make (err, errno, "cache %s", path);
    }
  if (fstat (s->fd, &st) < 0)
    return sp_error_make (err, errno, "cache %s", path);
  if (st.st_uid != geteuid ())
    return sp_error_make (err, 0, "cache %s: owned by uid %u, not by you (uid %u); refusing it", path,
                          (unsigned) st.st_uid, (unsigned) geteuid ());
  if ((st.st_mode & 07777) != 0700 && fchmod (s->fd, 0700) < 0)
    return sp_error_make (err, errno, "cache %s", path);
  snprintf (proc, sizeof (proc), "/proc/self/fd/%d", s->fd);
  n = readlink (proc, buf, sizeof (buf) - 1);
  if (n > 0 && buf[0] == '/')
    {
      buf[n] = '\0';
      s->path = xstrdup (buf);
    }
  else if ((s->path = realpath (path, NULL)) == NULL)
    return sp_error_make (err, errno, "cache %s", path);
  if (check && check_format (s, err) < 0)
    return -1;
  if (open_subdir (s, "images", &s->images, err) < 0 || open_subdir (s, "tmp", &s->tmp, err) < 0
      || open_subdir (s, "locks", &s->locks, err) < 0)
    return -1;
  return 0;
}

int
sp_cache_open (const struct sp_store_opts *opts, struct sp_cache *s, sp_error_t *err)
{
  return cache_open (opts, s, true, err);
}

int
sp_cache_open_warm (const struct sp_store_opts *opts, struct sp_cache *s, sp_error_t *err)
{
  return cache_open (opts, s, false, err);
}

bool
sp_cache_digest_valid (const char *s)
{
  return s != NULL && strncmp (s, "sha256:", 7) == 0 && strlen (s + 7) == 64
         && strspn (s + 7, "0123456789abcdef") == 64;
}

/* ---- temporary directories ---- */

/* Create tmp/<prefix>XXXXXX with a 'lock' file inside that is already locked
 * exclusively when it appears (O_TMPFILE + flock + link), so a cleaner never sees an
 * unlocked lock of a live import. */
int
sp_cache_tmpdir_create (struct sp_cache *s, const char *prefix, char **name, int *dirfd, int *lockfd, sp_error_t *err)
{
  static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  cleanup_free char *n = NULL;
  int dfd = -1, lfd = -1;

  for (int tries = 0;; tries++)
    {
      char suffix[13];
      unsigned char rnd[12];
      if (getrandom (rnd, sizeof (rnd), 0) != (ssize_t) sizeof (rnd))
        for (size_t i = 0; i < sizeof (rnd); i++)
          rnd[i] = (unsigned char) (getpid () * 31 + tries * 7 + (int) i + (int) time (NULL));
      for (int i = 0; i < 12; i++)
        suffix[i] = chars[rnd[i] % 36];
      suffix[12] = '\0';
      free (n);
      n = xasprintf ("%s%s", prefix, suffix);
      if (mkdirat (s->tmp, n, 0700) == 0)
        break;
      if (errno != EEXIST || tries > 100)
        return sp_error_make (err, errno, "cache %s/tmp", s->path);
    }
  dfd = openat (s->tmp, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return sp_error_make (err, errno, "cache %s/tmp/%s", s->path, n);
  lfd = openat (dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (lfd >= 0)
    {
      char proc[64];
      snprintf (proc, sizeof (proc), "/proc/self/fd/%d", lfd);
      if (flock (lfd, LOCK_EX) < 0 || linkat (AT_FDCWD, proc, dfd, "lock", AT_SYMLINK_FOLLOW) < 0)
        {
          close (lfd);
          lfd = -1;
        }
    }
  if (lfd < 0)
    {
      /* no O_TMPFILE (or no /proc): create, then lock; a cleaner gives lockless dirs a minute */
      lfd = openat (dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (lfd < 0 || flock (lfd, LOCK_EX) < 0)
        {
          int e = errno;
          if (lfd >= 0)
            close (lfd);
          close (dfd);
          sp_rmtree_at (s->tmp, n);
          return sp_error_make (err, e, "cache %s/tmp/%s/lock", s->path, n);
        }
    }
  *name = steal_pointer (&n);
  *dirfd = dfd;
  *lockfd = lfd;
  return 0;
}

/* Remove tmp dirs whose owner died (their lock is free). Best effort. */
void
sp_cache_tmp_cleanup (struct sp_cache *s, int verbose)
{
  int fd = openat (s->tmp, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)) != NULL)
    {
      char lockpath[NAME_MAX + 8];
      struct stat st;
      int lfd;
      bool stale = false;

      if (de->d_name[0] == '.')
        continue;
      snprintf (lockpath, sizeof (lockpath), "%s/lock", de->d_name);
      lfd = openat (s->tmp, lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (lfd >= 0)
        stale = flock (lfd, LOCK_EX | LOCK_NB) == 0;
      else if (errno == ENOENT && fstatat (s->tmp, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        stale = !S_ISDIR (st.st_mode) || time (NULL) - st.st_mtime > STALE_NOLOCK_SECONDS;
      if (stale)
        {
          if (verbose > 0)
            fprintf (stderr, "sprout: removing %s/tmp/%s left by an interrupted import\n", s->path, de->d_name);
          sp_rmtree_at (s->tmp, de->d_name);
        }
      if (lfd >= 0)
        close (lfd);
    }
  closedir (d);
}


int
sp_cache_write_text (int dfd, const char *name, const char *text, sp_error_t *err)
{
  cleanup_free char *tmpname = xasprintf (".%s.%d", name, (int) getpid ());
  cleanup_close int fd = openat (dfd, tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 || sp_write_all (fd, text, strlen (text)) < 0)
    {
      int e = errno;
      unlinkat (dfd, tmpname, 0);
      return sp_error_make (err, e, "%s", name);
    }
  if (renameat (dfd, tmpname, dfd, name) < 0)
    {
      int e = errno;
      unlinkat (dfd, tmpname, 0);
      return sp_error_make (err, e, "%s", name);
    }
  return 0;
}
