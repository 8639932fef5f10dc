/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.h: privilege checks and dropping, shared by the helper and the plugin. */
#ifndef SPROUT_PRIVS_H
#define SPROUT_PRIVS_H

#include <stdbool.h>
#include "error.h"

/* Refuse to run with more privilege than the user has: fails if the running
 * binary (/proc/self/exe) is setuid, setgid or has file capabilities, or if
 * the real and effective ids differ. */
int sp_privs_verify_unprivileged (sp_error_t *err);

/* Just before exec inside a container: set PR_SET_NO_NEW_PRIVS and reduce the
 * capability sets (effective, permitted, inheritable, ambient) to nothing, or to the
 * OCI default set when keep_default_set (remap-root), which also cuts the bounding set
 * to it (as does uid 0 without it: the bounding set is then emptied). */
int sp_privs_drop_for_exec (bool keep_default_set, sp_error_t *err);

#endif
