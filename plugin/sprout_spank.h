/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sprout_spank.h: what the parts of the SPANK plugin share: the plugstack
 * configuration, the user's options, the settings resolved from both, and one
 * entry point per Slurm context (local.c, remote.c). */
#ifndef SPROUT_SPANK_H
#define SPROUT_SPANK_H

#include <stdbool.h>
#include <sys/types.h>
#include <slurm/spank.h>

#include "error.h"

/* An unset tri-state (options and plugstack booleans). */
#define SP_UNSET (-1)

/* plugstack.conf arguments: `required sprout.so helper=... cache_dir=...`. */
struct sp_config {
  char *helper;    /* helper= path of the sprout executable */
  char *cache_dir; /* cache_dir= template, %u uid, %n node name; NULL: helper default */
  char *mounts;    /* mounts= SRC:DST[:FLAGS],... always added, before the user's */
  int remap_root;  /* remap_root=0|1 default, SP_UNSET: 0 */
  int writable;    /* writable=0|1 default, SP_UNSET: 0 */
  int mount_home;  /* mount_home=0|1 default, SP_UNSET: 1 */
};

/* sprout's options, by the value Slurm hands back to the option callback. */
enum sp_opt {
  SP_OPT_CONTAINER = 1, /* --container, only on a Slurm without its own */
  SP_OPT_MOUNTS,
  SP_OPT_WORKDIR,
  SP_OPT_REMAP_ROOT,
  SP_OPT_NO_REMAP_ROOT, /* pyxis's spelling of remap_root=0 */
  SP_OPT_WRITABLE,
  SP_OPT_READONLY,
  SP_OPT_ENV,
  SP_OPT_MOUNT_HOME,
  SP_OPT_NO_MOUNT_HOME,
  SP_OPT_NO_CONTAINER,
  SP_OPT_CONTAINER_IMAGE, /* pyxis's --container-image, where pyxis is not loaded */
};

/* The user's command-line options (SPANK option callbacks fill this). */
struct sp_cli {
  char *container;       /* only on a Slurm without its own --container */
  char *container_image; /* --container-image: local.c makes it SLURM_CONTAINER */
  char *mounts;
  char *workdir;
  char *env;
  int remap_root;
  int writable;
  int mount_home;
  bool no_container; /* --no-container: this step runs on the host */
  const char *first; /* name of the first option given, for "needs an image" */
};

/* Everything one step's container is made with, after command line > SPROUT_*
 * environment > plugstack defaults. */
struct sp_settings {
  char **mounts;   /* NULL-terminated SRC:DST[:ro], the helper's form, admin's first */
  char *workdir;   /* or NULL */
  char **keep_env; /* NULL-terminated names whose host value wins */
  bool remap_root;
  bool writable;
  bool mount_home;
};

/* Looks NAME up in some environment; returns a malloc'd copy or NULL. */
typedef char *(*sp_getenv_fn) (void *ctx, const char *name);

/* config.c */

/* Parse plugstack.conf arguments into c (zeroed first); unknown keys and bad values fail. */
int sp_config_parse_args (struct sp_config *c, int ac, char **av, sp_error_t *err);

/* Free what sp_config_parse_args allocated and reset c. */
void sp_config_clear (struct sp_config *c);

/* Expand %u (uid), %n (node) and %% in tmpl; malloc'd result or NULL with err. */
char *sp_config_expand (const char *tmpl, uid_t uid, const char *node, sp_error_t *err);

/* Path of oci.conf next to slurm.conf ($SLURM_CONF's directory, else /etc/slurm)
 * if that file exists, else NULL; malloc'd. */
char *sp_config_oci_conf (void);

/* settings.c: no Slurm call, tested by tests/unit/test_plugin */

/* Record option OPT (enum sp_opt) with its argument ARG (NULL for a flag) in *O; NAME,
 * the option's name, is kept as O->first for "needs an image" when it is the first
 * sprout option. Values are checked later, by sp_settings_resolve. 0, or -1 with err
 * (unknown OPT, out of memory). */
int sp_cli_apply (struct sp_cli *o, int opt, const char *name, const char *arg, sp_error_t *err);

/* Free what sp_cli_apply allocated and reset *O to no option given. */
void sp_cli_clear (struct sp_cli *o);

/* Check one mount SRC:DST[:FLAGS] and write it in the helper's form, SRC:DST or
 * SRC:DST:ro, into *OUT (malloc'd). FLAGS: ro or rw, or pyxis's +-joined list of ro, rw,
 * bind, rbind, private, rprivate, slave, rslave (binds are always recursive slaves of
 * the host's mounts; the others say so); shared and unknown flags are refused. */
int sp_mount_spec_parse (const char *spec, char **out, sp_error_t *err);

/* Split a SRC:DST[:FLAGS],... list into a NULL-terminated vector in the helper's form,
 * each entry as sp_mount_spec_parse makes it. */
int sp_mounts_parse (const char *list, char ***out, sp_error_t *err);

/* options.c */

/* Register sprout's options with Slurm (local, allocator and remote contexts);
 * --container-image only where pyxis is not loaded. */
int sp_options_register (spank_t sp, sp_error_t *err);

/* True when a plugin named pyxis is loaded in this process. */
bool sp_options_pyxis_loaded (void);

/* The options given so far on the command line (or forwarded to slurmstepd). */
struct sp_cli *sp_options_cli (void);

/* Forget the options and free their values. */
void sp_options_clear (void);

/* settings.c */

/* Merge command line, SPROUT_* variables (looked up with getenv_fn) and config into s. */
int sp_settings_resolve (const struct sp_config *c, const struct sp_cli *o, sp_getenv_fn getenv_fn, void *ctx,
                         struct sp_settings *s, sp_error_t *err);

/* Free what sp_settings_resolve allocated and reset s. */
void sp_settings_clear (struct sp_settings *s);

/* True if name is one of s->keep_env. */
bool sp_settings_keeps_env (const struct sp_settings *s, const char *name);

/* local.c: srun, sbatch, salloc */

/* slurm_spank_init, before Slurm parses options: set aside an inherited SLURM_CONTAINER. */
int sp_local_init (spank_t sp, const struct sp_config *c);

/* slurm_spank_init_post_opt: restore the inherited image unless the user gave one,
 * then check the options; an error here stops srun/sbatch/salloc. */
int sp_local_post_opt (spank_t sp, const struct sp_config *c);

/* slurm_spank_exit in srun, sbatch, salloc. */
void sp_local_exit (void);

/* remote.c: slurmstepd */

/* slurm_spank_user_init: start the helper for this step on this node. */
int sp_remote_user_init (spank_t sp, const struct sp_config *c);

/* slurm_spank_task_init: move the task into the step's container. */
int sp_remote_task_init (spank_t sp);

/* slurm_spank_exit in slurmstepd: end the helper; nothing of the step remains. */
void sp_remote_exit (spank_t sp);

#endif
