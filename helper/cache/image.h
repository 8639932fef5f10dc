/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image.h: a resolved image, as the runtime needs it.
 * Filled by the store (store.h), used by the runtime (container.h). */
#ifndef SPROUT_IMAGE_H
#define SPROUT_IMAGE_H

struct sp_image {
  char *ref;         /* the image as the user gave it */
  char *digest;      /* "sha256:<hex>" of the manifest; NULL for a bundle or a plain directory */
  char *rootfs;      /* absolute path of the root file system (cache entry or in place) */
  char **env;        /* NULL-terminated "NAME=VALUE" list from the config's Env; never NULL */
  char **entrypoint; /* NULL-terminated, or NULL when the config has none */
  char **cmd;        /* NULL-terminated, or NULL when the config has none */
  char *workdir;     /* the config's WorkingDir, or NULL */
  int hold_fd;       /* shared lock on the cache entry while in use (so prune skips it), or -1 */
};

#endif
