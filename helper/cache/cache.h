/* cache.h: the cache's internals, shared by `sprout` (store.c: the warm path, listing,
 * removal) and the importer `sprout-import` (import.c: verify and unpack). store.c
 * links nothing but jansson, so that a warm start stays cheap.
 *
 * The ref index (refs/<16 hex>) maps what defines an image on disk to its entry:
 * kind, absolute path and tag, plus st_dev, st_ino, st_size, st_mtim and st_ctim of the
 * file that defines it (index.json of a layout; the archive itself). Any change to
 * that file (even one that restores the mtime) changes st_ctim, so a stale record is
 * a miss, never a wrong image. Records are written by the importer once the entry is
 * in place, with the key taken before the image was read. */
#ifndef SPROUT_CACHE_H
#define SPROUT_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/stat.h>
#include "error.h"
#include "cache/image.h"
#include "cache/store.h"

struct sp_cache {
  int fd;           /* the cache directory */
  char *path;       /* its absolute path */
  int images, tmp, locks;
};

/* The cache directory's path as configured: cache_dir, else $SPROUT_CACHE_DIR, else
 * /var/tmp/sprout-<euid> (malloc'd; not resolved, not checked). */
char *sp_cache_path (const char *cache_dir);

/* Open (creating it 0700 if needed) the user's cache, refusing a symlink or a
 * directory someone else owns. On failure, sp_cache_close is still needed. */
int sp_cache_open (const struct sp_store_opts *opts, struct sp_cache *s, sp_error_t *err);

/* Close what sp_cache_open opened; harmless twice. */
void sp_cache_close (struct sp_cache *s);

/* Remove tmp dirs whose owner died (their lock is free). Best effort. */
void sp_cache_tmp_cleanup (struct sp_cache *s, int verbose);

/* Create tmp/<prefix>XXXXXX holding a 'lock' file already locked exclusively. */
int sp_cache_tmpdir_create (struct sp_cache *s, const char *prefix, char **name, int *dirfd, int *lockfd,
                            sp_error_t *err);

/* If images/<hex> exists, take a shared hold on it, record name (if not NULL) among
 * its names and fill img. 1 when used, 0 when there is no such entry, -1 with *err. */
int sp_cache_entry_use (struct sp_cache *s, const char *hex, const char *name, bool have_lock,
                        struct sp_image *img, sp_error_t *err);

/* The hex names of the entries of the cache at (resolved) path cache that are the root
 * of a container of ours (inuse.c: a `run` holds no lock once its command runs).
 * NULL-terminated, malloc'd, possibly with repeats; empty when /proc cannot be read. */
char **sp_cache_mounted (const char *cache);

/* Whether entry hex of that cache is among them. */
bool sp_cache_entry_mounted (const char *cache, const char *hex);

/* Write text to dfd/name atomically (temporary file + rename). 0 or -1 with *err. */
int sp_cache_write_text (int dfd, const char *name, const char *text, sp_error_t *err);

/* The same for j as JSON (indented, sorted keys, a final newline). */
int sp_cache_write_json (int dfd, const char *name, json_t *j, sp_error_t *err);

/* A JSON array of strings as a NULL-terminated vector; NULL for null/missing.
 * -1 with *err when it is not an array of strings. Also the importer's (oci.c). */
int sp_cache_json_strv (json_t *j, const char *what, char ***out, sp_error_t *err);

/* What a user's IMAGE names on disk, found with stat alone (no tar is read). */
enum sp_refkind {
  SP_REF_OTHER,    /* not found or not recognised: the importer says what is wrong */
  SP_REF_LAYOUT,   /* a directory with index.json */
  SP_REF_ARCHIVE,  /* a regular file: an oci-archive or a docker-archive */
  SP_REF_BUNDLE,   /* a directory with config.json */
  SP_REF_ROOTFS,   /* a directory with bin, usr, etc, sbin or lib */
};

struct sp_refkey {
  enum sp_refkind kind;
  char *path;      /* absolute, symlinks resolved */
  char *tag;       /* PATH:TAG's TAG, or NULL */
  char *name;      /* path[:tag], as the store records it among an entry's names */
  struct stat st;  /* of index.json (layout) or of the archive */
};

/* Classify ref like sp_source_open does, from stat alone. Never fails: kind is
 * SP_REF_OTHER when ref is anything else (including an error). */
void sp_refkey_get (const char *ref, struct sp_refkey *k);

/* Free what sp_refkey_get filled. */
void sp_refkey_free (struct sp_refkey *k);

/* The entry hex recorded for k (a layout or archive), or false. */
bool sp_cache_ref_lookup (struct sp_cache *s, const struct sp_refkey *k, char hex[65]);

/* Record k -> hex (best effort: a failure only costs a later importer run). */
void sp_cache_ref_record (struct sp_cache *s, const struct sp_refkey *k, const char *hex);

/* A bundle (config.json + root) or a plain root file system used in place. */
int sp_image_in_place (const char *ref, const char *path, bool bundle, struct sp_image *img, sp_error_t *err);

/* The importer (the real work behind sp_image_get on a miss): resolve, verify and
 * unpack ref into the cache under its per-digest lock, record its ref key, fill img. */
int sp_image_import (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err);

/* The manifest digest ref resolves to (nothing unpacked); malloc'd, or NULL with *err. */
char *sp_image_resolve_digest (const char *ref, sp_error_t *err);

#endif
