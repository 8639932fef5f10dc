/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mounts.h: mount targets inside a container root and the mounts made on them.
 * Every target is resolved below a root directory fd by lib/inroot.h (openat2
 * RESOLVE_IN_ROOT, or the walk that does the same where openat2 is missing), so that
 * a symlink planted in an image can never redirect a mount outside the root.
 * Mounts are made onto /proc/self/fd/N of the resolved target, never by name. */
#ifndef SPROUT_MOUNTS_H
#define SPROUT_MOUNTS_H

#include <stdbool.h>
#include "error.h"
#include "inroot.h" /* sp_open_in_root */

enum sp_target_kind {
  SP_TARGET_DIR,  /* a directory */
  SP_TARGET_FILE, /* anything but a directory; created as an empty regular file */
};

/* Open (O_PATH) the mount target PATH (absolute, inside the root) below ROOTFD.
 * When it is missing and CREATE is set, create it and any missing parents
 * (directories 0755, a file 0644); with REPLACE_LINK a symlink in the last place
 * is replaced by the new file (for /etc files an image links elsewhere). A symlink
 * on the way that points to a missing path is never created through.
 * Returns the fd, or -1 with *err set; errno is ENOENT when the target (or
 * something on its way) is missing and CREATE is not set. */
int sp_target_open (int rootfd, const char *path, enum sp_target_kind kind, bool create, bool replace_link,
                    sp_error_t *err);

/* mount(2) SRC (a path, or NULL) onto the object fd TARGETFD refers to. */
int sp_mount_on_fd (const char *src, int targetfd, const char *fstype, unsigned long flags, const char *data);

/* Bind the object SRCFD refers to onto the object TARGETFD refers to (recursive
 * when REC). */
int sp_bind_fd (int srcfd, int targetfd, bool rec);

/* Make the mount whose root MNTFD refers to read-only, nosuid and nodev (and all
 * mounts below it when REC), keeping the flags the kernel locks in a user
 * namespace. 0 or -1/errno. */
int sp_mount_set_ro (int mntfd, bool rec);

#endif
