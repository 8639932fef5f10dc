/* SPDX-License-Identifier: GPL-2.0-or-later */
/* refs.c: the ref index (cache.h): what defines an image on disk -> its entry, and a
 * bundle's run config. A record (record.h) holds the whole key, compared field by
 * field; its file name is a hash of the key. */
#include "config.h"
#include "cache/cache.h"
#include "cache/imageref.h"
#include "cache/record.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
sp_refkey_get (const char *ref, struct sp_refkey *k)
{
  struct sp_imageref r;
  sp_error_t err = NULL;

  memset (k, 0, sizeof (*k));
  if (sp_imageref_parse (ref, &r, &err) < 0)
    {
      sp_error_free (&err); /* the importer names what is wrong */
      return;
    }
  switch (r.kind)
    {
    case SP_IMAGEREF_LAYOUT:
      k->kind = SP_REF_LAYOUT;
      break;
    case SP_IMAGEREF_ARCHIVE:
      k->kind = SP_REF_ARCHIVE;
      break;
    case SP_IMAGEREF_BUNDLE:
      k->kind = SP_REF_BUNDLE;
      break;
    case SP_IMAGEREF_ROOTFS:
      k->kind = SP_REF_ROOTFS;
      break;
    }
  k->path = steal_pointer (&r.path);
  k->tag = steal_pointer (&r.tag);
  k->name = steal_pointer (&r.name);
  k->st = r.st;
  sp_imageref_free (&r);
}

void
sp_refkey_free (struct sp_refkey *k)
{
  free (k->path);
  free (k->tag);
  free (k->name);
  memset (k, 0, sizeof (*k));
}

static const char *
kind_word (enum sp_refkind kind)
{
  switch (kind)
    {
    case SP_REF_LAYOUT:
      return "layout";
    case SP_REF_ARCHIVE:
      return "archive";
    case SP_REF_BUNDLE:
      return "bundle";
    default:
      return NULL;
    }
}

/* The key's file: the stat part as one field ("dev ino size mtime ctime"). */
static char *
stat_field (const struct stat *st)
{
  return xasprintf ("%llu %llu %lld %lld.%09ld %lld.%09ld", (unsigned long long) st->st_dev,
                    (unsigned long long) st->st_ino, (long long) st->st_size, (long long) st->st_mtim.tv_sec,
                    (long) st->st_mtim.tv_nsec, (long long) st->st_ctim.tv_sec, (long) st->st_ctim.tv_nsec);
}

/* refs/<16 hex of FNV-1a 64 over kind, path, tag and stat, each ended by a NUL (no
 * field holds one, so no two keys hash the same bytes)>. */
static void
refkey_file (const struct sp_refkey *k, const char *statf, char name[17])
{
  const char *parts[4] = { kind_word (k->kind), k->path, k->tag ? k->tag : "", statf };
  uint64_t h = 14695981039346656037ULL;

  for (size_t i = 0; i < 4; i++)
    {
      for (const unsigned char *p = (const unsigned char *) parts[i]; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
      h = (h ^ 0) * 1099511628211ULL;
    }
  snprintf (name, 17, "%016llx", (unsigned long long) h);
}

static int
refs_dir (struct sp_cache *s, bool create)
{
  if (create && mkdirat (s->fd, "refs", 0700) < 0 && errno != EEXIST)
    return -1;
  return openat (s->fd, "refs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static bool
same (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp (a, b) == 0);
}

/* Read k's record into r when it is there and its key is k's. */
static bool
ref_read (struct sp_cache *s, const struct sp_refkey *k, struct sp_record *r)
{
  cleanup_free char *statf = NULL;
  cleanup_close int rfd = -1;
  sp_error_t err = NULL;
  char name[17];

  if (kind_word (k->kind) == NULL)
    return false;
  rfd = refs_dir (s, false);
  if (rfd < 0)
    return false;
  statf = stat_field (&k->st);
  refkey_file (k, statf, name);
  /* a format 1 record (JSON) or a damaged one is refused: a miss, rewritten on import */
  if (sp_record_read_at (rfd, name, r, &err) < 0)
    {
      sp_error_free (&err);
      return false;
    }
  if (same (sp_record_get (r, "kind"), kind_word (k->kind)) && same (sp_record_get (r, "path"), k->path)
      && same (sp_record_get (r, "tag"), k->tag) && same (sp_record_get (r, "stat"), statf))
    return true;
  sp_record_free (r);
  return false;
}

/* The key's fields, first in every record. */
static void
ref_begin (struct sp_record_writer *w, const struct sp_refkey *k, const char *statf)
{
  sp_record_begin (w);
  sp_record_add (w, "kind", kind_word (k->kind));
  sp_record_add (w, "path", k->path);
  sp_record_add (w, "tag", k->tag);
  sp_record_add (w, "stat", statf);
}

static void
ref_write (struct sp_cache *s, const struct sp_refkey *k, const char *statf, struct sp_record_writer *w)
{
  cleanup_free char *text = sp_record_end (w);
  cleanup_close int rfd = refs_dir (s, true);
  sp_error_t err = NULL;
  char name[17];

  if (rfd < 0)
    return;
  refkey_file (k, statf, name);
  sp_cache_write_text (rfd, name, text, &err);
  sp_error_free (&err);
}

bool
sp_cache_ref_lookup (struct sp_cache *s, const struct sp_refkey *k, char hex[65])
{
  struct sp_record r;
  const char *digest;
  bool ok = false;

  if ((k->kind != SP_REF_LAYOUT && k->kind != SP_REF_ARCHIVE) || !ref_read (s, k, &r))
    return false;
  digest = sp_record_get (&r, "digest");
  if (sp_cache_digest_valid (digest))
    {
      memcpy (hex, digest + 7, 65);
      ok = true;
    }
  sp_record_free (&r);
  return ok;
}

void
sp_cache_ref_record (struct sp_cache *s, const struct sp_refkey *k, const char *hex)
{
  cleanup_free char *statf = NULL;
  struct sp_record_writer w;

  if ((k->kind != SP_REF_LAYOUT && k->kind != SP_REF_ARCHIVE) || hex == NULL)
    return;
  statf = stat_field (&k->st);
  ref_begin (&w, k, statf);
  sp_record_addf (&w, "digest", "sha256:%s", hex);
  ref_write (s, k, statf, &w);
}

int
sp_cache_ref_bundle_get (struct sp_cache *s, const struct sp_refkey *k, const char *ref, struct sp_image *img,
                         sp_error_t *err)
{
  struct sp_record r;
  const char *root, *wd;
  struct stat st;

  if (k->kind != SP_REF_BUNDLE || !ref_read (s, k, &r))
    return 0;
  root = sp_record_get (&r, "root");
  if (root == NULL)
    {
      sp_record_free (&r);
      return 0;
    }
  img->ref = xstrdup (ref);
  errno = 0;
  img->rootfs = realpath (root, NULL);
  if (img->rootfs == NULL || stat (img->rootfs, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      int e = errno ? errno : ENOTDIR;
      sp_error_make (err, e, "%s: bundle root file system %s", ref, root);
      sp_record_free (&r);
      return -1;
    }
  /* the importer recorded the environment as it will be (PATH added where none was) */
  img->env = sp_record_strv (&r, "env");
  if (img->env == NULL)
    img->env = xcalloc (1, sizeof (char *));
  img->cmd = sp_record_strv (&r, "cmd");
  wd = sp_record_get (&r, "workdir");
  if (wd != NULL && *wd != '\0')
    img->workdir = xstrdup (wd);
  sp_record_free (&r);
  return 1;
}

void
sp_cache_ref_bundle_record (struct sp_cache *s, const struct sp_refkey *k, const char *root, char *const *env,
                            char *const *cmd, const char *workdir)
{
  cleanup_free char *statf = NULL;
  struct sp_record_writer w;

  if (k->kind != SP_REF_BUNDLE || root == NULL)
    return;
  statf = stat_field (&k->st);
  ref_begin (&w, k, statf);
  sp_record_add (&w, "root", root);
  sp_record_add_strv (&w, "env", env);
  sp_record_add_strv (&w, "cmd", cmd);
  sp_record_add (&w, "workdir", workdir);
  ref_write (s, k, statf, &w);
}
