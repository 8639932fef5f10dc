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
  char *helper;     /* helper= path of the sprout executable */
  char *cache_dir;  /* cache_dir= template, %u uid, %n node name; NULL: helper default */
  char *mounts;     /* mounts= SRC:DST[:ro|rw],... always added, before the user's */
  int remap_root;   /* remap_root=0|1 default, SP_UNSET: 0 */
  int writable;     /* writable=0|1 default, SP_UNSET: 0 */
  int mount_home;   /* mount_home=0|1 default, SP_UNSET: 1 */
};

/* The user's command-line options (SPANK option callbacks fill this). */
struct sp_cli {
  char *container;     /* only on a Slurm without its own --container */
  char *mounts;
  char *workdir;
  char *env;
  int remap_root;
  int writable;
  int mount_home;
  bool no_container;   /* --no-container: this step runs on the host (issue 6) */
  const char *first;   /* name of the first option given, for "needs an image" */
};

/* Everything one step's container is made with, after command line > SPROUT_*
 * environment > plugstack defaults. */
struct sp_settings {
  char **mounts;       /* NULL-terminated SRC:DST[:ro|rw], admin's first */
  char *workdir;       /* or NULL */
  char **keep_env;     /* NULL-terminated names whose host value wins */
  bool remap_root;
  bool writable;
  bool mount_home;
};

/* Looks NAME up in some environment; returns a malloc'd copy or NULL. */
typedef char *(*sp_getenv_fn) (void *ctx, const char *name);

/* config.c */

/* Parse plugstack.conf arguments into c (zeroed first); unknown keys and bad values fail. */
int sp_config_parse (struct sp_config *c, int ac, char **av, sp_error_t *err);

/* Free what sp_config_parse allocated and reset c. */
void sp_config_clear (struct sp_config *c);

/* Expand %u (uid), %n (node) and %% in tmpl; malloc'd result or NULL with err. */
char *sp_config_expand (const char *tmpl, uid_t uid, const char *node, sp_error_t *err);

/* Path of oci.conf next to slurm.conf ($SLURM_CONF's directory, else /etc/slurm)
 * if that file exists, else NULL; malloc'd. */
char *sp_config_oci_conf (void);

/* options.c */

/* Split a SRC:DST[:ro|rw],... list into a NULL-terminated vector, checking each entry
 * (SRC and DST non-empty, DST absolute, flag ro or rw). */
int sp_mounts_parse (const char *list, char ***out, sp_error_t *err);

/* Register sprout's options with Slurm (local, allocator and remote contexts). */
int sp_options_register (spank_t sp, sp_error_t *err);

/* The options given so far on the command line (or forwarded to slurmstepd). */
struct sp_cli *sp_options_cli (void);

/* Forget the options and free their values. */
void sp_options_clear (void);

/* Merge command line, SPROUT_* variables (looked up with getenv_fn) and config into s. */
int sp_settings_resolve (const struct sp_config *c, const struct sp_cli *o, sp_getenv_fn getenv_fn,
                         void *ctx, struct sp_settings *s, sp_error_t *err);

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
