/* SPDX-License-Identifier: GPL-2.0-or-later */
/* imageref.h: the one parser of a user's IMAGE argument. Both the warm path (`sprout`,
 * refs.c) and the importer (import/source.c) classify an image with it, so the two
 * never disagree on what IMAGE is. libc only; it looks at the disk with stat and open,
 * never reads an archive (telling an oci-archive from a docker-archive is the
 * importer's, as it needs the tar read).
 *
 * Today every reference is a path, "PATH" or "PATH:TAG" (PATH as a whole first, so a
 * path that contains ':' works). Registry forms (docker://..., [USER@][REGISTRY#]REPO[:TAG])
 * would be recognised here first, before any stat, as kinds of their own. */
#ifndef SPROUT_IMAGEREF_H
#define SPROUT_IMAGEREF_H

#include <sys/stat.h>
#include "error.h"

enum sp_imageref_kind {
  SP_IMAGEREF_LAYOUT,  /* a directory with index.json */
  SP_IMAGEREF_ARCHIVE, /* a regular file: an oci-archive or a docker-archive */
  SP_IMAGEREF_BUNDLE,  /* a directory with config.json (an OCI runtime bundle) */
  SP_IMAGEREF_ROOTFS,  /* a directory with bin, usr, etc, sbin or lib */
};

struct sp_imageref {
  enum sp_imageref_kind kind;
  char *path;     /* absolute, symlinks resolved */
  char *tag;      /* PATH:TAG's TAG, or NULL */
  char *name;     /* path[:tag]: how the cache records it among an entry's names */
  int fd;         /* a directory's: path opened O_RDONLY | O_DIRECTORY; an archive: -1
                     (the importer opens it to read it, and checks it is still st) */
  struct stat st; /* of the file that defines the image: index.json (layout), the
                     archive itself, config.json (bundle); of the directory (rootfs) */
};

/* Classify ref. 0, or -1 with *err naming ref and what is wrong (empty, missing, not
 * an image, a tag on a bundle or root file system); r is then empty. */
int sp_imageref_parse (const char *ref, struct sp_imageref *r, sp_error_t *err);

/* Free what sp_imageref_parse filled (closing fd unless taken); harmless twice. */
void sp_imageref_free (struct sp_imageref *r);

/* The kind as words, for messages ("OCI image layout", ...). */
const char *sp_imageref_kind_name (enum sp_imageref_kind kind);

#endif
