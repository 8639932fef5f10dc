/* SPDX-License-Identifier: GPL-2.0-or-later */
/* list.c: the cache's entries as `sprout images`, `rm` and `prune` see them (store.h):
 * listing from their records, finding one by digest, name or image, removing one. */
#include "config.h"
#include "cache/cache.h"
#include "cache/record.h"
#include "cache/store.h"
#include "cache/tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
      struct sp_record r;
      bool have_record;
      cleanup_free char *digest = xasprintf ("sha256:%s", de->d_name);

      if (!sp_cache_digest_valid (digest))
        continue;
      efd = openat (s.images, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (efd < 0)
        continue;
      /* an entry without a readable record (an old cache's) shows with no names */
      have_record = sp_record_read_at (efd, "record", &r, &e2) == 0;
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
      if (have_record)
        {
          e->names = sp_record_strv (&r, "name");
          e->size = strtoull (sp_record_get (&r, "size") ? sp_record_get (&r, "size") : "0", NULL, 10);
          e->created = (time_t) strtoll (sp_record_get (&r, "created") ? sp_record_get (&r, "created") : "0", NULL, 10);
          sp_record_free (&r);
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
                 && sp_importer_digest_line (out, hex))
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
  const char *hex = sp_cache_digest_valid (digest) ? digest + 7 : NULL;
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
