/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci.h: the OCI image format (and Docker's v2 and `docker save` formats) read with
 * jansson: descriptors, indexes, manifests, image configs, media types, the choice
 * of a manifest by tag and platform. Every blob read here is verified against its
 * descriptor (size and sha256) before it is parsed. */
#ifndef SPROUT_OCI_H
#define SPROUT_OCI_H

#include <jansson.h>
#include <stdint.h>
#include "import/decompress.h"
#include "error.h"
#include "import/source.h"

#define SP_REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

struct sp_descriptor {
  char *media_type;          /* may be NULL (old layouts omit it) */
  char *digest;              /* "sha256:<hex>", validated */
  int64_t size;              /* >= 0 */
  char *ref_name;            /* annotations' org.opencontainers.image.ref.name, or NULL */
  char *arch, *os, *variant; /* platform, or NULL */
};

/* What the runtime needs from an image config (or a bundle's process section). */
struct sp_config {
  char **env;        /* NULL-terminated, never NULL */
  char **entrypoint; /* NULL-terminated, or NULL */
  char **cmd;        /* NULL-terminated, or NULL */
  char *workdir;     /* or NULL */
  char *user;        /* User, or NULL (recorded in the cache for later use) */
  char **diff_ids;   /* rootfs.diff_ids, NULL-terminated, never NULL */
};

struct sp_layer {
  char *member;     /* where the blob is inside the source */
  char *digest;     /* compressed digest, or NULL when unknown (docker-archive) */
  int64_t size;     /* compressed size, or -1 when unknown */
  char *media_type; /* or NULL */
  enum sp_compression comp;
};

struct sp_manifest {
  char *digest;     /* the cache key: manifest digest; config digest for a docker-archive */
  char *media_type; /* the manifest's media type ("docker-archive" for one) */
  char *config_digest;
  char *config_json; /* the verified config blob */
  struct sp_config config;
  size_t n_layers;
  struct sp_layer *layers;
};

/* Parse a descriptor object: digest (sha256 only) and size are required.
 * 0 or -1 with *err. */
int sp_descriptor_parse (json_t *j, struct sp_descriptor *d, sp_error_t *err);

/* Free a descriptor's strings; harmless on a zeroed one. */
void sp_descriptor_free (struct sp_descriptor *d);

/* The compression of a layer media type; -1 with *err for one that is not a layer type
 * sprout knows. */
int sp_layer_media_type (const char *media_type, enum sp_compression *comp, sp_error_t *err);

/* The OCI architecture name of this machine ("amd64", "arm64", ...). */
const char *sp_platform_arch (void);

/* Choose among n descriptors of an index: by tag (ref.name equal to tag, or ending in
 * ":tag"), else the only one, else "latest", and among what remains the one for
 * arch/os. Returns its position, or -1 with *err saying what was there. */
int sp_index_select (const struct sp_descriptor *ds, size_t n, const char *tag, const char *arch, const char *os,
                     sp_error_t *err);

/* Parse an image config (Env, Entrypoint, Cmd, WorkingDir, rootfs.diff_ids). */
int sp_config_parse (const char *json, size_t len, struct sp_config *c, sp_error_t *err);

/* Free a config's contents; harmless on a zeroed one. */
void sp_config_free (struct sp_config *c);

/* Resolve a layout, oci-archive or docker-archive source to one verified manifest and
 * config. 0 or -1 with *err naming the source and the blob. */
int sp_manifest_resolve (struct sp_source *src, struct sp_manifest *m, sp_error_t *err);

/* Free a manifest's contents; harmless on a zeroed one. */
void sp_manifest_free (struct sp_manifest *m);

#endif
