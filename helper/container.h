/* container.h: the container runtime. Builds a rootless container (user + mount
 * namespace, host network/PID/IPC/UTS) around an image's root file system. */
#ifndef SPROUT_CONTAINER_H
#define SPROUT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "image.h"

struct sp_mount_spec {
  char *src;   /* host path, must exist */
  char *dst;   /* absolute path inside the container */
  bool ro;
};

struct sp_run_opts {
  struct sp_mount_spec *mounts;
  size_t n_mounts;
  const char *workdir;  /* --workdir, or NULL */
  char **env;           /* --env NAME=VALUE, NULL-terminated, or NULL */
  bool remap_root;
  bool writable;
  bool mount_home;
};

#endif
