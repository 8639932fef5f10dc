/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store.h: the image store. Resolves an image reference (OCI layout, oci-archive,
 * docker-archive, OCI bundle, plain directory), verifies and unpacks it into the
 * per-user node-local cache, and lists, removes and prunes cache entries. Implemented
 * in helper/cache/ (get.c, list.c, importer.c; cache.h for the internals). */
#ifndef SPROUT_STORE_H
#define SPROUT_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "error.h"
#include "cache/image.h"

struct sp_store_opts {
  const char *cache_dir; /* NULL: $SPROUT_CACHE_DIR, else /var/tmp/sprout-$UID */
  int verbose;           /* 0 quiet about details, 1+ more */
  bool progress;         /* draw a progress bar on stderr (caller checks isatty) */
};

/* Make sure the image named by ref is unpacked in the cache and fill *img. Relative
 * paths are taken against the current directory. A layout or archive whose ref
 * record (cache.h) names an entry, or a bundle whose ref record holds its config, is
 * used without reading the image; otherwise the importer (sprout-import) runs:
 * verified, atomic, one unpack per node under a lock (a bundle: its config.json read).
 * -1 with *err, or -1 with *err left NULL when the importer has already printed its
 * error line on stderr (the caller prints nothing more, and exits 125). */
int sp_image_get (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err);

/* Free what sp_image_get filled and drop its hold on the cache entry. */
void sp_image_release (struct sp_image *img);

/* One cache entry, as `sprout images` shows it. */
struct sp_store_entry {
  char *digest;  /* "sha256:<hex>" */
  char **names;  /* the names it was imported or used under, NULL-terminated */
  uint64_t size; /* bytes on disk */
  time_t created;
  time_t last_use;
  bool in_use; /* someone holds it (a running container) */
};

/* All entries of the cache, oldest use first. 0 or -1 with *err. */
int sp_store_list (const struct sp_store_opts *opts, struct sp_store_entry **entries, size_t *n, sp_error_t *err);

/* Free what sp_store_list returned. */
void sp_store_entries_free (struct sp_store_entry *entries, size_t n);

/* The digest of the cache entry arg names: a digest, a unique hex prefix of at least
 * 4 digits, a name recorded in the cache, or an image whose manifest is resolved.
 * *digest is malloc'd. 0, or -1 with *err (ENOENT when there is no such entry). */
int sp_store_find (const struct sp_store_opts *opts, const char *arg, char **digest, sp_error_t *err);

/* Remove the entry for digest. Refuses (EBUSY) while it is in use or being imported. */
int sp_store_remove (const struct sp_store_opts *opts, const char *digest, sp_error_t *err);

/* Path of the helper program name (sprout-import, sprout-slurm-client): next to this
 * executable first, else in $(libexecdir)/sprout. Malloc'd, or NULL with errno. */
char *sp_find_libexec (const char *name);

/* The importer's path: sprout-import next to this executable, else in
 * LIBEXECDIR/sprout. malloc'd, or NULL with *err. */
char *sp_importer_path (sp_error_t *err);

/* Run the importer's VERB on ARG (sprout-import [--cache-dir CACHE_PATH] VERB -- ARG),
 * its stdin /dev/null; with OUT, its stdout is read into *out (malloc'd), with
 * QUIET_ERRORS its stderr goes to /dev/null. 0 when it exits 0, else -1 with *err (left
 * NULL when the importer printed its own error). */
int sp_run_importer (const struct sp_store_opts *opts, const char *cache_path, const char *verb, const char *arg,
                     bool quiet_errors, char **out, sp_error_t *err);

/* Resolve ref without unpacking anything and describe it as JSON (digest, layers,
 * config); returns a malloc'd string or NULL with *err. In sprout-import only. */
char *sp_image_inspect (const struct sp_store_opts *opts, const char *ref, sp_error_t *err);

#endif
