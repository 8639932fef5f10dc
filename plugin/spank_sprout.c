/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spank_sprout.c: sprout.so's SPANK entry points, dispatched on the Slurm
 * context: local.c (srun, sbatch, salloc), remote.c (slurmstepd). slurmd and
 * the prolog/epilog only check plugstack.conf. */
#include "config.h"

#include <stdio.h>
#include <slurm/spank.h>

#include "sprout_spank.h"
#include "util.h"

/* built with -fvisibility=hidden: the symbols Slurm looks up must be visible */
#pragma GCC visibility push(default)
SPANK_PLUGIN (sprout, 1);
#pragma GCC visibility pop

/* plugstack.conf arguments, parsed once per process in slurm_spank_init. */
static struct sp_config config = {
  .remap_root = SP_UNSET,
  .writable = SP_UNSET,
  .mount_home = SP_UNSET,
};

SP_EXPORT int slurm_spank_init (spank_t sp, int ac, char **av);
SP_EXPORT int slurm_spank_init_post_opt (spank_t sp, int ac, char **av);
SP_EXPORT int slurm_spank_user_init (spank_t sp, int ac, char **av);
SP_EXPORT int slurm_spank_task_init (spank_t sp, int ac, char **av);
SP_EXPORT int slurm_spank_exit (spank_t sp, int ac, char **av);

/* One error line: on the terminal in srun/sbatch/salloc, in the log in the daemons. */
static void
report (spank_context_t ctx, sp_error_t err)
{
  if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR)
    {
      sp_error_print ("sprout", err);
      fflush (stderr);
    }
  else
    slurm_error ("sprout: error: %s", err != NULL && err->msg != NULL ? err->msg : "unknown error");
}

int
slurm_spank_init (spank_t sp, int ac, char **av)
{
  cleanup_error sp_error_t err = NULL;
  spank_context_t ctx = spank_context ();

  sp_config_clear (&config);
  if (sp_config_parse_args (&config, ac, av, &err) < 0)
    {
      report (ctx, err);
      return -1;
    }
  if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR || ctx == S_CTX_REMOTE)
    if (sp_options_register (sp, &err) < 0)
      {
        report (ctx, err);
        return -1;
      }
  if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR)
    return sp_local_init (sp, &config);
  return 0;
}

int
slurm_spank_init_post_opt (spank_t sp, int ac, char **av)
{
  spank_context_t ctx = spank_context ();

  if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR)
    return sp_local_post_opt (sp, &config);
  return 0;
}

int
slurm_spank_user_init (spank_t sp, int ac, char **av)
{
  if (spank_context () == S_CTX_REMOTE)
    return sp_remote_user_init (sp, &config);
  return 0;
}

int
slurm_spank_task_init (spank_t sp, int ac, char **av)
{
  if (spank_context () == S_CTX_REMOTE)
    return sp_remote_task_init (sp);
  return 0;
}

int
slurm_spank_exit (spank_t sp, int ac, char **av)
{
  spank_context_t ctx = spank_context ();

  if (ctx == S_CTX_REMOTE)
    sp_remote_exit (sp);
  else if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR)
    sp_local_exit ();
  sp_options_clear ();
  sp_config_clear (&config);
  return 0;
}
