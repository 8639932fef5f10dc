/* SPDX-License-Identifier: GPL-2.0-or-later */
/* container.h: the container runtime. Builds a rootless container (user + mount
 * namespace, host network/PID/IPC/UTS) around an image's root file system. */
#ifndef SPROUT_CONTAINER_H
#define SPROUT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "cache/image.h"

struct sp_mount_spec {
  char *src; /* host path, must exist */
  char *dst; /* absolute path inside the container */
  bool ro;
};

struct sp_run_opts {
  struct sp_mount_spec *mounts;
  size_t n_mounts;
  const char *workdir; /* --workdir, or NULL */
  char **env;          /* --env NAME=VALUE, NULL-terminated, or NULL */
  bool remap_root;
  bool writable;
  bool mount_home;
  const char *cache_dir; /* sprout's cache (user.h keeps NSS answers there), or NULL */
};

/* Build the container around IMG in the calling process, which must be single
 * threaded: unshare(CLONE_NEWUSER | CLONE_NEWNS), map the user to itself (or to 0
 * with remap_root), make the new root (the image bound read-only, or an overlay
 * with its upper directory on a tmpfs private to the namespace), mount /proc,
 * /sys, /dev, /tmp, /etc files, $HOME, the current directory and opts->mounts,
 * pivot_root into it and detach the host's tree. On success the process is inside
 * the container (cwd "/") and *cwd_out holds the working directory to use
 * (--workdir, else the caller's cwd when it is visible inside, else the image's
 * WorkingDir, else "/"). On failure the process may be half-way: it must exit. */
int sp_container_enter (const struct sp_image *img, const struct sp_run_opts *opts, char **cwd_out, sp_error_t *err);

/* execve FILE with ARGV and ENVP, searching the PATH of ENVP (a default when it has
 * none) when FILE has no slash. Returns only on failure: -1 with errno ENOENT when
 * the command is not found, another errno when it cannot be executed. */
int sp_container_exec (const char *file, char *const argv[], char *const envp[]);

#endif
