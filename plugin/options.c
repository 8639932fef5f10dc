/* SPDX-License-Identifier: GPL-2.0-or-later */
/* options.c: sprout's --container-* options as Slurm sees them: the SPANK option table,
 * its registration and callback. What an option means is in settings.c (no Slurm call
 * there, so it is tested without Slurm). */
#include "config.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <slurm/slurm_version.h>

#include "sprout_spank.h"
#include "util.h"

/* One process (srun, sbatch, one slurmstepd per step) holds one set of options. */
static struct sp_cli cli = {
  .remap_root = SP_UNSET,
  .writable = SP_UNSET,
  .mount_home = SP_UNSET,
};

static int option_cb (int val, const char *optarg, int remote);

static struct spank_option options[] = {
  { "container-mounts", "SRC:DST[:FLAGS],...",
    "[sprout] bind host paths into the container; FLAGS: ro, rw, or pyxis's ro+rprivate style (twin: "
    "SPROUT_CONTAINER_MOUNTS)",
    1, SP_OPT_MOUNTS, option_cb },
  { "container-workdir", "DIR", "[sprout] working directory inside the container (twin: SPROUT_CONTAINER_WORKDIR)", 1,
    SP_OPT_WORKDIR, option_cb },
  { "container-remap-root", NULL, "[sprout] be root (uid 0) inside the container (twin: SPROUT_CONTAINER_REMAP_ROOT=1)",
    0, SP_OPT_REMAP_ROOT, option_cb },
  { "no-container-remap-root", NULL, "[sprout] be yourself inside the container (twin: SPROUT_CONTAINER_REMAP_ROOT=0)",
    0, SP_OPT_NO_REMAP_ROOT, option_cb },
  { "container-writable", NULL,
    "[sprout] writable root file system, changes discarded at the end (twin: SPROUT_CONTAINER_WRITABLE=1)", 0,
    SP_OPT_WRITABLE, option_cb },
  { "container-readonly", NULL, "[sprout] read-only root file system (twin: SPROUT_CONTAINER_WRITABLE=0)", 0,
    SP_OPT_READONLY, option_cb },
  { "container-env", "NAME,...", "[sprout] these host variables win over the image's (twin: SPROUT_CONTAINER_ENV)", 1,
    SP_OPT_ENV, option_cb },
  { "container-mount-home", NULL, "[sprout] bind $HOME into the container (twin: SPROUT_CONTAINER_MOUNT_HOME=1)", 0,
    SP_OPT_MOUNT_HOME, option_cb },
  { "no-container-mount-home", NULL, "[sprout] do not bind $HOME (twin: SPROUT_CONTAINER_MOUNT_HOME=0)", 0,
    SP_OPT_NO_MOUNT_HOME, option_cb },
  /* inside a job started with --container, every step inherits the image; this one step
   * (or job) runs on the host instead (an explicit flag: "--container=none" could be an image) */
  { "no-container", NULL, "[sprout] run on the host although the job has a --container image", 0, SP_OPT_NO_CONTAINER,
    option_cb },
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(21, 8, 0)
  /* Slurm >= 21.08 has its own --container (a SPANK option of that name is dropped) */
  { "container", "IMAGE", "[sprout] run the step's tasks inside IMAGE (twin: SLURM_CONTAINER)", 1, SP_OPT_CONTAINER,
    option_cb },
#endif
};

/* pyxis's spelling of the image option; registered only where pyxis is not loaded. */
static struct spank_option image_alias = {
  "container-image",      "IMAGE",   "[sprout] the same as --container=IMAGE (pyxis's spelling)", 1,
  SP_OPT_CONTAINER_IMAGE, option_cb,
};

static const char *
option_name (int val)
{
  if (val == SP_OPT_CONTAINER_IMAGE)
    return image_alias.name;
  for (size_t i = 0; i < sizeof (options) / sizeof (options[0]); i++)
    if (options[i].val == val)
      return options[i].name;
  return NULL;
}

static int
option_cb (int val, const char *optarg, int remote)
{
  cleanup_error sp_error_t err = NULL;

  if (sp_cli_apply (&cli, val, option_name (val), optarg, &err) < 0)
    return -1;
  /* srun/sbatch pass SLURM_CONTAINER on to the job as Slurm's own option does */
  if (val == SP_OPT_CONTAINER && !remote && setenv ("SLURM_CONTAINER", optarg, 1) < 0)
    return -1;
  return 0;
}

/* dl_iterate_phdr's callback: stop (1) at a loaded object whose plugin_name is "pyxis"
 * (or, should its plugin_name not be exported, that is named spank_pyxis.so). */
static int
is_pyxis (struct dl_phdr_info *info, size_t size, void *data)
{
  void *h;
  const char *name, *base;
  int found = 0;

  (void) size;
  (void) data;
  if (info->dlpi_name == NULL || info->dlpi_name[0] != '/')
    return 0;
  base = strrchr (info->dlpi_name, '/') + 1;
  if (strcmp (base, "spank_pyxis.so") == 0)
    return 1;
  /* RTLD_NOLOAD: only a handle on what is already loaded, nothing opened or run */
  if ((h = dlopen (info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD)) == NULL)
    return 0;
  name = dlsym (h, "plugin_name");
  found = name != NULL && strcmp (name, "pyxis") == 0;
  dlclose (h);
  return found;
}

bool
sp_options_pyxis_loaded (void)
{
  /* Slurm loads every plugin of plugstack.conf before it calls any slurm_spank_init */
  return dl_iterate_phdr (is_pyxis, NULL) != 0;
}

int
sp_options_register (spank_t sp, sp_error_t *err)
{
  spank_err_t rc;

  for (size_t i = 0; i < sizeof (options) / sizeof (options[0]); i++)
    {
      rc = spank_option_register (sp, &options[i]);
      if (rc != ESPANK_SUCCESS)
        return sp_error_make (err, 0, "cannot register option --%s: %s", options[i].name, spank_strerror (rc));
    }
  /* Slurm keeps the first plugin's option of a name and disables a later one: registered
   * beside pyxis it could take --container-image from pyxis, which loads after us */
  if (sp_options_pyxis_loaded ())
    return 0;
  rc = spank_option_register (sp, &image_alias);
  if (rc != ESPANK_SUCCESS)
    return sp_error_make (err, 0, "cannot register option --%s: %s", image_alias.name, spank_strerror (rc));
  return 0;
}

struct sp_cli *
sp_options_cli (void)
{
  return &cli;
}

void
sp_options_clear (void)
{
  sp_cli_clear (&cli);
}
