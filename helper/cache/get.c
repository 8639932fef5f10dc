/* SPDX-License-Identifier: GPL-2.0-or-later */
/* get.c: the warm path (store.h's sp_image_get): a layout or archive through the ref
 * index to its entry, a bundle through its record in the ref index, a root file system
 * in place; on a miss, the importer. Nothing here reads JSON. */
#include "config.h"
#include "cache/cache.h"
#include "cache/store.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A plain root file system, used in place with a default PATH. */
static void
rootfs_in_place (const char *ref, const char *path, struct sp_image *img)
{
  img->ref = xstrdup (ref);
  img->rootfs = xstrdup (path);
  img->env = xcalloc (2, sizeof (char *));
  img->env[0] = xstrdup (SP_DEFAULT_PATH);
}

/* A bundle: its record in the ref index, written by the importer on a miss (it reads
 * config.json) and used as long as config.json is unchanged. */
static int
bundle_get (const struct sp_store_opts *opts, struct sp_cache *s, const struct sp_refkey *key, const char *ref,
            struct sp_image *img, sp_error_t *err)
{
  for (int tries = 0; tries < 3; tries++)
    {
      int r = sp_cache_ref_bundle_get (s, key, ref, img, err);
      if (r != 0)
        return r > 0 ? 0 : -1;
      r = sp_run_importer (opts, s->path, "bundle", ref, false, NULL, err);
      if (r != 0)
        return -1; /* *err, or NULL when it printed its error itself */
    }
  return sp_error_make (err, 0, "%s: config.json keeps changing; the bundle's record cannot be kept", ref);
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
  if (key.kind == SP_REF_ROOTFS)
    {
      rootfs_in_place (ref, key.path, img);
      ret = 0;
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
  if (sp_cache_open_warm (opts, &s, err) < 0)
    goto out;
  if (key.kind == SP_REF_BUNDLE)
    {
      ret = bundle_get (opts, &s, &key, ref, img, err);
      goto out;
    }
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
        goto out; /* it printed its error; *err stays NULL */
      if (!sp_importer_digest_line (digest_out, hex))
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
      sp_image_release (img); /* removed (rm, prune) before we took our hold: again */
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
