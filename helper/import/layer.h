/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layer.h: applying image layers to a root file system, rootless and escape-proof.
 *
 * Every entry's path is cleaned lexically (sp_clean_path) and its directory resolved
 * under the root's directory fd by lib/inroot.h (openat2 RESOLVE_IN_ROOT, or the walk
 * that treats symlinks and ".." the same way where openat2 is missing or refused).
 * The last component is always created, replaced or removed by name under its
 * parent's fd and never followed. So absolute paths, "..", and symlinks planted by
 * earlier entries (etc -> /, a -> ../../.., a symlink named ".") all stay inside.
 *
 * Entries: regular files (sparse holes kept), directories, symlinks (recreated
 * verbatim, never followed), hard links (only to files already inside the root),
 * whiteouts (.wh.NAME) and opaque directories (.wh..wh..opq, which spares entries
 * of the same layer). Device nodes, fifos and sockets are skipped and counted.
 * Modes (setuid/setgid bits included: the files belong to the user, so the bits
 * give nobody more than the user has) and mtimes are kept; owners become the user.
 * Directories stay u+rwx while layers are applied and get their final modes and
 * mtimes in sp_unpack_finish. Extended attributes are not applied.
 *
 * The code: layer.c (this API, the loop over a layer's entries, final directory modes),
 * pipeline.c (blob -> digest -> decoder -> digest -> tar reader), apply.c (one entry:
 * files, directories, symlinks, hard links, whiteouts), pool.c (writer threads for
 * small files), pathset.c (the sets of paths they keep). */
#ifndef SPROUT_LAYER_H
#define SPROUT_LAYER_H

#include <stdint.h>
#include <sys/types.h>
#include "error.h"

struct sp_dirmode;
struct sp_layer;
struct sp_pathset;
struct sp_pdir;
struct sp_pool;
struct sp_reader;

struct sp_unpack {
  int rootfd; /* the root file system being filled (not owned) */
  int verbose;
  void (*progress) (void *ctx, uint64_t bytes); /* called with compressed bytes read */
  void *progress_ctx;
  /* counters over all layers */
  uint64_t n_files, n_dirs, n_links, n_symlinks, n_whiteouts, n_skipped;
  /* private */
  struct sp_dirmode *dirs;
  size_t n_dirmodes, cap_dirmodes;
  struct sp_pathset *layer_paths;
  uint8_t *inbuf, *outbuf;
  char *cached_parent;
  int cached_parent_fd;
  struct sp_pdir *cached_pdir; /* owns cached_parent_fd, shared with queued files */
  struct sp_pool *pool;        /* writer threads for small files, or NULL */
};

/* Prepare to apply layers under rootfd. Small regular files are written by a few
 * threads (creating inodes is what costs most on a real file system): as many as there
 * are CPUs, at most 4; $SPROUT_UNPACK_THREADS overrides (1: everything in order in the
 * calling thread). Entries that touch a path still being written, and every removal,
 * wait for the writers first, so the result is the same as applying in order. */
void sp_unpack_init (struct sp_unpack *u, int rootfd);

/* Apply one layer read from r. The compressed stream is hashed and checked against
 * layer->digest and layer->size (when known), the uncompressed tar against diff_id.
 * what names the layer in errors. 0 or -1 with *err; on -1 the root is half-filled
 * and must be thrown away. */
int sp_layer_apply (struct sp_unpack *u, struct sp_reader *r, const struct sp_layer *layer, const char *diff_id,
                    const char *what, sp_error_t *err);

/* After the last layer: give directories their final modes and mtimes. */
int sp_unpack_finish (struct sp_unpack *u, sp_error_t *err);

/* Free what sp_unpack_init and the layers allocated. */
void sp_unpack_free (struct sp_unpack *u);

#endif
