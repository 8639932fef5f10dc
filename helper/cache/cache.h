/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cache.h: the cache's internals, shared by `sprout` (the warm path, listing, removal)
 * and the importer `sprout-import` (import.c: verify and unpack). Everything declared
 * here is libc only: sprout links no JSON library (json.h holds the importer's JSON).
 *
 * Cache layout, all under one directory owned by the user, mode 0700:
 *
 *   format                 the layout's version, "2"; another version is refused (a
 *                          later format must also change its records' first line, which
 *                          the warm path reads instead of this file)
 *   images/<hex>/          one entry per manifest digest (a docker-archive: config digest)
 *   images/<hex>/rootfs/   the unpacked root file system (the runtime binds it read-only)
 *   images/<hex>/record    the entry's record (record.h): digest, created, size, names
 *                          it was used under, the run config (env, entrypoint, cmd,
 *                          workdir, user). An entry without one is absent to sprout
 *                          (an old cache's meta.json: the importer converts it)
 *   images/<hex>/lock      flock: shared while a container uses the entry, exclusive by
 *                          rm and prune; its mtime is the entry's last use
 *   locks/<hex>            flock: exclusive while one process checks for and imports <hex>,
 *                          so N concurrent imports unpack once and the others reuse it
 *   tmp/<random>/          an import in progress (same layout as an entry, renamed into
 *                          images/ when complete) or an entry being removed; its 'lock'
 *                          is held exclusively by its owner. A tmp dir whose lock nobody
 *                          holds belonged to a killed process and is removed by the next run.
 *   refs/<16 hex>          the ref index (refs.c): what defines an image on disk -> entry
 *
 * The ref index maps what defines an image on disk to its entry: kind, absolute path
 * and tag, plus st_dev, st_ino, st_size, st_mtim and st_ctim of the file that defines
 * it (index.json of a layout; the archive itself; config.json of a bundle). Any change
 * to that file (even one that restores the mtime) changes st_ctim, so a stale record is
 * a miss, never a wrong image. Records are written by the importer once the entry is
 * in place, with the key taken before the image was read. A bundle's record holds its
 * run config itself (a bundle is used in place, never copied).
 *
 * The cache is refused if it is a symlink or owned by someone else. All access is
 * relative to the cache's directory fd, with O_NOFOLLOW on every name. */
#ifndef SPROUT_CACHE_H
#define SPROUT_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include "error.h"
#include "cache/image.h"
#include "cache/imageref.h"
#include "cache/store.h"

#define SP_CACHE_FORMAT "2" /* the layout above; 1 was meta.json and JSON ref records */
#define SP_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct sp_cache {
  int fd;     /* the cache directory */
  char *path; /* its absolute path */
  int images, tmp, locks;
};

/* ---- the directory (cachedir.c) ---- */

/* The cache directory's path as configured: cache_dir, else $SPROUT_CACHE_DIR, else
 * /var/tmp/sprout-<euid> (malloc'd; not resolved, not checked). */
char *sp_cache_path (const char *cache_dir);

/* Open (creating it 0700 if needed) the user's cache, refusing a symlink, a directory
 * someone else owns, or a format other than SP_CACHE_FORMAT (one with no format file
 * gets one). On failure, sp_cache_close is still needed. */
int sp_cache_open (const struct sp_store_opts *opts, struct sp_cache *s, sp_error_t *err);

/* The same without the format check, for the warm path: a cache of another format
 * holds no record this sprout accepts (records name their format in their first line),
 * so every lookup is a miss and the importer, which opens with the check, says so. */
int sp_cache_open_warm (const struct sp_store_opts *opts, struct sp_cache *s, sp_error_t *err);

/* Close what sp_cache_open opened; harmless twice. */
void sp_cache_close (struct sp_cache *s);

/* Remove tmp dirs whose owner died (their lock is free). Best effort. */
void sp_cache_tmp_cleanup (struct sp_cache *s, int verbose);

/* Create tmp/<prefix>XXXXXX holding a 'lock' file already locked exclusively. */
int sp_cache_tmpdir_create (struct sp_cache *s, const char *prefix, char **name, int *dirfd, int *lockfd,
                            sp_error_t *err);

/* Write text to dfd/name atomically (temporary file + rename). 0 or -1 with *err. */
int sp_cache_write_text (int dfd, const char *name, const char *text, sp_error_t *err);

/* "sha256:<64 lowercase hex>"? */
bool sp_cache_digest_valid (const char *s);

/* ---- entries (entry.c) ---- */

/* What an entry's record holds (the importer fills it for a new entry). */
struct sp_entry_info {
  const char *digest; /* "sha256:<hex>" */
  uint64_t size;      /* bytes on disk */
  time_t created;
  char *const *env; /* the image config's Env, Entrypoint, Cmd (NULL: none) */
  char *const *entrypoint;
  char *const *cmd;
  const char *workdir; /* WorkingDir and User, or NULL */
  const char *user;
  char *const *names; /* the names it was used under */
};

/* Write info as the record of the entry directory dfd. 0 or -1 with *err. */
int sp_cache_entry_write (int dfd, const struct sp_entry_info *info, sp_error_t *err);

/* If images/<hex> exists with its record, take a shared hold on it, record name (if
 * not NULL) among its names and fill img. 1 when used, 0 when there is no such entry
 * (or it has no record yet: an old cache's), -1 with *err (a damaged record). */
int sp_cache_entry_use (struct sp_cache *s, const char *hex, const char *name, bool have_lock, struct sp_image *img,
                        sp_error_t *err);

/* The hex names of the entries of the cache at (resolved) path cache that are the root
 * of a container of ours (inuse.c: a `run` holds no lock once its command runs).
 * NULL-terminated, malloc'd, possibly with repeats; empty when /proc cannot be read. */
char **sp_cache_mounted (const char *cache);

/* Whether entry hex of that cache is among them. */
bool sp_cache_entry_mounted (const char *cache, const char *hex);

/* ---- the ref index (refs.c) ---- */

/* What a user's IMAGE names on disk (imageref.h), as the ref index keys it. */
enum sp_refkind {
  SP_REF_OTHER,   /* not found or not recognised: the importer says what is wrong */
  SP_REF_LAYOUT,  /* a directory with index.json */
  SP_REF_ARCHIVE, /* a regular file: an oci-archive or a docker-archive */
  SP_REF_BUNDLE,  /* a directory with config.json */
  SP_REF_ROOTFS,  /* a directory with bin, usr, etc, sbin or lib */
};

struct sp_refkey {
  enum sp_refkind kind;
  char *path;     /* absolute, symlinks resolved */
  char *tag;      /* PATH:TAG's TAG, or NULL */
  char *name;     /* path[:tag], as the store records it among an entry's names */
  struct stat st; /* of index.json (layout), the archive, or config.json (bundle) */
};

/* Classify ref with the one parser (imageref.h). Never fails: kind is SP_REF_OTHER
 * when ref is anything else (including an error). */
void sp_refkey_get (const char *ref, struct sp_refkey *k);

/* Free what sp_refkey_get filled. */
void sp_refkey_free (struct sp_refkey *k);

/* The entry hex recorded for k (a layout or archive), or false. */
bool sp_cache_ref_lookup (struct sp_cache *s, const struct sp_refkey *k, char hex[65]);

/* Record k -> hex (best effort: a failure only costs a later importer run). */
void sp_cache_ref_record (struct sp_cache *s, const struct sp_refkey *k, const char *hex);

/* The run config recorded for bundle k, into img (ref, rootfs resolved now, env, cmd,
 * workdir): 1, 0 when there is no current record, -1 with *err (its root is gone). */
int sp_cache_ref_bundle_get (struct sp_cache *s, const struct sp_refkey *k, const char *ref, struct sp_image *img,
                             sp_error_t *err);

/* Record bundle k's run config: root (its root file system's path as config.json
 * names it, made absolute), env, cmd (process.args), workdir. Best effort. */
void sp_cache_ref_bundle_record (struct sp_cache *s, const struct sp_refkey *k, const char *root, char *const *env,
                                 char *const *cmd, const char *workdir);

/* ---- the importer, the real work behind sp_image_get on a miss (import.c) ---- */

/* The digest line the importer printed ("sha256:<hex>\n"), as hex into hex[65]. */
bool sp_importer_digest_line (const char *out, char hex[65]);

/* Resolve, verify and unpack ref into the cache under its per-digest lock, record its
 * ref key, fill img. A bundle's config is read and recorded in the ref index, a root
 * file system is used in place. */
int sp_image_import (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err);

/* The manifest digest ref resolves to (nothing unpacked); malloc'd, or NULL with *err. */
char *sp_image_resolve_digest (const char *ref, sp_error_t *err);

#endif
