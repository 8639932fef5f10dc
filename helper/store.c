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
 * The cache is refused if it is a symlink or owned by someone else. All access is
 * relative to the cache's directory fd, with O_NOFOLLOW on every name. */
#include "config.h"
#include "store.h"
#include "digest.h"
#include "layer.h"
#include "oci.h"
#include "progress.h"
#include "source.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#define META_MAX (16u << 20)
#define STALE_NOLOCK_SECONDS 60
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct store {
  int fd;           /* the cache directory */
  char *path;       /* its absolute path */
  int images, tmp, locks;
};

static void
store_close (struct store *s)
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
open_subdir (struct store *s, const char *name, int *out, sp_error_t *err)
{
  if (mkdirat (s->fd, name, 0700) < 0 && errno != EEXIST)
    return sp_error_make (err, errno, "cache %s/%s", s->path, name);
  *out = openat (s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*out < 0)
    return sp_error_make (err, errno, "cache %s/%s", s->path, name);
  return 0;
}

/* Open (creating it 0700 if needed) the user's cache, refusing a symlink or a
 * directory someone else owns. */
static int
store_open (const struct sp_store_opts *opts, struct store *s, sp_error_t *err)
{
  cleanup_free char *dflt = NULL;
  const char *path = opts ? opts->cache_dir : NULL;
  char proc[64], buf[PATH_MAX];
  struct stat st;
  ssize_t n;

  s->fd = s->images = s->tmp = s->locks = -1;
  s->path = NULL;
  if (path == NULL || *path == '\0')
    path = getenv ("SPROUT_CACHE_DIR");
  if (path == NULL || *path == '\0')
    path = dflt = xasprintf ("/var/tmp/sprout-%u", (unsigned) geteuid ());
  if (mkdir (path, 0700) < 0 && errno != EEXIST)
    return sp_error_make (err, errno, "cache %s", path);
  s->fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
static int
tmpdir_create (struct store *s, const char *prefix, char **name, int *dirfd, int *lockfd, sp_error_t *err)
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
static void
tmp_cleanup (struct store *s, int verbose)
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

static json_t *
strv_json (char **v)
{
  json_t *a;

  if (v == NULL)
    return json_null ();
  a = json_array ();
  for (; *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static int
write_json_at (int dfd, const char *name, json_t *j, sp_error_t *err)
{
  cleanup_free char *text = json_dumps (j, JSON_INDENT (2) | JSON_SORT_KEYS);
  cleanup_free char *tmpname = xasprintf (".%s.%d", name, (int) getpid ());
  cleanup_close int fd = -1;

  if (text == NULL)
    return sp_error_make (err, ENOMEM, "%s", name);
  fd = openat (dfd, tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || sp_write_all (fd, text, strlen (text)) < 0 || sp_write_all (fd, "\n", 1) < 0)
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

static json_t *
meta_new (const struct sp_manifest *m, const char *name, uint64_t size)
{
  json_t *meta = json_object (), *cfg = json_object (), *layers = json_array ();

  json_object_set_new (meta, "digest", json_string (m->digest));
  json_object_set_new (meta, "mediaType", json_string (m->media_type));
  json_object_set_new (meta, "configDigest", json_string (m->config_digest));
  json_object_set_new (meta, "names", json_pack ("[s]", name));
  json_object_set_new (meta, "size", json_integer ((json_int_t) size));
  json_object_set_new (meta, "created", json_integer ((json_int_t) time (NULL)));
  json_object_set_new (cfg, "Env", strv_json (m->config.env));
  json_object_set_new (cfg, "Entrypoint", strv_json (m->config.entrypoint));
  json_object_set_new (cfg, "Cmd", strv_json (m->config.cmd));
  json_object_set_new (cfg, "WorkingDir", m->config.workdir ? json_string (m->config.workdir) : json_null ());
  json_object_set_new (meta, "config", cfg);
  for (size_t i = 0; i < m->n_layers; i++)
    json_array_append_new (layers, json_pack ("{s:s?,s:I,s:s}", "digest", m->layers[i].digest, "size",
                                              (json_int_t) m->layers[i].size, "diffID", m->config.diff_ids[i]));
  json_object_set_new (meta, "layers", layers);
  return meta;
}

/* Add name to an entry's recorded names (best effort, under the digest's import lock). */
static void
meta_add_name (struct store *s, const char *hex, const char *name, bool have_lock)
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
  write_json_at (efd, "meta.json", meta, &err);
  sp_error_free (&err);
  json_decref (meta);
}

/* ---- using an entry ---- */

static int
image_from_meta (json_t *meta, struct sp_image *img, sp_error_t *err)
{
  json_t *cfg = json_object_get (meta, "config"), *wd;

  if (sp_json_strv (json_object_get (cfg, "Env"), "meta.json Env", &img->env, err) < 0
      || sp_json_strv (json_object_get (cfg, "Entrypoint"), "meta.json Entrypoint", &img->entrypoint, err) < 0
      || sp_json_strv (json_object_get (cfg, "Cmd"), "meta.json Cmd", &img->cmd, err) < 0)
    return -1;
  if (img->env == NULL)
    img->env = xcalloc (1, sizeof (char *));
  wd = json_object_get (cfg, "WorkingDir");
  if (json_is_string (wd) && *json_string_value (wd))
    img->workdir = xstrdup (json_string_value (wd));
  return 0;
}

/* If images/<hex> exists, take a shared hold on it and fill img. 1 when used,
 * 0 when there is no such entry, -1 with *err. */
static int
entry_use (struct store *s, const char *hex, const char *name, bool have_lock, struct sp_image *img,
           sp_error_t *err)
{
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
  json_decref (meta);
  futimens (lfd, NULL);  /* last use, for prune --older-than */
  if (name != NULL)
    meta_add_name (s, hex, name, have_lock);
  img->digest = xasprintf ("sha256:%s", hex);
  img->rootfs = xasprintf ("%s/images/%s/rootfs", s->path, hex);
  img->hold_fd = steal_fd (&lfd);
  return 1;
}

/* ---- importing ---- */

/* Tell ext4 that the image's root is the top of a hierarchy (chattr +T): its
 * allocator then places the image's directories in block groups of their own rather
 * than next to the cache, where freshly freed inodes (a removed entry's) make every
 * allocation slow. Other file systems ignore or refuse it; either is fine. */
static void
hint_topdir (int fd)
{
  int flags = 0;

  if (ioctl (fd, FS_IOC_GETFLAGS, &flags) == 0)
    {
      flags |= FS_TOPDIR_FL;
      (void) ioctl (fd, FS_IOC_SETFLAGS, &flags);
    }
}

static int
import_entry (struct store *s, const struct sp_store_opts *opts, struct sp_source *src, struct sp_manifest *m,
              const char *hex, sp_error_t *err)
{
  cleanup_free char *tmpname = NULL;
  cleanup_close int tfd = -1;
  cleanup_close int lfd = -1;
  cleanup_close int rootfd = -1;
  struct sp_unpack u;
  struct sp_progress prog;
  uint64_t total = 0;
  json_t *meta;
  int ret = -1;

  if (tmpdir_create (s, "import-", &tmpname, &tfd, &lfd, err) < 0)
    return -1;
  if (mkdirat (tfd, "rootfs", 0700) < 0
      || (rootfd = openat (tfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    {
      sp_error_make (err, errno, "cache %s/tmp/%s/rootfs", s->path, tmpname);
      goto fail;
    }
  hint_topdir (rootfd);
  for (size_t i = 0; i < m->n_layers; i++)
    total += m->layers[i].size > 0 ? (uint64_t) m->layers[i].size : 0;
  sp_progress_start (&prog, opts != NULL && opts->progress, src->ref, total);
  sp_unpack_init (&u, rootfd);
  u.verbose = opts ? opts->verbose : 0;
  u.progress = sp_progress_add;
  u.progress_ctx = &prog;
  for (size_t i = 0; i < m->n_layers; i++)
    {
      struct sp_reader r;
      cleanup_free char *what = xasprintf ("%s: layer %zu (%s)", src->ref, i + 1,
                                           m->layers[i].digest ? m->layers[i].digest : m->layers[i].member);
      if (sp_source_open_member (src, m->layers[i].member, &r, err) < 0)
        {
          sp_progress_end (&prog);
          sp_unpack_free (&u);
          goto fail;
        }
      if (sp_layer_apply (&u, &r, &m->layers[i], m->config.diff_ids[i], what, err) < 0)
        {
          sp_reader_close (&r);
          sp_progress_end (&prog);
          sp_unpack_free (&u);
          goto fail;
        }
      sp_reader_close (&r);
    }
  sp_progress_end (&prog);
  if (sp_unpack_finish (&u, err) < 0)
    {
      sp_unpack_free (&u);
      sp_error_wrap (err, "%s", src->ref);
      goto fail;
    }
  if (u.verbose > 0)
    fprintf (stderr, "sprout: %s: %llu files, %llu directories, %llu symlinks, %llu hard links, "
             "%llu whiteouts, %llu device nodes/fifos skipped\n", src->ref, (unsigned long long) u.n_files,
             (unsigned long long) u.n_dirs, (unsigned long long) u.n_symlinks, (unsigned long long) u.n_links,
             (unsigned long long) u.n_whiteouts, (unsigned long long) u.n_skipped);
  sp_unpack_free (&u);
  fchmod (rootfd, 0755);
  meta = meta_new (m, src->name, sp_du_at (rootfd));
  if (write_json_at (tfd, "meta.json", meta, err) < 0)
    {
      json_decref (meta);
      sp_error_wrap (err, "cache %s/tmp/%s", s->path, tmpname);
      goto fail;
    }
  json_decref (meta);
  if (renameat (s->tmp, tmpname, s->images, hex) < 0)
    {
      if (errno == ENOTEMPTY || errno == EEXIST)
        sp_error_make (err, 0, "cache %s: entry sha256:%s is damaged (it has no lock file); "
                               "remove it with sprout rm", s->path, hex);
      else
        sp_error_make (err, errno, "cache %s: publishing %s", s->path, hex);
      goto fail;
    }
  return 0;
fail:
  sp_rmtree_at (s->tmp, tmpname);
  return ret;
}

static int
image_in_place (struct sp_source *src, struct sp_image *img, sp_error_t *err)
{
  cleanup_free char *data = NULL;
  json_error_t jerr;
  json_t *j, *root, *proc, *v;
  const char *rootpath = "rootfs";
  cleanup_free char *rp = NULL;
  struct stat st;
  size_t len;

  img->ref = xstrdup (src->ref);
  if (src->kind == SP_SRC_ROOTFS)
    {
      img->rootfs = xstrdup (src->path);
      img->env = xcalloc (2, sizeof (char *));
      img->env[0] = xstrdup (DEFAULT_PATH);
      return 0;
    }
  if (sp_source_read_member (src, "config.json", 4u << 20, &data, &len, err) < 0)
    return -1;
  j = json_loadb (data, len, 0, &jerr);
  if (!json_is_object (j))
    {
      json_decref (j);
      return sp_error_make (err, 0, "%s: config.json: invalid JSON: %s (line %d)", src->ref, jerr.text, jerr.line);
    }
  root = json_object_get (j, "root");
  if (json_is_string (json_object_get (root, "path")))
    rootpath = json_string_value (json_object_get (root, "path"));
  rp = rootpath[0] == '/' ? xstrdup (rootpath) : xasprintf ("%s/%s", src->path, rootpath);
  img->rootfs = realpath (rp, NULL);
  if (img->rootfs == NULL || stat (img->rootfs, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      int e = errno ? errno : ENOTDIR;
      json_decref (j);
      return sp_error_make (err, e, "%s: bundle root file system %s", src->ref, rp);
    }
  proc = json_object_get (j, "process");
  if (sp_json_strv (json_object_get (proc, "env"), "config.json process.env", &img->env, err) < 0
      || sp_json_strv (json_object_get (proc, "args"), "config.json process.args", &img->cmd, err) < 0)
    {
      json_decref (j);
      return sp_error_wrap (err, "%s", src->ref);
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

int
sp_image_get (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err)
{
  struct sp_source src;
  struct sp_manifest m = { 0 };
  struct store s = { .fd = -1, .images = -1, .tmp = -1, .locks = -1 };
  cleanup_close int lockfd = -1;
  const char *hex;
  int ret = -1, r;

  memset (img, 0, sizeof (*img));
  img->hold_fd = -1;
  if (sp_source_open (ref, &src, err) < 0)
    goto out;
  if (src.kind == SP_SRC_BUNDLE || src.kind == SP_SRC_ROOTFS)
    {
      ret = image_in_place (&src, img, err);
      goto out;
    }
  if (store_open (opts, &s, err) < 0)
    goto out;
  tmp_cleanup (&s, opts ? opts->verbose : 0);
  if (sp_manifest_resolve (&src, &m, err) < 0)
    goto out;
  hex = sp_digest_hex (m.digest);
  img->ref = xstrdup (ref);
  r = entry_use (&s, hex, src.name, false, img, err);
  if (r != 0)
    {
      ret = r > 0 ? 0 : -1;
      goto out;
    }
  /* not there: one importer per digest; the others wait here and then reuse its work */
  lockfd = openat (s.locks, hex, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lockfd < 0)
    {
      sp_error_make (err, errno, "cache %s/locks/%s", s.path, hex);
      goto out;
    }
  if (flock (lockfd, LOCK_EX | LOCK_NB) < 0)
    {
      if (opts != NULL && opts->verbose > 0)
        fprintf (stderr, "sprout: %s: waiting for another import of %s\n", ref, m.digest);
      if (flock (lockfd, LOCK_EX) < 0)
        {
          sp_error_make (err, errno, "cache %s/locks/%s", s.path, hex);
          goto out;
        }
    }
  r = entry_use (&s, hex, src.name, true, img, err);
  if (r == 0)
    {
      if (import_entry (&s, opts, &src, &m, hex, err) < 0)
        goto out;
      r = entry_use (&s, hex, NULL, true, img, err);
      if (r == 0)
        sp_error_make (err, 0, "cache %s: entry %s vanished after import", s.path, hex);
    }
  ret = r > 0 ? 0 : -1;
out:
  if (ret < 0)
    sp_image_release (img);
  sp_manifest_free (&m);
  sp_source_close (&src);
  store_close (&s);
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
  struct store s;
  DIR *d;
  struct dirent *de;
  size_t cap = 16;
  int fd;

  *entries = NULL;
  *n = 0;
  if (store_open (opts, &s, err) < 0)
    {
      store_close (&s);
      return -1;
    }
  tmp_cleanup (&s, opts ? opts->verbose : 0);
  fd = openat (s.images, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      sp_error_make (err, errno, "cache %s/images", s.path);
      store_close (&s);
      return -1;
    }
  *entries = xcalloc (cap, sizeof (**entries));
  while ((de = readdir (d)) != NULL)
    {
      cleanup_close int efd = -1;
      cleanup_close int lfd = -1;
      struct sp_store_entry *e;
      struct stat st;
      sp_error_t e2 = NULL;
      json_t *meta;
      cleanup_free char *digest = xasprintf ("sha256:%s", de->d_name);

      if (!sp_digest_valid (digest))
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
          sp_json_strv (json_object_get (meta, "names"), "names", &e->names, &e2);
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
    }
  closedir (d);
  store_close (&s);
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
  /* an image on disk: resolve its manifest to find its entry */
  {
    struct sp_source src;
    struct sp_manifest m;
    sp_error_t e2 = NULL;
    if (sp_source_open (arg, &src, &e2) == 0 && sp_manifest_resolve (&src, &m, &e2) == 0)
      {
        *digest = xstrdup (m.digest);
        sp_manifest_free (&m);
        sp_source_close (&src);
        return 0;
      }
    sp_source_close (&src);
    sp_error_free (&e2);
  }
  return sp_error_make (err, ENOENT, "%s: no such image in the cache", arg);
}

int
sp_store_remove (const struct sp_store_opts *opts, const char *digest, sp_error_t *err)
{
  struct store s;
  const char *hex = sp_digest_hex (digest);
  cleanup_close int ilock = -1;
  cleanup_close int elock = -1;
  cleanup_free char *lockpath = NULL;
  cleanup_free char *tmpname = NULL;
  cleanup_close int tfd = -1;
  cleanup_close int tlock = -1;
  int ret = -1;

  if (hex == NULL)
    return sp_error_make (err, 0, "%s: not a sha256 digest", digest);
  if (store_open (opts, &s, err) < 0)
    goto out;
  lockpath = xasprintf ("%s/lock", hex);
  elock = openat (s.images, lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (elock < 0)
    {
      struct stat st;
      /* an entry damaged by hand (no lock file) cannot be in use: let it be removed */
      if (errno != ENOENT || fstatat (s.images, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
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
  /* move it out of sight first, so nobody starts using a half-deleted entry */
  if (tmpdir_create (&s, "rm-", &tmpname, &tfd, &tlock, err) < 0)
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
  store_close (&s);
  return ret;
}

/* ---- inspect ---- */

char *
sp_image_inspect (const struct sp_store_opts *opts, const char *ref, sp_error_t *err)
{
  struct sp_source src;
  struct sp_manifest m;
  json_t *out, *cfg, *layers;
  char *text = NULL;

  (void) opts;
  if (sp_source_open (ref, &src, err) < 0)
    {
      sp_source_close (&src);
      return NULL;
    }
  out = json_object ();
  json_object_set_new (out, "Name", json_string (src.name));
  json_object_set_new (out, "Kind", json_string (sp_source_kind_name (src.kind)));
  if (src.kind == SP_SRC_BUNDLE || src.kind == SP_SRC_ROOTFS)
    {
      struct sp_image img = { .hold_fd = -1 };
      if (image_in_place (&src, &img, err) < 0)
        {
          sp_image_release (&img);
          goto fail;
        }
      cfg = json_object ();
      json_object_set_new (cfg, "Env", strv_json (img.env));
      json_object_set_new (cfg, "Entrypoint", json_null ());
      json_object_set_new (cfg, "Cmd", strv_json (img.cmd));
      json_object_set_new (cfg, "WorkingDir", img.workdir ? json_string (img.workdir) : json_null ());
      json_object_set_new (out, "Digest", json_null ());
      json_object_set_new (out, "RootFS", json_string (img.rootfs));
      json_object_set_new (out, "Layers", json_array ());
      json_object_set_new (out, "Config", cfg);
      sp_image_release (&img);
    }
  else
    {
      if (sp_manifest_resolve (&src, &m, err) < 0)
        goto fail;
      cfg = json_object ();
      json_object_set_new (cfg, "Env", strv_json (m.config.env));
      json_object_set_new (cfg, "Entrypoint", strv_json (m.config.entrypoint));
      json_object_set_new (cfg, "Cmd", strv_json (m.config.cmd));
      json_object_set_new (cfg, "WorkingDir", m.config.workdir ? json_string (m.config.workdir) : json_null ());
      layers = json_array ();
      for (size_t i = 0; i < m.n_layers; i++)
        {
          json_t *l = json_object ();
          json_object_set_new (l, "Digest", m.layers[i].digest ? json_string (m.layers[i].digest) : json_null ());
          json_object_set_new (l, "Size", m.layers[i].size >= 0 ? json_integer (m.layers[i].size) : json_null ());
          json_object_set_new (l, "MediaType",
                               m.layers[i].media_type ? json_string (m.layers[i].media_type) : json_null ());
          json_object_set_new (l, "DiffID", json_string (m.config.diff_ids[i]));
          json_array_append_new (layers, l);
        }
      json_object_set_new (out, "Digest", json_string (m.digest));
      json_object_set_new (out, "MediaType", json_string (m.media_type));
      json_object_set_new (out, "ConfigDigest", json_string (m.config_digest));
      json_object_set_new (out, "Layers", layers);
      json_object_set_new (out, "Config", cfg);
      sp_manifest_free (&m);
    }
  text = json_dumps (out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
fail:
  json_decref (out);
  sp_source_close (&src);
  return text;
}
