/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.h: where an image comes from. Recognises the five kinds of image a user
 * may name (OCI layout directory, oci-archive tar, docker-archive tar, OCI runtime
 * bundle, plain root file system directory) and reads the files inside them as
 * streams, whether they are plain files in a directory or members of a tar. */
#ifndef SPROUT_SOURCE_H
#define SPROUT_SOURCE_H

#include <stdint.h>
#include <sys/types.h>
#include "error.h"

struct archive;

enum sp_source_kind {
  SP_SRC_LAYOUT,         /* OCI image layout directory */
  SP_SRC_OCI_ARCHIVE,    /* tar of an OCI image layout */
  SP_SRC_DOCKER_ARCHIVE, /* `docker save` tar: manifest.json, config, layer tars */
  SP_SRC_BUNDLE,         /* OCI runtime bundle: config.json + rootfs/ */
  SP_SRC_ROOTFS,         /* plain root file system directory */
};

struct sp_source {
  enum sp_source_kind kind;
  char *ref;  /* as the user gave it */
  char *path; /* absolute path of the directory or archive */
  char *tag;  /* PATH:TAG's TAG, or NULL */
  char *name; /* path[:tag], how the store records it */
  int fd;     /* the directory or the archive file, O_CLOEXEC */
};

/* A stream over one file of a source. */
struct sp_reader {
  int fd;             /* a file of a directory source, or -1 */
  struct archive *ar; /* positioned at a member of an archive source, or NULL */
  int64_t size;       /* the file's size */
  int64_t pos;        /* bytes read so far */
};

/* Find out what ref names: "PATH" or "PATH:TAG" (PATH is tried as a whole first, so
 * paths that contain ':' work). Relative paths are taken against the current
 * directory. 0, or -1 with *err naming ref. */
int sp_source_open (const char *ref, struct sp_source *src, sp_error_t *err);

/* Free what sp_source_open filled; harmless on a zeroed struct. */
void sp_source_close (struct sp_source *src);

/* A kind as words, for messages. */
const char *sp_source_kind_name (enum sp_source_kind kind);

/* Open the file at member (a relative path inside the layout or archive, e.g.
 * "blobs/sha256/<hex>") for streaming. Symlinks inside archives are followed
 * within the archive; nothing leaves the directory. 0 or -1 with *err. */
int sp_source_open_member (struct sp_source *src, const char *member, struct sp_reader *r, sp_error_t *err);

/* Read up to len bytes; returns the count (0 at the end) or -1 with *err. */
ssize_t sp_reader_read (struct sp_reader *r, void *buf, size_t len, sp_error_t *err);

/* Close a reader; harmless on a closed one. */
void sp_reader_close (struct sp_reader *r);

/* Read a whole member of at most max bytes into a NUL-terminated buffer.
 * 0 or -1 with *err (a bigger file is an error). */
int sp_source_read_member (struct sp_source *src, const char *member, size_t max, char **data, size_t *len,
                           sp_error_t *err);

/* Does the member exist (as a file)? */
int sp_source_has_member (struct sp_source *src, const char *member);

#endif
