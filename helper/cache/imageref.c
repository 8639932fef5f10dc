/* SPDX-License-Identifier: GPL-2.0-or-later */
/* imageref.c: the one parser of IMAGE (see imageref.h). */
#include "config.h"
#include "cache/imageref.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

const char *
sp_imageref_kind_name (enum sp_imageref_kind kind)
{
  switch (kind)
    {
    case SP_IMAGEREF_LAYOUT:
      return "OCI image layout";
    case SP_IMAGEREF_ARCHIVE:
      return "image archive";
    case SP_IMAGEREF_BUNDLE:
      return "OCI runtime bundle";
    default:
      return "root file system directory";
    }
}

void
sp_imageref_free (struct sp_imageref *r)
{
  free (r->path);
  free (r->tag);
  free (r->name);
  if (r->fd >= 0)
    close (r->fd);
  memset (r, 0, sizeof (*r));
  r->fd = -1;
}

static bool
dir_has (int dfd, const char *name, mode_t type, struct stat *st)
{
  return fstatat (dfd, name, st, 0) == 0 && (st->st_mode & S_IFMT) == type;
}

/* What a directory holds decides its kind. */
static int
classify_dir (const char *ref, struct sp_imageref *r, sp_error_t *err)
{
  static const char *const rootfs_marks[] = { "bin", "usr", "etc", "sbin", "lib" };

  if (dir_has (r->fd, "index.json", S_IFREG, &r->st))
    r->kind = SP_IMAGEREF_LAYOUT;
  else if (dir_has (r->fd, "config.json", S_IFREG, &r->st))
    r->kind = SP_IMAGEREF_BUNDLE;
  else
    {
      for (size_t i = 0; i < sizeof (rootfs_marks) / sizeof (rootfs_marks[0]); i++)
        if (faccessat (r->fd, rootfs_marks[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
          {
            r->kind = SP_IMAGEREF_ROOTFS;
            return fstat (r->fd, &r->st) < 0 ? sp_error_make (err, errno, "%s", ref) : 0;
          }
      return sp_error_make (err, 0,
                            "%s: not an image: directory has no index.json (OCI layout), "
                            "config.json (bundle) or bin, usr, etc (root file system)",
                            ref);
    }
  return 0;
}

/* Split ref into the path to open and its tag: PATH as a whole first. */
static int
split_ref (const char *ref, char **path, char **tag, sp_error_t *err)
{
  const char *colon;
  struct stat st;

  if (stat (ref, &st) == 0)
    {
      *path = xstrdup (ref);
      return 0;
    }
  if ((colon = strrchr (ref, ':')) != NULL && colon != ref && colon[1] != '\0' && strchr (colon + 1, '/') == NULL)
    {
      cleanup_free char *p = xstrndup (ref, (size_t) (colon - ref));
      if (stat (p, &st) < 0)
        return sp_error_make (err, errno, "%s", ref);
      *path = steal_pointer (&p);
      *tag = xstrdup (colon + 1);
      return 0;
    }
  return sp_error_make (err, errno, "%s", ref);
}

static int
parse (const char *ref, struct sp_imageref *r, sp_error_t *err)
{
  cleanup_free char *path = NULL;
  struct stat st;

  if (ref == NULL || *ref == '\0')
    return sp_error_make (err, 0, "image: empty name");
  if (split_ref (ref, &path, &r->tag, err) < 0)
    return -1;
  r->path = realpath (path, NULL);
  if (r->path == NULL)
    return sp_error_make (err, errno, "%s", ref);
  /* as few calls as the warm path can do with: a directory is opened (its files say
   * what it is), anything else only stat'ed */
  r->fd = openat (AT_FDCWD, r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY); /* musl: open() adds an fcntl */
  if (r->fd >= 0)
    {
      if (classify_dir (ref, r, err) < 0)
        return -1;
    }
  else if (errno != ENOTDIR)
    return sp_error_make (err, errno, "%s", ref);
  else if (stat (r->path, &st) < 0)
    return sp_error_make (err, errno, "%s", ref);
  else if (S_ISREG (st.st_mode))
    {
      r->kind = SP_IMAGEREF_ARCHIVE;
      r->st = st;
    }
  else
    return sp_error_make (err, 0, "%s: not an image: not a directory or a regular file", ref);
  if (r->tag != NULL && (r->kind == SP_IMAGEREF_BUNDLE || r->kind == SP_IMAGEREF_ROOTFS))
    return sp_error_make (err, 0, "%s: a %s has no tags", ref, sp_imageref_kind_name (r->kind));
  r->name = r->tag ? xasprintf ("%s:%s", r->path, r->tag) : xstrdup (r->path);
  return 0;
}

int
sp_imageref_parse (const char *ref, struct sp_imageref *r, sp_error_t *err)
{
  memset (r, 0, sizeof (*r));
  r->fd = -1;
  if (parse (ref, r, err) < 0)
    {
      sp_imageref_free (r);
      return -1;
    }
  return 0;
}
