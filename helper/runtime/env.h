/* SPDX-License-Identifier: GPL-2.0-or-later */
/* env.h: the container's environment. The caller's environment, the image's Env
 * over it (so the image's PATH wins), then --env; the names of envrules.h (HOME,
 * USER, LOGNAME, TERM, SLURM_*, SLURMD_*, SPANK_*) always stay the caller's. */
#ifndef SPROUT_ENV_H
#define SPROUT_ENV_H

#include <stdbool.h>
#include "error.h"

/* Check one --env argument: NAME=VALUE with a valid NAME that is not one of the
 * caller's own (sp_env_is_host_owned). 0 or -1 with *err set. */
int sp_env_check_arg (const char *arg, sp_error_t *err);

/* The variables the container sets over the caller's: IMAGE_ENV, then OPT_ENV
 * (either may be NULL), without the caller's own names and without entries that
 * are not NAME=VALUE. A new NULL-terminated vector (strings copied). */
char **sp_env_overrides (char *const *image_env, char *const *opt_env);

/* A new environment: BASE with each of SETS applied (replacing a variable of the
 * same name, else appended), in order. Strings are copied. */
char **sp_env_apply (char *const *base, char *const *sets);

/* Value of NAME in the NULL-terminated ENV, or NULL. */
const char *sp_env_get (char *const *env, const char *name);

#endif
