/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apply.c: see apply.h. Every name is resolved in the root by lib/inroot.c; the last
 * component is created, replaced or removed by name under its parent's fd. */
#include "config.h"
#include "import/apply.h"
#include "import/layer.h"
#include "import/pool.h"
#include "inroot.h"
#include "cache/tree.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define POOL_SMALL_FILE (1u << 20) /* bigger files are streamed by the main thread */
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

void
sp_unpack_forget_parent (struct sp_unpack *u)
{
  sp_pdir_unref (u->cached_pdir);
  u->cached_pdir = NULL;
  u->cached_parent_fd = -1;
  free (u->cached_parent);
  u->cached_parent = NULL;
}

/* The directory fd for parent (creating missing directories 0755, as tar does). The
 * fd belongs to the one-entry cache: do not close it. The cache never goes stale:
 * an entry that replaces or removes a component of the cached path has a shorter
 * parent path, so the lookup after it misses and resolves afresh. -1 with errno. */
static int
parent_fd (struct sp_unpack *u, const char *parent)
{
  int fd;

  if (u->cached_parent != NULL && strcmp (u->cached_parent, parent) == 0)
    return u->cached_parent_fd;
  sp_unpack_forget_parent (u);
  fd = sp_mkdirs_in_root (u->rootfd, parent, 0755);
  if (fd < 0)
    return -1;
  u->cached_parent = xstrdup (parent);
  u->cached_parent_fd = fd;
  u->cached_pdir = sp_pdir_new (fd);
  return fd;
}

/* Make room for a new entry called base under pfd: whatever is there goes, except a
 * directory when a directory is coming. Returns 1 if a directory was kept. */
static int
clear_slot (struct sp_unpack *u, int pfd, const char *base, bool want_dir, sp_error_t *err, const char *path)
{
  struct stat st;

  if (fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : sp_error_make (err, errno, "%s", path);
  if (want_dir && S_ISDIR (st.st_mode))
    return 1;
  /* a removal: files still queued may live below what goes */
  if (sp_pool_barrier (u->pool, err) < 0)
    return -1;
  if ((S_ISDIR (st.st_mode) ? sp_rmtree_at (pfd, base) : unlinkat (pfd, base, 0)) < 0 && errno != ENOENT)
    return sp_error_make (err, errno, "%s", path);
  return 0;
}

static void
record_dir (struct sp_unpack *u, const char *path, mode_t mode, struct timespec mtime)
{
  if (u->n_dirmodes == u->cap_dirmodes)
    {
      u->cap_dirmodes = u->cap_dirmodes ? u->cap_dirmodes * 2 : 256;
      u->dirs = realloc (u->dirs, u->cap_dirmodes * sizeof (*u->dirs));
      if (u->dirs == NULL)
        abort ();
    }
  u->dirs[u->n_dirmodes] = (struct sp_dirmode) { xstrdup (path), mode, mtime, u->n_dirmodes };
  u->n_dirmodes++;
}

static int
write_file (struct archive *a, struct archive_entry *e, int fd, sp_error_t *err, const char *path)
{
  const void *buf;
  size_t size;
  la_int64_t offset, end = 0;
  int r;

  while ((r = archive_read_data_block (a, &buf, &size, &offset)) == ARCHIVE_OK)
    {
      const char *p = buf;
      while (size > 0)
        {
          ssize_t w = pwrite (fd, p, size, offset);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return sp_error_make (err, errno, "%s", path);
          p += w;
          size -= (size_t) w;
          offset += w;
        }
      if (offset > end)
        end = offset;
    }
  /* a failure right after the last data byte is the missing padding of an umoci
   * layer (see sp_layer_apply); any other is the archive's error, reported by the caller */
  if (r != ARCHIVE_EOF && !(r == ARCHIVE_FATAL && end == archive_entry_size (e)))
    return SP_APPLY_ARCHIVE;
  if (archive_entry_size (e) > end && ftruncate (fd, archive_entry_size (e)) < 0)
    return sp_error_make (err, errno, "%s", path);
  return 0;
}

/* Read a small file's data and hand it to the writers. */
static int
queue_file (struct sp_unpack *u, struct archive *a, struct archive_entry *e, const char *base, const char *path,
            mode_t perm, struct timespec mt, sp_error_t *err)
{
  la_int64_t size = archive_entry_size (e), end = 0;
  struct sp_job *j;
  const void *buf;
  size_t n;
  la_int64_t off;
  int r;

  j = xcalloc (1, sizeof (*j));
  j->size = (size_t) size;
  j->data = archive_entry_sparse_count (e) > 0 ? xcalloc (1, j->size + 1) : xmalloc (j->size + 1);
  while ((r = archive_read_data_block (a, &buf, &n, &off)) == ARCHIVE_OK)
    {
      if (off < 0 || off + (la_int64_t) n > size)
        {
          sp_job_free (j);
          return sp_error_make (err, 0, "%s: data beyond the file's size", path);
        }
      memcpy (j->data + off, buf, n);
      if (off + (la_int64_t) n > end)
        end = off + (la_int64_t) n;
    }
  if (r != ARCHIVE_EOF && !(r == ARCHIVE_FATAL && end == size))
    {
      sp_job_free (j);
      return SP_APPLY_ARCHIVE;
    }
  j->pdir = u->cached_pdir; /* the parent's fd, shared with the one-entry cache */
  sp_pdir_ref (j->pdir);
  j->base = xstrdup (base);
  j->path = xstrdup (path);
  j->perm = perm;
  j->mtime = mt;
  return sp_pool_submit (u->pool, j, sp_hash_str (u->cached_parent), err);
}

static int
apply_whiteout (struct sp_unpack *u, int pfd, const char *parent, const char *base, sp_error_t *err)
{
  u->n_whiteouts++;
  if (strcmp (base, WH_OPAQUE) == 0)
    {
      /* opaque: everything lower layers put in parent goes; this layer's entries stay */
      int fd = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
      struct dirent *de;

      if (d == NULL)
        {
          if (fd >= 0)
            close (fd);
          return sp_error_make (err, errno, "%s", *parent ? parent : "/");
        }
      while ((de = readdir (d)) != NULL)
        {
          cleanup_free char *child = NULL;
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          child = *parent ? xasprintf ("%s/%s", parent, de->d_name) : xstrdup (de->d_name);
          if (sp_pathset_has (u->layer_paths, child))
            continue;
          if (sp_rmtree_at (dirfd (d), de->d_name) < 0)
            {
              int e = errno;
              closedir (d);
              return sp_error_make (err, e, "%s", child);
            }
        }
      closedir (d);
      return 0;
    }
  base += strlen (WH_PREFIX);
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0 || strchr (base, '/'))
    return sp_error_make (err, 0, "%s/.wh.%s: invalid whiteout", parent, base);
  if (sp_rmtree_at (pfd, base) < 0)
    return sp_error_make (err, errno, "%s/%s", parent, base);
  return 0;
}

/* A clean path's directory (malloc'd; "" for the root) and, in *base, its last name. */
static char *
split_parent (const char *path, const char **base)
{
  char *parent = xstrdup (path);
  char *slash = strrchr (parent, '/');

  if (slash != NULL)
    {
      *slash = '\0';
      *base = path + (slash - parent) + 1;
    }
  else
    {
      parent[0] = '\0';
      *base = path;
    }
  return parent;
}

int
sp_entry_apply (struct sp_unpack *u, struct archive *a, struct archive_entry *e, sp_error_t *err)
{
  const char *raw = archive_entry_pathname (e);
  cleanup_free char *path = NULL;
  cleanup_free char *parent = NULL;
  const char *base;
  mode_t type = archive_entry_filetype (e);
  mode_t perm = archive_entry_perm (e) & 07777;
  struct timespec mt = { archive_entry_mtime (e), archive_entry_mtime_nsec (e) };
  struct timespec times[2] = { mt, mt };
  const char *hardlink = archive_entry_hardlink (e);
  int pfd, r;

  if (raw == NULL)
    return sp_error_make (err, 0, "entry with an unreadable name");
  path = xstrdup (raw);
  sp_clean_path (path);
  if (*path == '\0')
    return 0; /* the root itself: it keeps the mode sprout gives it */
  parent = split_parent (path, &base);
  /* whiteouts and hard links read or remove what came before; anything else waits
   * only when its own path (or a directory above it) is still being written */
  if ((sp_has_prefix (base, WH_PREFIX) || hardlink != NULL || sp_pool_conflicts (u->pool, path))
      && sp_pool_barrier (u->pool, err) < 0)
    return -1;
  pfd = parent_fd (u, parent);
  if (pfd < 0 && errno == EEXIST)
    return sp_error_make (err, 0, "%s: a symlink on its way points to a missing path", path);
  if (pfd < 0)
    return sp_error_make (err, errno, "%s", path);

  if (sp_has_prefix (base, WH_PREFIX))
    return apply_whiteout (u, pfd, parent, base, err);
  sp_pathset_add (u->layer_paths, path);

  if (hardlink != NULL)
    {
      cleanup_free char *target = xstrdup (hardlink);
      cleanup_free char *tparent = NULL;
      const char *tbase;
      int tfd;

      sp_clean_path (target);
      if (*target == '\0' || strcmp (target, path) == 0)
        return sp_error_make (err, 0, "%s: invalid hard link to \"%s\"", path, hardlink);
      tparent = split_parent (target, &tbase);
      if (clear_slot (u, pfd, base, false, err, path) < 0)
        return -1;
      tfd = sp_open_in_root (u->rootfd, tparent, O_RDONLY | O_DIRECTORY);
      if (tfd < 0)
        return sp_error_make (err, errno, "%s: hard link target \"%s\" is not inside the image", path, hardlink);
      r = linkat (tfd, tbase, pfd, base, 0);
      close (tfd);
      if (r < 0)
        return sp_error_make (err, errno, "%s: hard link to \"%s\"", path, hardlink);
      u->n_links++;
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      r = clear_slot (u, pfd, base, true, err, path);
      if (r < 0)
        return -1;
      if (r == 0 && mkdirat (pfd, base, 0700) < 0)
        return sp_error_make (err, errno, "%s", path);
      record_dir (u, path, perm, mt);
      u->n_dirs++;
      return 0;

    case AE_IFREG:
      {
        cleanup_close int fd = -1;
        if (clear_slot (u, pfd, base, false, err, path) < 0)
          return -1;
        if (u->pool != NULL && archive_entry_size (e) <= (la_int64_t) POOL_SMALL_FILE)
          {
            r = queue_file (u, a, e, base, path, perm, mt, err);
            if (r == 0)
              u->n_files++;
            return r;
          }
        fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return sp_error_make (err, errno, "%s", path);
        r = write_file (a, e, fd, err, path);
        if (r < 0)
          return r;
        if (fchmod (fd, perm) < 0 || futimens (fd, times) < 0)
          return sp_error_make (err, errno, "%s", path);
        u->n_files++;
        return 0;
      }

    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        if (target == NULL)
          return sp_error_make (err, 0, "%s: symlink without a target", path);
        if (clear_slot (u, pfd, base, false, err, path) < 0)
          return -1;
        if (symlinkat (target, pfd, base) < 0)
          return sp_error_make (err, errno, "%s", path);
        utimensat (pfd, base, times, AT_SYMLINK_NOFOLLOW);
        u->n_symlinks++;
        return 0;
      }

    default:
      /* device nodes, fifos, sockets: a rootless user cannot make them; the runtime binds /dev */
      u->n_skipped++;
      return 0;
    }
}
