/* SPDX-License-Identifier: GPL-2.0-or-later */
/* local.c: the plugin inside srun, sbatch and salloc.
 *
 * Slurm's own --container is the image option. srun/sbatch/salloc copy it to
 * SLURM_CONTAINER only when that variable is not set yet, so inside a job that
 * already carries SLURM_CONTAINER=A, `srun --container=B` would still run A.
 * slurm_spank_init runs before option parsing: set the inherited value aside;
 * slurm_spank_init_post_opt runs after: put it back only if no image was given
 * (--container or SRUN_CONTAINER/SBATCH_CONTAINER/SALLOC_CONTAINER), and not
 * with --no-container, which runs this step on the host (sprout's options then
 * inherited from a #SBATCH line are ignored, not an error).
 *
 * --container-image=X (pyxis's spelling, registered where pyxis is not loaded) is made
 * what --container=X is, after parsing: SLURM_CONTAINER=X, which the job then carries
 * like Slurm's own. Slurm also passes the option on to the job's steps in the
 * environment (SLURM_SPANK_*); that copy is dropped in slurm_spank_init, as the image
 * inherited through SLURM_CONTAINER already stands for it, and a step's own
 * --container must be able to replace it.
 *
 * Without oci.conf, the image must then leave Slurm's own options: since 23.02
 * slurmstepd makes a step container record for any launch request that names
 * one, which breaks --mpi=pmix (its directories come from the record), logs
 * "No oci.conf file" on every node and kills a step whose working directory is
 * missing. srun, sbatch and salloc export their option set `opt`, and
 * libslurm's slurm_option_reset() clears one option: called here, after Slurm
 * has copied the image to SLURM_CONTAINER and before it builds the request. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/slurm_version.h>

#include "sprout_spank.h"
#include "util.h"

/* SLURM_CONTAINER as inherited from the environment, set aside until post_opt. */
static char *inherited_image;

static char *
local_getenv (void *ctx, const char *name)
{
  const char *v = getenv (name);
  (void) ctx;
  return v != NULL ? strdup (v) : NULL;
}

/* Slurm's environment copies of --container-image for a job's steps (both spellings of
 * the name: Slurm writes '-' as '_' in some versions). */
static const char *const image_alias_env[] = {
  "SLURM_SPANK__SLURM_SPANK_OPTION_sprout_container-image",
  "SLURM_SPANK__SLURM_SPANK_OPTION_sprout_container_image",
};

int
sp_local_init (spank_t sp, const struct sp_config *c)
{
  const char *v = getenv ("SLURM_CONTAINER");
  cleanup_error sp_error_t err = NULL;

  (void) sp;
  (void) c;
  for (size_t i = 0; i < sizeof (image_alias_env) / sizeof (image_alias_env[0]); i++)
    unsetenv (image_alias_env[i]);
  free (inherited_image);
  inherited_image = NULL;
  if (v == NULL)
    return 0;
  if ((inherited_image = strdup (v)) == NULL)
    {
      sp_error_make (&err, 0, "out of memory");
      sp_error_print ("sprout", err);
      return -1;
    }
  unsetenv ("SLURM_CONTAINER");
  return 0;
}

/* --container-image=X: SLURM_CONTAINER=X, unless --container gave another image. */
static int
apply_image_alias (const char *alias, const char *image, sp_error_t *err)
{
  if (image != NULL && *image != '\0' && strcmp (image, alias) != 0)
    return sp_error_make (err, 0, "--container-image=%s and --container=%s contradict each other", alias, image);
  if (setenv ("SLURM_CONTAINER", alias, 1) < 0)
    return sp_error_make (err, errno, "cannot set SLURM_CONTAINER");
  return 0;
}

/* Clear --container in the calling srun/sbatch/salloc's options, found at run
   time: the plugin still loads where a Slurm build lacks either symbol. */
static void
drop_slurm_container (const char *image)
{
  bool (*isset) (void *, const char *);
  bool (*reset) (void *, const char *);
  void *opt = dlsym (RTLD_DEFAULT, "opt");

  *(void **) &isset = dlsym (RTLD_DEFAULT, "slurm_option_isset");
  *(void **) &reset = dlsym (RTLD_DEFAULT, "slurm_option_reset");
  if (opt == NULL || isset == NULL || reset == NULL)
    {
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
      fprintf (stderr,
               "sprout: warning: this Slurm client exports no option set: the launch request keeps --container=%s, "
               "so Slurm makes a container record of its own (--mpi=pmix fails, nodes log 'No oci.conf file')\n",
               image);
#endif
      return;
    }
  if (isset (opt, "container"))
    reset (opt, "container");
}

int
sp_local_post_opt (spank_t sp, const struct sp_config *c)
{
  const struct sp_cli *o = sp_options_cli ();
  cleanup_free char *oci = NULL;
  struct sp_settings s;
  cleanup_error sp_error_t err = NULL;
  const char *image = getenv ("SLURM_CONTAINER");

  (void) sp;
  if (o->no_container)
    {
      /* the host step inside a containerized job: no image, the inherited one dropped */
      if ((image != NULL && *image != '\0') || o->container_image != NULL)
        {
          sp_error_make (&err, 0, "--no-container and --container=%s contradict each other",
                         image != NULL && *image != '\0' ? image : o->container_image);
          sp_error_print ("sprout", err);
          return -1;
        }
      unsetenv ("SLURM_CONTAINER");
      return 0;
    }
  if (o->container_image != NULL)
    {
      if (apply_image_alias (o->container_image, image, &err) < 0)
        {
          sp_error_print ("sprout", err);
          return -1;
        }
      image = getenv ("SLURM_CONTAINER");
    }
  if ((image == NULL || *image == '\0') && inherited_image != NULL)
    {
      if (setenv ("SLURM_CONTAINER", inherited_image, 1) < 0)
        {
          sp_error_make (&err, errno, "cannot restore SLURM_CONTAINER");
          sp_error_print ("sprout", err);
          return -1;
        }
      image = getenv ("SLURM_CONTAINER");
    }
  if (image != NULL && *image == '\0')
    image = NULL;

  if (image != NULL && (oci = sp_config_oci_conf ()) != NULL)
    {
      fprintf (stderr,
               "sprout: %s exists: Slurm's own OCI runtime runs --container=%s here; sprout stays out of the way\n",
               oci, image);
      return 0;
    }
  if (image == NULL)
    {
      if (o->first != NULL)
        {
          sp_error_make (&err, 0, "--%s needs an image: add --container=IMAGE", o->first);
          sp_error_print ("sprout", err);
          return -1;
        }
      return 0;
    }
  drop_slurm_container (image);
  /* check the options here, where the user sees the message, not only on the nodes */
  if (sp_settings_resolve (c, o, local_getenv, NULL, &s, &err) < 0)
    {
      sp_error_print ("sprout", err);
      return -1;
    }
  sp_settings_clear (&s);
  return 0;
}

void
sp_local_exit (void)
{
  free (inherited_image);
  inherited_image = NULL;
}
