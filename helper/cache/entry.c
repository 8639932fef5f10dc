/* SPDX-License-Identifier: GPL-2.0-or-later */
/* entry.c: a cache entry's record (cache.h, record.h): writing it, using an entry on
 * the warm path (a shared hold, its run config), recording the names it is used under. */
#include "config.h"
#include "cache/cache.h"
#include "cache/record.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_RECORD "record"

int
sp_cache_entry_write (int dfd, const struct sp_entry_info *info, sp_error_t *err)
{
  struct sp_record_writer w;
  cleanup_free char *text = NULL;

  sp_record_begin (&w);
  sp_record_add (&w, "digest", info->digest);
  sp_record_addf (&w, "created", "%lld", (long long) info->created);
  sp_record_addf (&w, "size", "%" PRIu64, info->size);
  sp_record_add_strv (&w, "env", info->env);
  sp_record_add_strv (&w, "entrypoint", info->entrypoint);
  sp_record_add_strv (&w, "cmd", info->cmd);
  sp_record_add (&w, "workdir", info->workdir);
  sp_record_add (&w, "user", info->user);
  sp_record_add_strv (&w, "name", info->names);
  text = sp_record_end (&w);
  return sp_cache_write_text (dfd, ENTRY_RECORD, text, err);
}

/* Add name to an entry's record (best effort, under the digest's import lock). */
static void
entry_add_name (struct sp_cache *s, const char *hex, const char *name, bool have_lock)
{
  cleanup_close int lfd = -1;
  cleanup_close int efd = openat (s->images, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *text = NULL;
  struct sp_record r;
  struct sp_record_writer w;
  sp_error_t err = NULL;

  if (efd < 0)
    return;
  if (!have_lock)
    {
      lfd = openat (s->locks, hex, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (lfd < 0 || flock (lfd, LOCK_EX | LOCK_NB) < 0)
        return;
    }
  if (sp_record_read_at (efd, ENTRY_RECORD, &r, &err) < 0)
    {
      sp_error_free (&err);
      return;
    }
  if (!sp_record_has (&r, "name", name))
    {
      sp_record_begin (&w);
      for (size_t i = 0; i < r.n; i++)
        sp_record_add (&w, r.fields[i].key, r.fields[i].value);
      sp_record_add (&w, "name", name);
      text = sp_record_end (&w);
      sp_cache_write_text (efd, ENTRY_RECORD, text, &err);
      sp_error_free (&err);
    }
  sp_record_free (&r);
}

/* The run config of a record into img; -1 with *err when the record is not an entry's. */
static int
image_from_record (const struct sp_record *r, const char *hex, struct sp_image *img, sp_error_t *err)
{
  const char *digest = sp_record_get (r, "digest"), *wd = sp_record_get (r, "workdir");

  if (digest == NULL || !sp_cache_digest_valid (digest) || strcmp (digest + 7, hex) != 0)
    return sp_error_make (err, 0, "%s: its digest is not sha256:%s", ENTRY_RECORD, hex);
  img->env = sp_record_strv (r, "env");
  if (img->env == NULL)
    img->env = xcalloc (1, sizeof (char *));
  img->entrypoint = sp_record_strv (r, "entrypoint");
  img->cmd = sp_record_strv (r, "cmd");
  if (wd != NULL && *wd != '\0')
    img->workdir = xstrdup (wd);
  return 0;
}

int
sp_cache_entry_use (struct sp_cache *s, const char *hex, const char *name, bool have_lock, struct sp_image *img,
                    sp_error_t *err)
{
  cleanup_free char *lockpath = xasprintf ("%s/lock", hex);
  cleanup_close int lfd = -1;
  cleanup_close int efd = -1;
  struct sp_record r;
  struct stat a, b;
  sp_error_t e2 = NULL;
  bool known;

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
  if (sp_record_read_at (efd, ENTRY_RECORD, &r, &e2) < 0)
    {
      /* no record: an entry of a format 1 cache, which the importer converts */
      if (e2 != NULL && e2->errnum == ENOENT)
        {
          sp_error_free (&e2);
          return 0;
        }
      sp_error_free (err);
      *err = steal_pointer (&e2);
      return sp_error_wrap (err, "cache %s/images/%s", s->path, hex);
    }
  if (image_from_record (&r, hex, img, err) < 0)
    {
      sp_record_free (&r);
      return sp_error_wrap (err, "cache %s/images/%s", s->path, hex);
    }
  known = name == NULL || sp_record_has (&r, "name", name);
  sp_record_free (&r);
  futimens (lfd, NULL); /* last use, for prune --older-than */
  if (!known)
    entry_add_name (s, hex, name, have_lock);
  img->digest = xasprintf ("sha256:%s", hex);
  img->rootfs = xasprintf ("%s/images/%s/rootfs", s->path, hex);
  img->hold_fd = steal_fd (&lfd);
  return 1;
}
