/* options.c: sprout's --container-* options, their SPROUT_* twins, and the
 * settings a step's container is made with. The command line wins over the
 * job's environment, which wins over plugstack.conf. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <slurm/slurm_version.h>

#include "sprout_spank.h"
#include "util.h"

enum {
  OPT_CONTAINER = 1,
  OPT_MOUNTS,
  OPT_WORKDIR,
  OPT_REMAP_ROOT,
  OPT_WRITABLE,
  OPT_READONLY,
  OPT_ENV,
  OPT_MOUNT_HOME,
  OPT_NO_MOUNT_HOME,
  OPT_NO_CONTAINER,
};

/* One process (srun, sbatch, one slurmstepd per step) holds one set of options. */
static struct sp_cli cli = {
  .remap_root = SP_UNSET, .writable = SP_UNSET, .mount_home = SP_UNSET,
};

static int option_cb (int val, const char *optarg, int remote);

static struct spank_option options[] = {
  { "container-mounts", "SRC:DST[:ro|rw],...",
    "[sprout] bind host paths into the container (twin: SPROUT_CONTAINER_MOUNTS)", 1, OPT_MOUNTS, option_cb },
  { "container-workdir", "DIR",
    "[sprout] working directory inside the container (twin: SPROUT_CONTAINER_WORKDIR)", 1, OPT_WORKDIR, option_cb },
  { "container-remap-root", NULL,
    "[sprout] be root (uid 0) inside the container (twin: SPROUT_CONTAINER_REMAP_ROOT=1)", 0, OPT_REMAP_ROOT, option_cb },
  { "container-writable", NULL,
    "[sprout] writable root file system, changes discarded at the end (twin: SPROUT_CONTAINER_WRITABLE=1)", 0, OPT_WRITABLE, option_cb },
  { "container-readonly", NULL,
    "[sprout] read-only root file system (twin: SPROUT_CONTAINER_WRITABLE=0)", 0, OPT_READONLY, option_cb },
  { "container-env", "NAME,...",
    "[sprout] these host variables win over the image's (twin: SPROUT_CONTAINER_ENV)", 1, OPT_ENV, option_cb },
  { "container-mount-home", NULL,
    "[sprout] bind $HOME into the container (twin: SPROUT_CONTAINER_MOUNT_HOME=1)", 0, OPT_MOUNT_HOME, option_cb },
  { "no-container-mount-home", NULL,
    "[sprout] do not bind $HOME (twin: SPROUT_CONTAINER_MOUNT_HOME=0)", 0, OPT_NO_MOUNT_HOME, option_cb },
  /* inside a job started with --container, every step inherits the image; this one step
   * (or job) runs on the host instead (an explicit flag: "--container=none" could be an image) */
  { "no-container", NULL,
    "[sprout] run on the host although the job has a --container image", 0, OPT_NO_CONTAINER, option_cb },
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM (21, 8, 0)
  /* Slurm >= 21.08 has its own --container (a SPANK option of that name is dropped) */
  { "container", "IMAGE",
    "[sprout] run the step's tasks inside IMAGE (twin: SLURM_CONTAINER)", 1, OPT_CONTAINER, option_cb },
#endif
};

static int
set_str (char **slot, const char *val)
{
  char *copy = strdup (val != NULL ? val : "");
  if (copy == NULL)
    return -1;
  free (*slot);
  *slot = copy;
  return 0;
}

static int
option_cb (int val, const char *optarg, int remote)
{
  const char *name = NULL;
  int r = 0;

  for (size_t i = 0; i < sizeof (options) / sizeof (options[0]); i++)
    if (options[i].val == val)
      name = options[i].name;
  switch (val)
    {
    case OPT_CONTAINER:
      r = set_str (&cli.container, optarg);
      /* srun/sbatch pass SLURM_CONTAINER on to the job as Slurm's own option does */
      if (r == 0 && !remote && setenv ("SLURM_CONTAINER", optarg, 1) < 0)
        r = -1;
      return r;
    case OPT_MOUNTS:
      r = set_str (&cli.mounts, optarg);
      break;
    case OPT_WORKDIR:
      r = set_str (&cli.workdir, optarg);
      break;
    case OPT_ENV:
      r = set_str (&cli.env, optarg);
      break;
    case OPT_REMAP_ROOT:
      cli.remap_root = 1;
      break;
    case OPT_WRITABLE:
      cli.writable = 1;
      break;
    case OPT_READONLY:
      cli.writable = 0;
      break;
    case OPT_MOUNT_HOME:
      cli.mount_home = 1;
      break;
    case OPT_NO_MOUNT_HOME:
      cli.mount_home = 0;
      break;
    case OPT_NO_CONTAINER:
      cli.no_container = true;
      return 0;
    default:
      return -1;
    }
  if (cli.first == NULL)
    cli.first = name;
  return r;
}

int
sp_options_register (spank_t sp, sp_error_t *err)
{
  for (size_t i = 0; i < sizeof (options) / sizeof (options[0]); i++)
    {
      spank_err_t rc = spank_option_register (sp, &options[i]);
      if (rc != ESPANK_SUCCESS)
        return sp_error_make (err, 0, "cannot register option --%s: %s", options[i].name, spank_strerror (rc));
    }
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
  free (cli.container);
  free (cli.mounts);
  free (cli.workdir);
  free (cli.env);
  memset (&cli, 0, sizeof (cli));
  cli.remap_root = cli.writable = cli.mount_home = SP_UNSET;
}

/* Append the comma-separated entries of list to *v (length *n), checking each with check. */
static int
split_append (const char *list, char ***v, size_t *n,
              int (*check) (const char *item, sp_error_t *err), sp_error_t *err)
{
  cleanup_free char *copy = strdup (list);
  char *save = NULL;

  if (copy == NULL)
    return sp_error_make (err, errno, "out of memory");
  for (char *tok = strtok_r (copy, ",", &save); tok != NULL; tok = strtok_r (NULL, ",", &save))
    {
      char **nv;

      if (check (tok, err) < 0)
        return -1;
      nv = realloc (*v, (*n + 2) * sizeof (char *));
      if (nv == NULL)
        return sp_error_make (err, errno, "out of memory");
      *v = nv;
      if ((nv[*n] = strdup (tok)) == NULL)
        return sp_error_make (err, errno, "out of memory");
      nv[++*n] = NULL;
    }
  return 0;
}

static int
check_mount (const char *m, sp_error_t *err)
{
  const char *c1 = strchr (m, ':'), *c2;

  if (c1 == NULL || c1 == m)
    return sp_error_make (err, 0, "'%s' is not SRC:DST[:ro|rw]", m);
  c2 = strchr (c1 + 1, ':');
  if (c1[1] != '/')
    return sp_error_make (err, 0, "'%s': the destination must be an absolute path", m);
  if (c2 != NULL && strcmp (c2, ":ro") != 0 && strcmp (c2, ":rw") != 0)
    return sp_error_make (err, 0, "'%s': the flag after DST must be ro or rw", m);
  return 0;
}

static int
check_env_name (const char *name, sp_error_t *err)
{
  if (!(isalpha ((unsigned char) name[0]) || name[0] == '_'))
    return sp_error_make (err, 0, "'%s' is not a variable name", name);
  for (const char *p = name; *p; p++)
    if (!(isalnum ((unsigned char) *p) || *p == '_'))
      return sp_error_make (err, 0, "'%s' is not a variable name", name);
  return 0;
}

int
sp_mounts_parse (const char *list, char ***out, sp_error_t *err)
{
  size_t n = 0;

  *out = NULL;
  if (split_append (list, out, &n, check_mount, err) < 0)
    {
      sp_strv_free (*out);
      *out = NULL;
      return -1;
    }
  return 0;
}

/* The value of a SPROUT_* boolean: 0/1, also no/yes and false/true. */
static int
env_bool (const char *name, const char *val, int *out, sp_error_t *err)
{
  if (strcmp (val, "1") == 0 || strcasecmp (val, "yes") == 0 || strcasecmp (val, "true") == 0)
    *out = 1;
  else if (strcmp (val, "0") == 0 || strcasecmp (val, "no") == 0 || strcasecmp (val, "false") == 0)
    *out = 0;
  else
    return sp_error_make (err, 0, "%s=%s: the value must be 0 or 1", name, val);
  return 0;
}

/* A boolean from the command line, else its SPROUT_* twin, else the config, else dflt. */
static int
resolve_bool (int cli_val, const char *var, sp_getenv_fn getenv_fn, void *ctx, int conf_val,
              bool dflt, bool *out, sp_error_t *err)
{
  cleanup_free char *ev = NULL;
  int v = cli_val;

  if (v == SP_UNSET && (ev = getenv_fn (ctx, var)) != NULL && *ev != '\0'
      && env_bool (var, ev, &v, err) < 0)
    return -1;
  if (v == SP_UNSET)
    v = conf_val;
  *out = v == SP_UNSET ? dflt : v == 1;
  return 0;
}

int
sp_settings_resolve (const struct sp_config *c, const struct sp_cli *o, sp_getenv_fn getenv_fn,
                     void *ctx, struct sp_settings *s, sp_error_t *err)
{
  cleanup_free char *env_mounts = NULL, *env_workdir = NULL, *env_env = NULL;
  const char *mounts, *workdir, *keep;
  size_t n = 0;

  memset (s, 0, sizeof (*s));
  if (o->mounts == NULL)
    env_mounts = getenv_fn (ctx, "SPROUT_CONTAINER_MOUNTS");
  if (o->workdir == NULL)
    env_workdir = getenv_fn (ctx, "SPROUT_CONTAINER_WORKDIR");
  if (o->env == NULL)
    env_env = getenv_fn (ctx, "SPROUT_CONTAINER_ENV");
  mounts = o->mounts != NULL ? o->mounts : env_mounts;
  workdir = o->workdir != NULL ? o->workdir : env_workdir;
  keep = o->env != NULL ? o->env : env_env;

  if (c->mounts != NULL && split_append (c->mounts, &s->mounts, &n, check_mount, err) < 0)
    {
      sp_error_wrap (err, "plugstack.conf: mounts");
      goto fail;
    }
  if (mounts != NULL && split_append (mounts, &s->mounts, &n, check_mount, err) < 0)
    {
      sp_error_wrap (err, o->mounts != NULL ? "--container-mounts" : "SPROUT_CONTAINER_MOUNTS");
      goto fail;
    }
  if (workdir != NULL && *workdir != '\0')
    {
      if (workdir[0] != '/')
        {
          sp_error_make (err, 0, "%s=%s: must be an absolute path",
                         o->workdir != NULL ? "--container-workdir" : "SPROUT_CONTAINER_WORKDIR", workdir);
          goto fail;
        }
      if ((s->workdir = strdup (workdir)) == NULL)
        {
          sp_error_make (err, errno, "out of memory");
          goto fail;
        }
    }
  n = 0;
  if (keep != NULL && split_append (keep, &s->keep_env, &n, check_env_name, err) < 0)
    {
      sp_error_wrap (err, o->env != NULL ? "--container-env" : "SPROUT_CONTAINER_ENV");
      goto fail;
    }
  if (resolve_bool (o->remap_root, "SPROUT_CONTAINER_REMAP_ROOT", getenv_fn, ctx, c->remap_root, false, &s->remap_root, err) < 0
      || resolve_bool (o->writable, "SPROUT_CONTAINER_WRITABLE", getenv_fn, ctx, c->writable, false, &s->writable, err) < 0
      || resolve_bool (o->mount_home, "SPROUT_CONTAINER_MOUNT_HOME", getenv_fn, ctx, c->mount_home, true, &s->mount_home, err) < 0)
    goto fail;
  return 0;

fail:
  sp_settings_clear (s);
  return -1;
}

void
sp_settings_clear (struct sp_settings *s)
{
  sp_strv_free (s->mounts);
  sp_strv_free (s->keep_env);
  free (s->workdir);
  memset (s, 0, sizeof (*s));
}

bool
sp_settings_keeps_env (const struct sp_settings *s, const char *name)
{
  for (char **p = s->keep_env; p != NULL && *p != NULL; p++)
    if (strcmp (*p, name) == 0)
      return true;
  return false;
}
