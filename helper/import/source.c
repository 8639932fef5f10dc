/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.c: see source.h. Archives are read with libarchive; a member is found by
 * scanning the headers from the start (data is skipped with lseek), so nothing is
 * extracted to disk and only one member is open at a time. */
#include "config.h"
#include "import/source.h"
#include "inroot.h"
#include "cache/imageref.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ARCHIVE_BLOCK (1 << 20)
#define MAX_LINK_DEPTH 8

const char *
sp_source_kind_name (enum sp_source_kind kind)
{
  switch (kind)
    {
    case SP_SRC_LAYOUT:
      return "OCI image layout";
    case SP_SRC_OCI_ARCHIVE:
      return "oci-archive";
    case SP_SRC_DOCKER_ARCHIVE:
      return "docker-archive";
    case SP_SRC_BUNDLE:
      return "OCI runtime bundle";
    default:
      return "root file system directory";
    }
}

static struct archive *
archive_open_fd (int fd, sp_error_t *err, const char *path)
{
  struct archive *a;

  if (lseek (fd, 0, SEEK_SET) < 0)
    {
      sp_error_make (err, errno, "%s", path);
      return NULL;
    }
  a = archive_read_new ();
  if (a == NULL)
    {
      sp_error_make (err, ENOMEM, "%s", path);
      return NULL;
    }
  archive_read_support_format_tar (a);
  archive_read_support_filter_all (a);
  if (archive_read_open_fd (a, fd, ARCHIVE_BLOCK) != ARCHIVE_OK)
    {
      sp_error_make (err, 0, "%s: %s", path, archive_error_string (a) ? archive_error_string (a) : "cannot read");
      archive_read_free (a);
      return NULL;
    }
  return a;
}

/* Scan an archive's headers: sets *has_index / *has_manifest for the top-level files
 * that tell an oci-archive from a docker-archive. */
static int
classify_archive (struct sp_source *src, sp_error_t *err)
{
  struct archive *a = archive_open_fd (src->fd, err, src->ref);
  struct archive_entry *e;
  bool has_index = false, has_manifest = false;
  int r, n = 0;

  if (a == NULL)
    return sp_error_make (err, 0, "%s: not an image: not a directory and not a tar archive", src->ref);
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      cleanup_free char *name = xstrdup (archive_entry_pathname (e) ? archive_entry_pathname (e) : "");
      n++;
      if (sp_clean_member (name) < 0)
        continue;
      if (strcmp (name, "index.json") == 0)
        has_index = true;
      else if (strcmp (name, "manifest.json") == 0)
        has_manifest = true;
    }
  if (r != ARCHIVE_EOF)
    {
      if (n == 0)
        sp_error_make (err, 0, "%s: not an image: not a directory and not a tar archive", src->ref);
      else
        sp_error_make (err, 0, "%s: corrupt tar archive: %s", src->ref,
                       archive_error_string (a) ? archive_error_string (a) : "read error");
      archive_read_free (a);
      return -1;
    }
  archive_read_free (a);
  if (has_index)
    src->kind = SP_SRC_OCI_ARCHIVE;
  else if (has_manifest)
    src->kind = SP_SRC_DOCKER_ARCHIVE;
  else if (n == 0)
    return sp_error_make (err, 0, "%s: not an image: not a directory and not a tar archive", src->ref);
  else
    return sp_error_make (err, 0,
                          "%s: not an image: tar archive without index.json (oci-archive) "
                          "or manifest.json (docker-archive)",
                          src->ref);
  return 0;
}

int
sp_source_open (const char *ref, struct sp_source *src, sp_error_t *err)
{
  struct sp_imageref r;

  memset (src, 0, sizeof (*src));
  src->fd = -1;
  /* what IMAGE is, decided by the one parser the warm path uses too */
  if (sp_imageref_parse (ref, &r, err) < 0)
    return -1;
  src->ref = xstrdup (ref);
  src->path = steal_pointer (&r.path);
  src->tag = steal_pointer (&r.tag);
  src->name = steal_pointer (&r.name);
  src->fd = steal_fd (&r.fd);
  switch (r.kind)
    {
    case SP_IMAGEREF_LAYOUT:
      src->kind = SP_SRC_LAYOUT;
      break;
    case SP_IMAGEREF_BUNDLE:
      src->kind = SP_SRC_BUNDLE;
      break;
    case SP_IMAGEREF_ROOTFS:
      src->kind = SP_SRC_ROOTFS;
      break;
    case SP_IMAGEREF_ARCHIVE:
      {
        struct stat st;
        int fl;
        /* O_NONBLOCK: a fifo put in the archive's place must not hang us */
        src->fd = open (src->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (src->fd < 0 || fstat (src->fd, &st) < 0)
          {
            sp_imageref_free (&r);
            return sp_error_make (err, errno, "%s", ref);
          }
        if (!S_ISREG (st.st_mode) || st.st_dev != r.st.st_dev || st.st_ino != r.st.st_ino)
          {
            sp_imageref_free (&r);
            return sp_error_make (err, 0, "%s: replaced while it was being opened", ref);
          }
        fl = fcntl (src->fd, F_GETFL);
        if (fl >= 0)
          fcntl (src->fd, F_SETFL, fl & ~O_NONBLOCK);
        /* only the archive's contents tell an oci-archive from a docker-archive */
        if (classify_archive (src, err) < 0)
          {
            sp_imageref_free (&r);
            return -1;
          }
        break;
      }
    }
  sp_imageref_free (&r);
  return 0;
}

void
sp_source_close (struct sp_source *src)
{
  free (src->ref);
  free (src->path);
  free (src->tag);
  free (src->name);
  if (src->fd >= 0)
    close (src->fd);
  memset (src, 0, sizeof (*src));
  src->fd = -1;
}

/* Position a new archive reader at member, following hard links and symlinks that
 * stay inside the archive. */
static int
open_archive_member (struct sp_source *src, const char *member, int depth, struct sp_reader *r, sp_error_t *err)
{
  struct archive *a;
  struct archive_entry *e;
  int ret;

  if (depth > MAX_LINK_DEPTH)
    return sp_error_make (err, ELOOP, "%s: %s", src->ref, member);
  a = archive_open_fd (src->fd, err, src->ref);
  if (a == NULL)
    return -1;
  while ((ret = archive_read_next_header (a, &e)) == ARCHIVE_OK || ret == ARCHIVE_WARN)
    {
      cleanup_free char *name = xstrdup (archive_entry_pathname (e) ? archive_entry_pathname (e) : "");
      cleanup_free char *target = NULL;

      if (sp_clean_member (name) < 0 || strcmp (name, member) != 0)
        continue;
      if (archive_entry_hardlink (e) != NULL)
        target = xstrdup (archive_entry_hardlink (e));
      else if (archive_entry_filetype (e) == AE_IFLNK)
        {
          const char *slash = strrchr (name, '/');
          const char *lnk = archive_entry_symlink (e) ? archive_entry_symlink (e) : "";
          if (*lnk == '/')
            target = xstrdup (lnk);
          else
            target = xasprintf ("%.*s/%s", slash ? (int) (slash - name) : 0, name, lnk);
        }
      else if (archive_entry_filetype (e) == AE_IFREG)
        {
          r->fd = -1;
          r->ar = a;
          r->size = archive_entry_size (e);
          r->pos = 0;
          return 0;
        }
      else
        {
          archive_read_free (a);
          return sp_error_make (err, 0, "%s: %s: not a regular file", src->ref, member);
        }
      archive_read_free (a);
      if (sp_clean_member (target) < 0)
        return sp_error_make (err, 0, "%s: %s: link points outside the archive", src->ref, member);
      return open_archive_member (src, target, depth + 1, r, err);
    }
  if (ret != ARCHIVE_EOF)
    sp_error_make (err, 0, "%s: corrupt tar archive: %s", src->ref,
                   archive_error_string (a) ? archive_error_string (a) : "read error");
  else
    sp_error_make (err, ENOENT, "%s: %s", src->ref, member);
  archive_read_free (a);
  return -1;
}

int
sp_source_open_member (struct sp_source *src, const char *member, struct sp_reader *r, sp_error_t *err)
{
  cleanup_free char *m = xstrdup (member);
  struct stat st;

  memset (r, 0, sizeof (*r));
  r->fd = -1;
  if (sp_clean_member (m) < 0 || *m == '\0')
    return sp_error_make (err, 0, "%s: %s: invalid path", src->ref, member);
  if (src->kind == SP_SRC_OCI_ARCHIVE || src->kind == SP_SRC_DOCKER_ARCHIVE)
    return open_archive_member (src, m, 0, r, err);
  /* O_NONBLOCK: a fifo planted in a layout must not hang us; regular files ignore it */
  r->fd = openat (src->fd, m, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (r->fd < 0)
    return sp_error_make (err, errno, "%s: %s", src->ref, m);
  if (fstat (r->fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      sp_reader_close (r);
      return sp_error_make (err, 0, "%s: %s: not a regular file", src->ref, m);
    }
  r->size = st.st_size;
  posix_fadvise (r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return 0;
}

int
sp_source_has_member (struct sp_source *src, const char *member)
{
  struct sp_reader r;
  sp_error_t err = NULL;
  int ok = sp_source_open_member (src, member, &r, &err) == 0;

  sp_reader_close (&r);
  sp_error_free (&err);
  return ok;
}

ssize_t
sp_reader_read (struct sp_reader *r, void *buf, size_t len, sp_error_t *err)
{
  ssize_t n;

  if (r->ar != NULL)
    {
      n = archive_read_data (r->ar, buf, len);
      if (n < 0)
        return sp_error_make (err, 0, "%s",
                              archive_error_string (r->ar) ? archive_error_string (r->ar) : "archive read error");
    }
  else
    {
      do
        n = read (r->fd, buf, len);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return sp_error_make (err, errno, "read");
    }
  r->pos += n;
  return n;
}

void
sp_reader_close (struct sp_reader *r)
{
  if (r->ar != NULL)
    archive_read_free (r->ar);
  if (r->fd >= 0)
    close (r->fd);
  r->ar = NULL;
  r->fd = -1;
}

int
sp_source_read_member (struct sp_source *src, const char *member, size_t max, char **data, size_t *len, sp_error_t *err)
{
  struct sp_reader r;
  cleanup_free char *buf = NULL;
  size_t got = 0;

  *data = NULL;
  if (sp_source_open_member (src, member, &r, err) < 0)
    return -1;
  if (r.size < 0 || (uint64_t) r.size > max)
    {
      sp_reader_close (&r);
      return sp_error_make (err, 0, "%s: %s: too big (%lld bytes, at most %zu)", src->ref, member, (long long) r.size,
                            max);
    }
  buf = xmalloc ((size_t) r.size + 1);
  for (;;)
    {
      ssize_t n = sp_reader_read (&r, buf + got, (size_t) r.size + 1 - got, err);
      if (n < 0)
        {
          sp_reader_close (&r);
          return sp_error_wrap (err, "%s: %s", src->ref, member);
        }
      if (n == 0)
        break;
      got += (size_t) n;
      if (got > (size_t) r.size)
        {
          sp_reader_close (&r);
          return sp_error_make (err, 0, "%s: %s: grew while being read", src->ref, member);
        }
    }
  sp_reader_close (&r);
  buf[got] = '\0';
  *data = steal_pointer (&buf);
  if (len != NULL)
    *len = got;
  return 0;
}
