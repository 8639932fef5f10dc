/* store.c: the image store (see store.h).
 *
 * Cache layout, all under one directory owned by the user, mode 0700:
 *
 *   images/<hex>/          one entry per manifest digest (a docker-archive: config digest)
 *   images/<hex>/rootfs/   the unpacked root file system (the runtime binds it read-only)
 *   images/<hex>/meta.json digest, media type, names it was used under, size, created,
 *                          the config the runtime needs (Env, Entrypoint, Cmd, WorkingDir)
 *   images/<hex>/lock      flock: shared while a container uses the entry, exclusive by
 *                          rm and prune; its mtime is the entry's last use
 *   locks/<hex>            flock: exclusive while one process checks for and imports <hex>,
 *                          so N concurrent imports unpack once and the others reuse it
 *   tmp/<random>/          an import in progress (same layout as an entry, renamed into
 *                          images/ when complete) or an entry being removed; its 'lock'
 *                          is held exclusively by its owner. A tmp dir whose lock nobody
 *                          holds belonged to a killed process and is removed by the next run.
 *
 *   refs/<16 hex>          the ref index (cache.h): what defines an image on disk -> entry
 *
 * The cache is refused if it is a symlink or owned by someone else. All access is
 * relative to the cache's directory fd, with O_NOFOLLOW on every name.
 *
 * This file is the part of the store that `sprout` links (jansson only): the warm
 * path, listing and removal. Importing runs the importer, sprout-import (import.c). */
#include "config.h"
#include "cache/store.h"
#include "cache/cache.h"
#include "cache/tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define META_MAX (16u << 20)
#define STALE_NOLOCK_SECONDS 60
#define CONFIG_MAX (4u << 20)
#define IMPORTER_NAME "sprout-import"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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

char *
sp_cache_path (const char *cache_dir)
{
  if (cache_dir == NULL || *cache_dir == '\0')
    cache_dir = getenv ("SPROUT_CACHE_DIR");
  if (cache_dir == NULL || *cache_dir == '\0')
    return xasprintf ("/var/tmp/sprout-%u", (unsigned) geteuid ());
  return xstrdup (cache_dir);
}

int
sp_cache_open (const struct sp_store_opts *opts, struct sp_cache *s, sp_error_t *err)
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
  if (open_subdir (s, "images", &s->images, err) < 0 || open_subdir (s, "tmp", &s->tmp, err) < 0
      || open_subdir (s, "locks", &s->locks, err) < 0)
    return -1;
  return 0;
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

/* ---- meta.json ---- */

int
sp_cache_write_json (int dfd, const char *name, json_t *j, sp_error_t *err)
{
  cleanup_free char *text = json_dumps (j, JSON_INDENT (2) | JSON_SORT_KEYS);
  cleanup_free char *line = NULL;

  if (text == NULL)
    return sp_error_make (err, ENOMEM, "%s", name);
  line = xasprintf ("%s\n", text);
  return sp_cache_write_text (dfd, name, line, err);
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

static json_t *
read_json_at (int dfd, const char *name, sp_error_t *err)
{
  cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  struct stat st;
  json_error_t jerr;
  json_t *j;
  ssize_t n;

  if (fd < 0 || fstat (fd, &st) < 0)
    {
      sp_error_make (err, errno, "%s", name);
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || (uint64_t) st.st_size > META_MAX)
    {
      sp_error_make (err, 0, "%s: not a small regular file", name);
      return NULL;
    }
  buf = xmalloc ((size_t) st.st_size + 1);
  n = sp_read_all (fd, buf, (size_t) st.st_size);
  if (n < 0)
    {
      sp_error_make (err, errno, "%s", name);
      return NULL;
    }
  j = json_loadb (buf, (size_t) n, 0, &jerr);
  if (!json_is_object (j))
    {
      json_decref (j);
      sp_error_make (err, 0, "%s: invalid JSON: %s", name, jerr.text);
      return NULL;
    }
  return j;
}

static void
meta_add_name (struct sp_cache *s, const char *hex, const char *name, bool have_lock)
{
  cleanup_free char *lockname = xstrdup (hex);
  cleanup_close int lfd = -1;
  cleanup_close int efd = openat (s->images, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  sp_error_t err = NULL;
  json_t *meta, *names, *v;
  size_t i;

  if (efd < 0)
    return;
  if (!have_lock)
    {
      lfd = openat (s->locks, lockname, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (lfd < 0 || flock (lfd, LOCK_EX | LOCK_NB) < 0)
        return;
    }
  meta = read_json_at (efd, "meta.json", &err);
  sp_error_free (&err);
  if (meta == NULL)
    return;
  names = json_object_get (meta, "names");
  if (!json_is_array (names))
    {
      names = json_array ();
      json_object_set_new (meta, "names", names);
    }
  json_array_foreach (names, i, v)
    if (json_is_string (v) && strcmp (json_string_value (v), name) == 0)
      {
        json_decref (meta);
        return;
      }
  json_array_append_new (names, json_string (name));
  sp_cache_write_json (efd, "meta.json", meta, &err);
  sp_error_free (&err);
  json_decref (meta);
}

/* ---- using an entry ---- */

static int
image_from_meta (json_t *meta, struct sp_image *img, sp_error_t *err)
{
  json_t *cfg = json_object_get (meta, "config"), *wd;

  if (sp_cache_json_strv (json_object_get (cfg, "Env"), "meta.json Env", &img->env, err) < 0
      || sp_cache_json_strv (json_object_get (cfg, "Entrypoint"), "meta.json Entrypoint", &img->entrypoint, err) < 0
      || sp_cache_json_strv (json_object_get (cfg, "Cmd"), "meta.json Cmd", &img->cmd, err) < 0)
    return -1;
  if (img->env == NULL)
    img->env = xcalloc (1, sizeof (char *));
  wd = json_object_get (cfg, "WorkingDir");
  if (json_is_string (wd) && *json_string_value (wd))
    img->workdir = xstrdup (json_string_value (wd));
  return 0;
}

/* Is name among meta's recorded names? */
static bool
meta_has_name (json_t *meta, const char *name)
{
  json_t *v;
  size_t i;

  json_array_foreach (json_object_get (meta, "names"), i, v)
    if (json_is_string (v) && strcmp (json_string_value (v), name) == 0)
      return true;
  return false;
}

int
sp_cache_entry_use (struct sp_cache *s, const char *hex, const char *name, bool have_lock, struct sp_image *img,
                    sp_error_t *err)
{
  bool known;

  cleanup_free char *lockpath = xasprintf ("%s/lock", hex);
  cleanup_close int lfd = -1;
  cleanup_close int efd = -1;
  struct stat a, b;
  json_t *meta;

  lfd = openat (s->images, lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (lfd < 0)
    return errno == ENOENT ? 0 : sp_error_make (err, errno, "cache %s/images/%s", s->path, lockpath);
  if (flock (lfd, LOCK_SH) < 0)
    return sp_error_make (err, errno, "cache %s/images/%s", s->path, lockpath);
  /* rm may have moved the entry away between our open and our lock */
  if (fstat (lfd, &a) < 0 || fstatat (s->images, lockpath, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_ino != b.st_ino
      || a.st_dev != b.st_dev)
    return 0;
  efd = openat (s->images, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (efd < 0)
    return 0;
  meta = read_json_at (efd, "meta.json", err);
  if (meta == NULL)
    return sp_error_wrap (err, "cache %s/images/%s", s->path, hex);
  if (image_from_meta (meta, img, err) < 0)
    {
      json_decref (meta);
      return sp_error_wrap (err, "cache %s/images/%s", s->path, hex);
    }
  known = name == NULL || meta_has_name (meta, name);
  json_decref (meta);
  futimens (lfd, NULL);  /* last use, for prune --older-than */
  if (!known)
    meta_add_name (s, hex, name, have_lock);
  img->digest = xasprintf ("sha256:%s", hex);
  img->rootfs = xasprintf ("%s/images/%s/rootfs", s->path, hex);
  img->hold_fd = steal_fd (&lfd);
  return 1;
}

/* ---- small helpers (digest.c and oci.c belong to the importer's link) ---- */

/* "sha256:<64 lowercase hex>"? */
static bool
digest_valid (const char *s)
{
  return s != NULL && strncmp (s, "sha256:", 7) == 0 && strlen (s + 7) == 64
         && strspn (s + 7, "0123456789abcdef") == 64;
}

int
sp_cache_json_strv (json_t *j, const char *what, char ***out, sp_error_t *err)
{
  size_t i;
  json_t *v;
  char **r;

  *out = NULL;
  if (j == NULL || json_is_null (j))
    return 0;
  if (!json_is_array (j))
    return sp_error_make (err, 0, "%s: not an array of strings", what);
  r = xcalloc (json_array_size (j) + 1, sizeof (char *));
  json_array_foreach (j, i, v)
    {
      if (!json_is_string (v))
        {
          sp_strv_free (r);
          return sp_error_make (err, 0, "%s: not an array of strings", what);
        }
      r[i] = xstrdup (json_string_value (v));
    }
  *out = r;
  return 0;
}

/* ---- images used in place ---- */

int
sp_image_in_place (const char *ref, const char *path, bool bundle, struct sp_image *img, sp_error_t *err)
{
  cleanup_free char *data = NULL;
  cleanup_close int dfd = -1;
  cleanup_close int fd = -1;
  json_error_t jerr;
  json_t *j, *root, *proc, *v;
  const char *rootpath = "rootfs";
  cleanup_free char *rp = NULL;
  struct stat st;
  ssize_t len;

  img->ref = xstrdup (ref);
  if (!bundle)
    {
      img->rootfs = xstrdup (path);
      img->env = xcalloc (2, sizeof (char *));
      img->env[0] = xstrdup (DEFAULT_PATH);
      return 0;
    }
  dfd = openat (AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fd = openat (dfd, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || fstat (fd, &st) < 0)
    return sp_error_make (err, errno, "%s: config.json", ref);
  if (!S_ISREG (st.st_mode))
    return sp_error_make (err, 0, "%s: config.json: not a regular file", ref);
  if (st.st_size > CONFIG_MAX)
    return sp_error_make (err, 0, "%s: config.json: larger than %u bytes", ref, CONFIG_MAX);
  data = xmalloc ((size_t) st.st_size + 1);
  len = sp_read_all (fd, data, (size_t) st.st_size);
  if (len < 0)
    return sp_error_make (err, errno, "%s: config.json", ref);
  j = json_loadb (data, (size_t) len, 0, &jerr);
  if (!json_is_object (j))
    {
      json_decref (j);
      return sp_error_make (err, 0, "%s: config.json: invalid JSON: %s (line %d)", ref, jerr.text, jerr.line);
    }
  root = json_object_get (j, "root");
  if (json_is_string (json_object_get (root, "path")))
    rootpath = json_string_value (json_object_get (root, "path"));
  rp = rootpath[0] == '/' ? xstrdup (rootpath) : xasprintf ("%s/%s", path, rootpath);
  errno = 0;
  img->rootfs = realpath (rp, NULL);
  if (img->rootfs == NULL || stat (img->rootfs, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      int e = errno ? errno : ENOTDIR;
      json_decref (j);
      return sp_error_make (err, e, "%s: bundle root file system %s", ref, rp);
    }
  proc = json_object_get (j, "process");
  if (sp_cache_json_strv (json_object_get (proc, "env"), "config.json process.env", &img->env, err) < 0
      || sp_cache_json_strv (json_object_get (proc, "args"), "config.json process.args", &img->cmd, err) < 0)
    {
      json_decref (j);
      return sp_error_wrap (err, "%s", ref);
    }
  if (img->env == NULL)
    {
      img->env = xcalloc (2, sizeof (char *));
      img->env[0] = xstrdup (DEFAULT_PATH);
    }
  v = json_object_get (proc, "cwd");
  if (json_is_string (v) && *json_string_value (v))
    img->workdir = xstrdup (json_string_value (v));
  json_decref (j);
  return 0;
}

/* ---- the ref index ---- */

static bool
dir_has (int dfd, const char *name, mode_t type, struct stat *st)
{
  return fstatat (dfd, name, st, 0) == 0 && (st->st_mode & S_IFMT) == type;
}

void
sp_refkey_get (const char *ref, struct sp_refkey *k)
{
  static const char *const rootfs_marks[] = { "bin", "usr", "etc", "sbin", "lib" };
  cleanup_free char *path = NULL;
  cleanup_close int dfd = -1;
  const char *colon;
  struct stat st;

  memset (k, 0, sizeof (*k));
  if (ref == NULL || *ref == '\0')
    return;
  /* as sp_source_open: PATH as a whole first, then PATH:TAG */
  if (stat (ref, &st) == 0)
    path = xstrdup (ref);
  else if ((colon = strrchr (ref, ':')) != NULL && colon != ref && colon[1] != '\0' && strchr (colon + 1, '/') == NULL)
    {
      path = strndup (ref, (size_t) (colon - ref));
      if (path == NULL || stat (path, &st) < 0)
        return;
      k->tag = xstrdup (colon + 1);
    }
  else
    return;
  k->path = realpath (path, NULL);
  if (k->path == NULL)
    goto other;
  if (S_ISREG (st.st_mode))
    {
      /* stat again by the resolved path: the key describes the file read later */
      if (stat (k->path, &k->st) < 0 || !S_ISREG (k->st.st_mode))
        goto other;
      k->kind = SP_REF_ARCHIVE;
    }
  else if (S_ISDIR (st.st_mode))
    {
      dfd = openat (AT_FDCWD, k->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        goto other;
      if (dir_has (dfd, "index.json", S_IFREG, &k->st))
        k->kind = SP_REF_LAYOUT;
      else if (dir_has (dfd, "config.json", S_IFREG, &st))
        k->kind = SP_REF_BUNDLE;
      else
        for (size_t i = 0; i < sizeof (rootfs_marks) / sizeof (rootfs_marks[0]); i++)
          if (faccessat (dfd, rootfs_marks[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            {
              k->kind = SP_REF_ROOTFS;
              break;
            }
    }
  if (k->kind == SP_REF_OTHER || (k->tag != NULL && (k->kind == SP_REF_BUNDLE || k->kind == SP_REF_ROOTFS)))
    goto other;
  k->name = k->tag ? xasprintf ("%s:%s", k->path, k->tag) : xstrdup (k->path);
  return;
other:
  sp_refkey_free (k);
}

void
sp_refkey_free (struct sp_refkey *k)
{
  free (k->path);
  free (k->tag);
  free (k->name);
  memset (k, 0, sizeof (*k));
}

/* The key as one string (a compact JSON array: no two keys print alike). */
static char *
refkey_string (const struct sp_refkey *k)
{
  json_t *a = json_pack ("[s,s,s?,I,I,I,I,I,I,I]", k->kind == SP_REF_LAYOUT ? "layout" : "archive", k->path,
                         k->tag, (json_int_t) k->st.st_dev, (json_int_t) k->st.st_ino, (json_int_t) k->st.st_size,
                         (json_int_t) k->st.st_mtim.tv_sec, (json_int_t) k->st.st_mtim.tv_nsec,
                         (json_int_t) k->st.st_ctim.tv_sec, (json_int_t) k->st.st_ctim.tv_nsec);
  char *s = a ? json_dumps (a, JSON_COMPACT) : NULL;

  json_decref (a);
  if (s == NULL)
    abort ();
  return s;
}

/* refs/<16 hex of FNV-1a 64 of the key string>; the record holds the whole key. */
static void
refkey_file (const char *key, char name[17])
{
  uint64_t h = 14695981039346656037ULL;

  for (const unsigned char *p = (const unsigned char *) key; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  snprintf (name, 17, "%016llx", (unsigned long long) h);
}

static int
refs_dir (struct sp_cache *s, bool create)
{
  if (create && mkdirat (s->fd, "refs", 0700) < 0 && errno != EEXIST)
    return -1;
  return openat (s->fd, "refs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

bool
sp_cache_ref_lookup (struct sp_cache *s, const struct sp_refkey *k, char hex[65])
{
  cleanup_free char *key = NULL;
  cleanup_close int rfd = -1;
  sp_error_t err = NULL;
  json_t *rec, *digest;
  char name[17];
  bool ok = false;

  if (k->kind != SP_REF_LAYOUT && k->kind != SP_REF_ARCHIVE)
    return false;
  rfd = refs_dir (s, false);
  if (rfd < 0)
    return false;
  key = refkey_string (k);
  refkey_file (key, name);
  rec = read_json_at (rfd, name, &err);
  sp_error_free (&err);
  if (rec == NULL)
    return false;
  digest = json_object_get (rec, "digest");
  if (json_is_string (json_object_get (rec, "key")) && strcmp (json_string_value (json_object_get (rec, "key")), key) == 0
      && json_is_string (digest) && digest_valid (json_string_value (digest)))
    {
      memcpy (hex, json_string_value (digest) + 7, 65);
      ok = true;
    }
  json_decref (rec);
  return ok;
}

void
sp_cache_ref_record (struct sp_cache *s, const struct sp_refkey *k, const char *hex)
{
  cleanup_free char *key = NULL;
  cleanup_free char *digest = NULL;
  cleanup_close int rfd = -1;
  sp_error_t err = NULL;
  json_t *rec;
  char name[17];

  if ((k->kind != SP_REF_LAYOUT && k->kind != SP_REF_ARCHIVE) || hex == NULL)
    return;
  rfd = refs_dir (s, true);
  if (rfd < 0)
    return;
  key = refkey_string (k);
  refkey_file (key, name);
  digest = xasprintf ("sha256:%s", hex);
  rec = json_pack ("{s:s,s:s}", "key", key, "digest", digest);
  if (rec != NULL)
    sp_cache_write_json (rfd, name, rec, &err);
  sp_error_free (&err);
  json_decref (rec);
}

/* ---- the importer ---- */

char *
sp_find_libexec (const char *name)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  char *p;
  int saved;

  if (n > 0)
    {
      self[n] = '\0';
      if ((p = strrchr (self, '/')) != NULL)
        {
          char *cand = xasprintf ("%.*s/%s", (int) (p - self), self, name);
          if (access (cand, X_OK) == 0)
            return cand;
          free (cand);
        }
    }
  p = xasprintf ("%s/sprout/%s", SPROUT_LIBEXECDIR, name);
  if (access (p, X_OK) == 0)
    return p;
  saved = errno;
  free (p);
  errno = saved;
  return NULL;
}

char *
sp_importer_path (sp_error_t *err)
{
  char *p = sp_find_libexec (IMPORTER_NAME);

  if (p == NULL)
    sp_error_make (err, errno, "cannot run the image importer %s", SPROUT_LIBEXECDIR "/sprout/" IMPORTER_NAME);
  return p;
}

/* Run `sprout-import [--cache-dir DIR] [-v...] [-q] VERB ARG` with our stderr (its
 * one error line is the user's), /dev/null as stdin, and its stdout captured into
 * *out (up to a few kB) when out is not NULL. quiet_errors sends its stderr to
 * /dev/null. Returns its exit status (0 on success), or -1 with *err when it could
 * not run or died of a signal. */
int
sp_run_importer (const struct sp_store_opts *opts, const char *cache_path, const char *verb, const char *arg,
              bool quiet_errors, char **out, sp_error_t *err)
{
  cleanup_free char *exe = sp_importer_path (err);
  cleanup_free char *parent = NULL;
  char *argv[16];
  int argc = 0, pipefd[2] = { -1, -1 }, status, r;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  struct sigaction dfl, old_chld;
  sigset_t none, all;
  char buf[4096];
  size_t len = 0;
  pid_t pid;

  if (exe == NULL)
    return -1;
  parent = xasprintf ("--parent=%ld", (long) getpid ());
  argv[argc++] = exe;
  argv[argc++] = parent;
  if (cache_path != NULL)
    {
      argv[argc++] = (char *) "--cache-dir";
      argv[argc++] = (char *) cache_path;
    }
  for (int i = 0; opts != NULL && i < opts->verbose && i < 4; i++)
    argv[argc++] = (char *) "--verbose";
  if (opts == NULL || !opts->progress)
    argv[argc++] = (char *) "--no-progress";  /* it draws one when its stderr is a tty */
  argv[argc++] = (char *) verb;
  argv[argc++] = (char *) "--";
  argv[argc++] = (char *) arg;
  argv[argc] = NULL;

  if (out != NULL && pipe2 (pipefd, O_CLOEXEC) < 0)
    return sp_error_make (err, errno, "cannot run the image importer");
  /* an inherited SIGCHLD = SIG_IGN would reap it for us (waitpid: ECHILD) */
  memset (&dfl, 0, sizeof (dfl));
  dfl.sa_handler = SIG_DFL;
  sigaction (SIGCHLD, &dfl, &old_chld);
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (out != NULL)
    posix_spawn_file_actions_adddup2 (&fa, pipefd[1], STDOUT_FILENO);
  else
    posix_spawn_file_actions_addopen (&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (quiet_errors)
    posix_spawn_file_actions_addopen (&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  /* the importer starts with default signal handling and nothing blocked */
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  r = posix_spawn (&pid, exe, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (pipefd[1] >= 0)
    close (pipefd[1]);
  if (r != 0)
    {
      if (pipefd[0] >= 0)
        close (pipefd[0]);
      sigaction (SIGCHLD, &old_chld, NULL);
      return sp_error_make (err, r, "cannot run the image importer %s", exe);
    }
  if (out != NULL)
    {
      for (;;)
        {
          ssize_t n = read (pipefd[0], buf + len, sizeof (buf) - 1 - len);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          len += (size_t) n;
          if (len == sizeof (buf) - 1)
            {
              char sink[512];
              ssize_t m;
              while ((m = read (pipefd[0], sink, sizeof (sink))) > 0 || (m < 0 && errno == EINTR))
                ;
              break;
            }
        }
      close (pipefd[0]);
      buf[len] = '\0';
    }
  while ((r = (int) waitpid (pid, &status, 0)) < 0 && errno == EINTR)
    ;
  {
    int e = errno;
    sigaction (SIGCHLD, &old_chld, NULL);
    if (r < 0)
      return sp_error_make (err, e, "waiting for the image importer");
  }
  if (WIFSIGNALED (status))
    return sp_error_make (err, 0, "the image importer %s was killed by signal %d (%s)", exe, WTERMSIG (status),
                          strsignal (WTERMSIG (status)));
  if (out != NULL)
    *out = xstrdup (buf);
  return WEXITSTATUS (status);
}

/* The digest line the importer printed, as hex into hex[65]. */
static bool
parse_digest_line (const char *out, char hex[65])
{
  size_t n = strcspn (out, "\n");

  if (n != 71 || strncmp (out, "sha256:", 7) != 0 || strspn (out + 7, "0123456789abcdef") != 64)
    return false;
  memcpy (hex, out + 7, 64);
  hex[64] = '\0';
  return true;
}

int
sp_image_get (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err)
{
  struct sp_cache s = { .fd = -1, .images = -1, .tmp = -1, .locks = -1 };
  struct sp_refkey key;
  char hex[65];
  int ret = -1, r;

  memset (img, 0, sizeof (*img));
  img->hold_fd = -1;
  sp_refkey_get (ref, &key);
  if (key.kind == SP_REF_BUNDLE || key.kind == SP_REF_ROOTFS)
    {
      ret = sp_image_in_place (ref, key.path, key.kind == SP_REF_BUNDLE, img, err);
      goto out;
    }
  /* anything else than a layout or an archive is the importer's to name: before the
   * cache is created, as an import would */
  if (key.kind == SP_REF_OTHER)
    {
      r = sp_run_importer (opts, opts ? opts->cache_dir : NULL, "import", ref, false, NULL, err);
      if (r == 0)
        sp_error_make (err, 0, "%s: the image importer accepted what sprout does not know", ref);
      goto out;
    }
  if (sp_cache_open (opts, &s, err) < 0)
    goto out;
  /* warm: the ref index names an entry that is there */
  if (sp_cache_ref_lookup (&s, &key, hex))
    {
      img->ref = xstrdup (ref);
      r = sp_cache_entry_use (&s, hex, key.name, false, img, err);
      if (r != 0)
        {
          ret = r > 0 ? 0 : -1;
          goto out;
        }
      sp_image_release (img);
    }
  /* cold, changed or unknown: the importer resolves, verifies and unpacks (or finds
   * the entry under a name not yet recorded) and says what went wrong itself */
  for (int tries = 0; tries < 3; tries++)
    {
      cleanup_free char *digest_out = NULL;
      r = sp_run_importer (opts, s.path, "import", ref, false, &digest_out, err);
      if (r < 0)
        goto out;
      if (r != 0)
        goto out;  /* it printed its error; *err stays NULL */
      if (!parse_digest_line (digest_out, hex))
        {
          sp_error_make (err, 0, "%s: the image importer printed no digest", ref);
          goto out;
        }
      img->ref = xstrdup (ref);
      r = sp_cache_entry_use (&s, hex, NULL, false, img, err);
      if (r != 0)
        {
          ret = r > 0 ? 0 : -1;
          goto out;
        }
      sp_image_release (img);  /* removed (rm, prune) before we took our hold: again */
    }
  sp_error_make (err, 0, "cache %s: entry sha256:%s keeps vanishing after import", s.path, hex);
out:
  if (ret < 0)
    sp_image_release (img);
  sp_refkey_free (&key);
  sp_cache_close (&s);
  return ret;
}

void
sp_image_release (struct sp_image *img)
{
  free (img->ref);
  free (img->digest);
  free (img->rootfs);
  free (img->workdir);
  sp_strv_free (img->env);
  sp_strv_free (img->entrypoint);
  sp_strv_free (img->cmd);
  if (img->hold_fd >= 0)
    close (img->hold_fd);
  memset (img, 0, sizeof (*img));
  img->hold_fd = -1;
}

/* ---- listing, finding, removing ---- */

static int
cmp_entry_use (const void *a, const void *b)
{
  const struct sp_store_entry *x = a, *y = b;
  return x->last_use < y->last_use ? -1 : x->last_use > y->last_use;
}

int
sp_store_list (const struct sp_store_opts *opts, struct sp_store_entry **entries, size_t *n, sp_error_t *err)
{
  struct sp_cache s = { .fd = -1, .images = -1, .tmp = -1, .locks = -1 };
  DIR *d;
  struct dirent *de;
  size_t cap = 16;
  int fd;
  char **mounted = NULL;

  *entries = NULL;
  *n = 0;
  if (sp_cache_open (opts, &s, err) < 0)
    {
      sp_cache_close (&s);
      return -1;
    }
  sp_cache_tmp_cleanup (&s, opts ? opts->verbose : 0);
  fd = openat (s.images, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      sp_error_make (err, errno, "cache %s/images", s.path);
      sp_cache_close (&s);
      return -1;
    }
  *entries = xcalloc (cap, sizeof (**entries));
  mounted = sp_cache_mounted (s.path);
  while ((de = readdir (d)) != NULL)
    {
      cleanup_close int efd = -1;
      cleanup_close int lfd = -1;
      struct sp_store_entry *e;
      struct stat st;
      sp_error_t e2 = NULL;
      json_t *meta;
      cleanup_free char *digest = xasprintf ("sha256:%s", de->d_name);

      if (!digest_valid (digest))
        continue;
      efd = openat (s.images, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (efd < 0)
        continue;
      meta = read_json_at (efd, "meta.json", &e2);
      sp_error_free (&e2);
      if (*n == cap)
        {
          cap *= 2;
          *entries = realloc (*entries, cap * sizeof (**entries));
          if (*entries == NULL)
            abort ();
        }
      e = &(*entries)[(*n)++];
      memset (e, 0, sizeof (*e));
      e->digest = steal_pointer (&digest);
      if (meta != NULL)
        {
          sp_cache_json_strv (json_object_get (meta, "names"), "names", &e->names, &e2);
          sp_error_free (&e2);
          e->size = (uint64_t) json_integer_value (json_object_get (meta, "size"));
          e->created = (time_t) json_integer_value (json_object_get (meta, "created"));
          json_decref (meta);
        }
      if (e->names == NULL)
        e->names = xcalloc (1, sizeof (char *));
      lfd = openat (efd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (lfd >= 0 && fstat (lfd, &st) == 0)
        {
          e->last_use = st.st_mtime;
          e->in_use = flock (lfd, LOCK_EX | LOCK_NB) < 0;
        }
      for (char **h = mounted; !e->in_use && *h != NULL; h++)
        e->in_use = strcmp (*h, de->d_name) == 0;
    }
  sp_strv_free (mounted);
  closedir (d);
  sp_cache_close (&s);
  qsort (*entries, *n, sizeof (**entries), cmp_entry_use);
  return 0;
}

void
sp_store_entries_free (struct sp_store_entry *entries, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (entries[i].digest);
      sp_strv_free (entries[i].names);
    }
  free (entries);
}

int
sp_store_find (const struct sp_store_opts *opts, const char *arg, char **digest, sp_error_t *err)
{
  struct sp_store_entry *es;
  size_t n, hits = 0;
  const char *hexarg = sp_has_prefix (arg, "sha256:") ? arg + 7 : arg;
  bool hexish = strlen (hexarg) >= 4 && strlen (hexarg) <= 64 && strspn (hexarg, "0123456789abcdef") == strlen (hexarg);
  int found = -1;

  *digest = NULL;
  if (sp_store_list (opts, &es, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      bool match = hexish && sp_has_prefix (es[i].digest + 7, hexarg);
      for (char **nm = es[i].names; !match && *nm; nm++)
        match = strcmp (*nm, arg) == 0;
      if (match)
        {
          hits++;
          found = (int) i;
        }
    }
  if (hits == 1)
    *digest = xstrdup (es[found].digest);
  sp_store_entries_free (es, n);
  if (hits > 1)
    return sp_error_make (err, 0, "%s: names %zu cached images; give more of the digest", arg, hits);
  if (hits == 1)
    return 0;
  /* an image on disk: its ref record, else the importer resolves its manifest */
  {
    struct sp_cache s = { .fd = -1, .images = -1, .tmp = -1, .locks = -1 };
    struct sp_refkey key;
    cleanup_free char *out = NULL;
    sp_error_t e2 = NULL;
    char hex[65];
    bool found_it = false;

    sp_refkey_get (arg, &key);
    if (key.kind == SP_REF_LAYOUT || key.kind == SP_REF_ARCHIVE)
      {
        if (sp_cache_open (opts, &s, &e2) == 0 && sp_cache_ref_lookup (&s, &key, hex))
          found_it = true;
        else if (e2 == NULL && sp_run_importer (opts, s.path, "digest", arg, true, &out, &e2) == 0
                 && parse_digest_line (out, hex))
          found_it = true;
      }
    sp_error_free (&e2);
    sp_refkey_free (&key);
    sp_cache_close (&s);
    if (found_it)
      {
        *digest = xasprintf ("sha256:%s", hex);
        return 0;
      }
  }
  return sp_error_make (err, ENOENT, "%s: no such image in the cache", arg);
}

int
sp_store_remove (const struct sp_store_opts *opts, const char *digest, sp_error_t *err)
{
  struct sp_cache s = { .fd = -1, .images = -1, .tmp = -1, .locks = -1 };
  const char *hex = digest_valid (digest) ? digest + 7 : NULL;
  cleanup_close int ilock = -1;
  cleanup_close int elock = -1;
  cleanup_free char *lockpath = NULL;
  cleanup_free char *tmpname = NULL;
  cleanup_close int tfd = -1;
  cleanup_close int tlock = -1;
  int ret = -1;

  if (hex == NULL)
    return sp_error_make (err, 0, "%s: not a sha256 digest", digest);
  if (sp_cache_open (opts, &s, err) < 0)
    goto out;
  lockpath = xasprintf ("%s/lock", hex);
  elock = openat (s.images, lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (elock < 0)
    {
      struct stat st;
      /* an entry damaged by hand (no lock file) cannot be in use: let it be removed */
      if (errno != ENOENT || fstatat (s.images, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            sp_error_make (err, 0, "%s: not in the cache; nothing to remove", digest);
          else
            sp_error_make (err, errno, "%s", digest);
          goto out;
        }
    }
  ilock = openat (s.locks, hex, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (ilock < 0 || flock (ilock, LOCK_EX | LOCK_NB) < 0 || (elock >= 0 && flock (elock, LOCK_EX | LOCK_NB) < 0))
    {
      sp_error_make (err, EBUSY, "%s: in use by a running container or an import; not removed", digest);
      goto out;
    }
  /* a `run` container holds no lock once its command runs: its root mount says it is
   * there (and with the lock ours, no new one can start until the entry is gone) */
  if (sp_cache_entry_mounted (s.path, hex))
    {
      sp_error_make (err, EBUSY, "%s: in use by a running container; not removed", digest);
      goto out;
    }
  /* move it out of sight first, so nobody starts using a half-deleted entry */
  if (sp_cache_tmpdir_create (&s, "rm-", &tmpname, &tfd, &tlock, err) < 0)
    goto out;
  if (renameat (s.images, hex, tfd, "entry") < 0)
    {
      sp_error_make (err, errno, "%s", digest);
      sp_rmtree_at (s.tmp, tmpname);
      goto out;
    }
  if (sp_rmtree_at (s.tmp, tmpname) < 0)
    {
      sp_error_make (err, errno, "cache %s/tmp/%s", s.path, tmpname);
      goto out;
    }
  /* locks/<hex> stays: an importer may be waiting on it, and a new file there would let
   * a second importer in beside it */
  ret = 0;
out:
  sp_cache_close (&s);
  return ret;
}

