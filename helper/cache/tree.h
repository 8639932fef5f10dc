/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tree.h: removing and measuring directory trees fd-relatively, never following a
 * symlink. Apart from the import stack, so that `sprout` links it alone. */
#ifndef SPROUT_TREE_H
#define SPROUT_TREE_H

#include <stdint.h>

/* Remove name under dfd, recursively for a directory, never following symlinks;
 * directories are made writable first. ENOENT is success. 0 or -1 with errno. */
int sp_rmtree_at (int dfd, const char *name);

/* Disk usage (st_blocks) in bytes of everything under dfd, without following symlinks. */
uint64_t sp_du_at (int dfd);

#endif
