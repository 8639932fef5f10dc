/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import.c: the importer's half of the store (see cache.h): resolve an image with
 * its manifest, verify and unpack it into the cache, inspect it. Linked into
 * `sprout-import` only, with libarchive, libcrypto and the decompressors. */
#include "config.h"
#include "cache/cache.h"
#include "cache/json.h"
#include "import/digest.h"
#include "import/layer.h"
#include "cache/tree.h"
#include "import/oci.h"
#include "import/progress.h"
#include "import/source.h"
#include "cache/store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

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
import_entry (struct sp_cache *s, const struct sp_store_opts *opts, struct sp_source *src, struct sp_manifest *m,
              const char *hex, sp_error_t *err)
{
  cleanup_free char *tmpname = NULL;
  cleanup_close int tfd = -1;
  cleanup_close int lfd = -1;
  cleanup_close int rootfd = -1;
  struct sp_unpack u;
  struct sp_progress prog;
  uint64_t total = 0;
  struct sp_entry_info info = { 0 };
  char *names[2] = { src->name, NULL };
  int ret = -1;

  if (sp_cache_tmpdir_create (s, "import-", &tmpname, &tfd, &lfd, err) < 0)
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
    fprintf (stderr,
             "sprout: %s: %llu files, %llu directories, %llu symlinks, %llu hard links, "
             "%llu whiteouts, %llu device nodes/fifos skipped\n",
             src->ref, (unsigned long long) u.n_files, (unsigned long long) u.n_dirs, (unsigned long long) u.n_symlinks,
             (unsigned long long) u.n_links, (unsigned long long) u.n_whiteouts, (unsigned long long) u.n_skipped);
  sp_unpack_free (&u);
  fchmod (rootfd, 0755);
  info.digest = m->digest;
  info.size = sp_du_at (rootfd);
  info.created = time (NULL);
  info.env = m->config.env;
  info.entrypoint = m->config.entrypoint;
  info.cmd = m->config.cmd;
  info.workdir = m->config.workdir;
  info.user = m->config.user;
  info.names = names;
  if (sp_cache_entry_write (tfd, &info, err) < 0)
    {
      sp_error_wrap (err, "cache %s/tmp/%s", s->path, tmpname);
      goto fail;
    }
  if (renameat (s->tmp, tmpname, s->images, hex) < 0)
    {
      if (errno == ENOTEMPTY || errno == EEXIST)
        sp_error_make (err, 0,
                       "cache %s: entry sha256:%s is damaged (it has no lock file); "
                       "remove it with sprout rm",
                       s->path, hex);
      else
        sp_error_make (err, errno, "cache %s: publishing %s", s->path, hex);
      goto fail;
    }
  return 0;
fail:
  sp_rmtree_at (s->tmp, tmpname);
  return ret;
}

int
sp_image_import (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err)
{
  struct sp_source src;
  struct sp_manifest m = { 0 };
  struct sp_cache s = { .fd = -1, .images = -1, .tmp = -1, .locks = -1 };
  struct sp_refkey key;
  cleanup_close int lockfd = -1;
  const char *hex;
  int ret = -1, r;

  memset (img, 0, sizeof (*img));
  img->hold_fd = -1;
  /* the key is taken before the image is read: if it changes meanwhile, the record
   * names the old file and a later lookup misses */
  sp_refkey_get (ref, &key);
  if (sp_source_open (ref, &src, err) < 0)
    goto out;
  if (src.kind == SP_SRC_ROOTFS)
    {
      ret = sp_image_in_place (src.ref, src.path, false, img, NULL, err);
      goto out;
    }
  if (sp_cache_open (opts, &s, err) < 0)
    goto out;
  if (src.kind == SP_SRC_BUNDLE)
    {
      /* sprout reads no JSON: the bundle's run config goes into the ref index */
      cleanup_free char *root = NULL;
      ret = sp_image_in_place (src.ref, src.path, true, img, &root, err);
      if (ret == 0)
        sp_cache_ref_bundle_record (&s, &key, root, img->env, img->cmd, img->workdir);
      goto out;
    }
  sp_cache_tmp_cleanup (&s, opts ? opts->verbose : 0);
  if (sp_manifest_resolve (&src, &m, err) < 0)
    goto out;
  hex = sp_digest_hex (m.digest);
  img->ref = xstrdup (ref);
  r = sp_cache_entry_use (&s, hex, src.name, false, img, err);
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
  /* an entry of a format 1 cache (meta.json): converted, not imported again */
  if (sp_cache_entry_migrate (&s, hex, err) < 0)
    goto out;
  r = sp_cache_entry_use (&s, hex, src.name, true, img, err);
  if (r == 0)
    {
      if (import_entry (&s, opts, &src, &m, hex, err) < 0)
        goto out;
      r = sp_cache_entry_use (&s, hex, NULL, true, img, err);
      if (r == 0)
        sp_error_make (err, 0, "cache %s: entry %s vanished after import", s.path, hex);
    }
  ret = r > 0 ? 0 : -1;
out:
  if (ret == 0 && img->digest != NULL && (key.kind == SP_REF_LAYOUT || key.kind == SP_REF_ARCHIVE))
    sp_cache_ref_record (&s, &key, sp_digest_hex (img->digest));
  if (ret < 0)
    sp_image_release (img);
  sp_refkey_free (&key);
  sp_manifest_free (&m);
  sp_source_close (&src);
  sp_cache_close (&s);
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
      if (sp_image_in_place (src.ref, src.path, src.kind == SP_SRC_BUNDLE, &img, NULL, err) < 0)
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

char *
sp_image_resolve_digest (const char *ref, sp_error_t *err)
{
  struct sp_source src;
  struct sp_manifest m = { 0 };
  char *digest = NULL;

  if (sp_source_open (ref, &src, err) == 0)
    {
      if (src.kind == SP_SRC_BUNDLE || src.kind == SP_SRC_ROOTFS)
        sp_error_make (err, 0, "%s: a %s has no digest", ref, sp_source_kind_name (src.kind));
      else if (sp_manifest_resolve (&src, &m, err) == 0)
        {
          digest = xstrdup (m.digest);
          sp_manifest_free (&m);
        }
    }
  sp_source_close (&src);
  return digest;
}
