/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layer.c: see layer.h. One pass per layer: the pipeline (pipeline.c) feeds libarchive's
 * tar reader, each entry is applied (apply.c), small files are written by the pool
 * (pool.c); at the end directories get their final modes. */
#include "config.h"
#include "import/layer.h"
#include "import/apply.h"
#include "import/oci.h"
#include "import/pathset.h"
#include "import/pipeline.h"
#include "import/pool.h"
#include "inroot.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void
sp_unpack_init (struct sp_unpack *u, int rootfd)
{
  memset (u, 0, sizeof (*u));
  u->rootfd = rootfd;
  u->cached_parent_fd = -1;
  u->layer_paths = xcalloc (1, sizeof (*u->layer_paths));
  u->inbuf = xmalloc (SP_PIPELINE_BUF);
  u->outbuf = xmalloc (SP_PIPELINE_BUF);
  u->pool = sp_pool_new ();
}

void
sp_unpack_free (struct sp_unpack *u)
{
  sp_pool_free (u->pool);
  u->pool = NULL;
  sp_unpack_forget_parent (u);
  for (size_t i = 0; i < u->n_dirmodes; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  if (u->layer_paths != NULL)
    sp_pathset_clear (u->layer_paths);
  free (u->layer_paths);
  free (u->inbuf);
  free (u->outbuf);
  memset (u, 0, sizeof (*u));
  u->cached_parent_fd = -1;
}

int
sp_layer_apply (struct sp_unpack *u, struct sp_reader *r, const struct sp_layer *layer, const char *diff_id,
                const char *what, sp_error_t *err)
{
  struct sp_pipeline p;
  struct archive *a = NULL;
  struct archive_entry *e;
  uint64_t skipped_before = u->n_skipped;
  int ret = -1, ar;

  sp_pathset_clear (u->layer_paths);
  sp_unpack_forget_parent (u);
  if (sp_pipeline_init (&p, r, layer->comp, u->inbuf, u->outbuf, err) < 0)
    {
      sp_error_wrap (err, "%s", what);
      goto out;
    }
  p.progress = u->progress;
  p.progress_ctx = u->progress_ctx;
  a = archive_read_new ();
  if (a == NULL)
    {
      sp_error_make (err, ENOMEM, "%s", what);
      goto out;
    }
  archive_read_support_format_tar (a);
  if (archive_read_open (a, &p, NULL, sp_pipeline_read_cb, NULL) != ARCHIVE_OK)
    goto archive_failed;
  while ((ar = archive_read_next_header (a, &e)) != ARCHIVE_EOF)
    {
      int rr;
      if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
        {
          /* umoci insert writes layers that stop after the last entry's data, without
           * padding or end-of-archive blocks; the stream ended cleanly and the diff_id
           * check below still covers every byte, so that is the end */
          if (sp_pipeline_ended (&p))
            break;
          goto archive_failed;
        }
      rr = sp_entry_apply (u, a, e, err);
      if (rr == SP_APPLY_ARCHIVE)
        goto archive_failed;
      if (rr != SP_APPLY_OK)
        {
          sp_error_wrap (err, "%s", what);
          goto out;
        }
    }
  if (sp_pool_barrier (u->pool, err) < 0)
    {
      sp_error_wrap (err, "%s", what);
      goto out;
    }
  if (sp_pipeline_verify (&p, layer, diff_id, what, err) < 0)
    goto out;
  if (u->verbose > 0 && u->n_skipped > skipped_before)
    fprintf (stderr, "sprout: %s: skipped %llu device nodes, fifos or sockets\n", what,
             (unsigned long long) (u->n_skipped - skipped_before));
  ret = 0;
  goto out;

archive_failed:
  if (p.err != NULL)
    sp_error_make (err, 0, "%s: %s", what, p.err->msg);
  else
    sp_error_make (err, 0, "%s: corrupt tar: %s", what,
                   archive_error_string (a) ? archive_error_string (a) : "read error");
out:
  if (ret < 0 && u->pool != NULL)
    {
      sp_error_t ignored = NULL;
      sp_pool_barrier (u->pool, &ignored); /* nothing may still write once we return */
      sp_error_free (&ignored);
    }
  if (a != NULL)
    archive_read_free (a);
  sp_pipeline_free (&p);
  sp_unpack_forget_parent (u);
  sp_pathset_clear (u->layer_paths);
  return ret;
}

static int
cmp_dir_path (const void *a, const void *b)
{
  const struct sp_dirmode *x = a, *y = b;
  int c = strcmp (x->path, y->path);
  return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static size_t
depth_of (const char *p)
{
  size_t d = 0;
  for (; *p; p++)
    d += *p == '/';
  return d;
}

static int
cmp_dir_depth (const void *a, const void *b)
{
  size_t x = depth_of (((const struct sp_dirmode *) a)->path), y = depth_of (((const struct sp_dirmode *) b)->path);
  return x > y ? -1 : x < y;
}

int
sp_unpack_finish (struct sp_unpack *u, sp_error_t *err)
{
  size_t n = 0;

  sp_unpack_forget_parent (u);
  if (sp_pool_barrier (u->pool, err) < 0)
    return -1;
  if (u->n_dirmodes == 0)
    return 0;
  /* the last layer's word on each directory counts; deepest first, so that a parent
   * without u+x does not lock us out of its children */
  qsort (u->dirs, u->n_dirmodes, sizeof (*u->dirs), cmp_dir_path);
  for (size_t i = 0; i < u->n_dirmodes; i++)
    {
      if (i + 1 < u->n_dirmodes && strcmp (u->dirs[i].path, u->dirs[i + 1].path) == 0)
        {
          free (u->dirs[i].path);
          continue;
        }
      u->dirs[n++] = u->dirs[i];
    }
  u->n_dirmodes = n;
  qsort (u->dirs, u->n_dirmodes, sizeof (*u->dirs), cmp_dir_depth);
  for (size_t i = 0; i < u->n_dirmodes; i++)
    {
      cleanup_free char *parent = xstrdup (u->dirs[i].path);
      char *slash = strrchr (parent, '/');
      const char *base = slash ? u->dirs[i].path + (slash - parent) + 1 : u->dirs[i].path;
      cleanup_close int pfd = -1;
      cleanup_close int fd = -1;
      struct timespec times[2] = { u->dirs[i].mtime, u->dirs[i].mtime };

      if (slash)
        *slash = '\0';
      else
        parent[0] = '\0';
      pfd = sp_open_in_root (u->rootfd, parent, O_RDONLY | O_DIRECTORY);
      if (pfd < 0)
        continue; /* removed by a later layer */
      fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        continue; /* replaced by a file or a symlink later */
      if (fchmod (fd, u->dirs[i].mode) < 0 || futimens (fd, times) < 0)
        return sp_error_make (err, errno, "%s", u->dirs[i].path);
    }
  return 0;
}
