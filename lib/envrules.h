/* SPDX-License-Identifier: GPL-2.0-or-later */
/* envrules.h: the environment rules the plugin and the helper share, kept once.
 *
 * A container's environment is the image's over the caller's; what stays the
 * caller's is named here, as is the PATH a container gets when nothing sets one. */
#ifndef SPROUT_ENVRULES_H
#define SPROUT_ENVRULES_H

#include <stdbool.h>

/* The PATH inside a container whose image and caller set none (the OCI runtime
 * spec's default, which runc and Docker use too). */
#define SP_CONTAINER_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The caller's own names, for messages: "HOME, USER, LOGNAME, TERM, SLURM_*, ...". */
extern const char sp_env_host_owned_names[];

/* True when the variable NAME (or a NAME=VALUE entry) always keeps the caller's value
 * and is never taken from the image nor set by sprout's options: the user's identity
 * (HOME, USER, LOGNAME), the terminal (TERM), and Slurm's description of the job and
 * step the command runs in (SLURM_*, SLURMD_*, SPANK_*), which an image cannot know. */
bool sp_env_is_host_owned (const char *name_or_entry);

#endif
