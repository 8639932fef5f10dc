/* SPDX-License-Identifier: GPL-2.0-or-later */
/* settings.c: the pure half of sprout's options: recording an option's value, the
 * mount and variable lists, and the settings a step's container is made with (command
 * line > the job's SPROUT_* variables > plugstack.conf > default). No Slurm call is made
 * here, so tests/unit/test_plugin and the fuzz targets run it without Slurm. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sprout_spank.h"
#include "util.h"

static int
set_str (char **slot, const char *val, sp_error_t *err)
{
  char *copy = strdup (val != NULL ? val : "");

  if (copy == NULL)
    return sp_error_make (err, ENOMEM, "out of memory");
  free (*slot);
  *slot = copy;
  return 0;
}

int
sp_cli_apply (struct sp_cli *o, int opt, const char *name, const char *arg, sp_error_t *err)
{
  int r = 0;

  switch (opt)
    {
    case SP_OPT_CONTAINER:
      return set_str (&o->container, arg, err);
    case SP_OPT_CONTAINER_IMAGE:
      return set_str (&o->container_image, arg, err);
    case SP_OPT_NO_CONTAINER:
      o->no_container = true;
      return 0;
    case SP_OPT_MOUNTS:
      r = set_str (&o->mounts, arg, err);
      break;
    case SP_OPT_WORKDIR:
      r = set_str (&o->workdir, arg, err);
      break;
    case SP_OPT_ENV:
      r = set_str (&o->env, arg, err);
      break;
    case SP_OPT_REMAP_ROOT:
      o->remap_root = 1;
      break;
    case SP_OPT_NO_REMAP_ROOT:
      o->remap_root = 0;
      break;
    case SP_OPT_WRITABLE:
      o->writable = 1;
      break;
    case SP_OPT_READONLY:
      o->writable = 0;
      break;
    case SP_OPT_MOUNT_HOME:
      o->mount_home = 1;
      break;
    case SP_OPT_NO_MOUNT_HOME:
      o->mount_home = 0;
      break;
    default:
      return sp_error_make (err, 0, "unknown option number %d", opt);
    }
  if (r == 0 && o->first == NULL)
    o->first = name;
  return r;
}

void
sp_cli_clear (struct sp_cli *o)
{
  free (o->container);
  free (o->container_image);
  free (o->mounts);
  free (o->workdir);
  free (o->env);
  memset (o, 0, sizeof (*o));
  o->remap_root = o->writable = o->mount_home = SP_UNSET;
}

/* Append the comma-separated entries of list to *v (length *n), each as take makes it
 * (checked, and written in the helper's form). */
static int
split_append (const char *list, char ***v, size_t *n, int (*take) (const char *item, char **out, sp_error_t *err),
              sp_error_t *err)
{
  cleanup_free char *copy = strdup (list);
  char *save = NULL;

  if (copy == NULL)
    return sp_error_make (err, errno, "out of memory");
  for (char *tok = strtok_r (copy, ",", &save); tok != NULL; tok = strtok_r (NULL, ",", &save))
    {
      char **nv, *item = NULL;

      if (take (tok, &item, err) < 0)
        return -1;
      nv = realloc (*v, (*n + 2) * sizeof (char *));
      if (nv == NULL)
        {
          free (item);
          return sp_error_make (err, errno, "out of memory");
        }
      *v = nv;
      nv[*n] = item;
      nv[++*n] = NULL;
    }
  return 0;
}

/* pyxis's mount flags that sprout can honour, and what each means here: binds are
 * always recursive (a user namespace refuses a plain bind that would uncover what a
 * locked submount hides), and always receive the host's later mounts without sending
 * any back (a slave of the host, as the kernel makes every mount of a less privileged
 * mount namespace). */
static const char *const mount_flags_accepted[] = {
  "ro", "rw", "bind", "rbind", "private", "rprivate", "slave", "rslave",
};

/* Check one flag of a +-joined list; *ro set by ro/rw (SP_UNSET before either). */
static int
mount_flag (const char *spec, const char *flag, int *ro, sp_error_t *err)
{
  bool known = false;

  for (size_t i = 0; i < sizeof (mount_flags_accepted) / sizeof (mount_flags_accepted[0]); i++)
    known = known || strcmp (flag, mount_flags_accepted[i]) == 0;
  if (strcmp (flag, "shared") == 0 || strcmp (flag, "rshared") == 0)
    return sp_error_make (
      err, 0, "'%s': flag '%s' is not possible rootless: the container's mounts never reach the host", spec, flag);
  if (!known)
    return sp_error_make (
      err, 0,
      "'%s': unknown mount flag '%s' (flags: ro, rw, bind, rbind, private, rprivate, slave, rslave, joined with '+')",
      spec, flag);
  if (strcmp (flag, "ro") == 0 || strcmp (flag, "rw") == 0)
    {
      int v = flag[1] == 'o';
      if (*ro != SP_UNSET && *ro != v)
        return sp_error_make (err, 0, "'%s': ro and rw contradict each other", spec);
      *ro = v;
    }
  return 0;
}

int
sp_mount_spec_parse (const char *m, char **out, sp_error_t *err)
{
  const char *c1 = strchr (m, ':'), *c2;
  int ro = SP_UNSET;
  int n;

  *out = NULL;
  if (c1 == NULL || c1 == m)
    return sp_error_make (err, 0, "'%s' is not SRC:DST[:FLAGS]", m);
  if (c1[1] != '/')
    return sp_error_make (err, 0, "'%s': the destination must be an absolute path", m);
  c2 = strchr (c1 + 1, ':');
  if (c2 != NULL)
    {
      cleanup_free char *flags = strdup (c2 + 1);
      char *save = NULL;

      if (flags == NULL)
        return sp_error_make (err, ENOMEM, "out of memory");
      if (*flags == '\0' || flags[strlen (flags) - 1] == '+' || strstr (flags, "++") != NULL || *flags == '+')
        return sp_error_make (err, 0, "'%s': an empty mount flag", m);
      for (char *f = strtok_r (flags, "+", &save); f != NULL; f = strtok_r (NULL, "+", &save))
        if (mount_flag (m, f, &ro, err) < 0)
          return -1;
    }
  n = c2 != NULL ? (int) (c2 - m) : (int) strlen (m);
  if (asprintf (out, "%.*s%s", n, m, ro == 1 ? ":ro" : "") < 0)
    {
      *out = NULL;
      return sp_error_make (err, ENOMEM, "out of memory");
    }
  return 0;
}

static int
take_env_name (const char *name, char **out, sp_error_t *err)
{
  if (!(isalpha ((unsigned char) name[0]) || name[0] == '_'))
    return sp_error_make (err, 0, "'%s' is not a variable name", name);
  for (const char *p = name; *p; p++)
    if (!(isalnum ((unsigned char) *p) || *p == '_'))
      return sp_error_make (err, 0, "'%s' is not a variable name", name);
  if ((*out = strdup (name)) == NULL)
    return sp_error_make (err, ENOMEM, "out of memory");
  return 0;
}

int
sp_mounts_parse (const char *list, char ***out, sp_error_t *err)
{
  size_t n = 0;

  *out = NULL;
  if (split_append (list, out, &n, sp_mount_spec_parse, err) < 0)
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
resolve_bool (int cli_val, const char *var, sp_getenv_fn getenv_fn, void *ctx, int conf_val, bool dflt, bool *out,
              sp_error_t *err)
{
  cleanup_free char *ev = NULL;
  int v = cli_val;

  if (v == SP_UNSET && (ev = getenv_fn (ctx, var)) != NULL && *ev != '\0' && env_bool (var, ev, &v, err) < 0)
    return -1;
  if (v == SP_UNSET)
    v = conf_val;
  *out = v == SP_UNSET ? dflt : v == 1;
  return 0;
}

int
sp_settings_resolve (const struct sp_config *c, const struct sp_cli *o, sp_getenv_fn getenv_fn, void *ctx,
                     struct sp_settings *s, sp_error_t *err)
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

  if (c->mounts != NULL && split_append (c->mounts, &s->mounts, &n, sp_mount_spec_parse, err) < 0)
    {
      sp_error_wrap (err, "plugstack.conf: mounts");
      goto fail;
    }
  if (mounts != NULL && split_append (mounts, &s->mounts, &n, sp_mount_spec_parse, err) < 0)
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
  if (keep != NULL && split_append (keep, &s->keep_env, &n, take_env_name, err) < 0)
    {
      sp_error_wrap (err, o->env != NULL ? "--container-env" : "SPROUT_CONTAINER_ENV");
      goto fail;
    }
  if (resolve_bool (o->remap_root, "SPROUT_CONTAINER_REMAP_ROOT", getenv_fn, ctx, c->remap_root, false, &s->remap_root,
                    err)
        < 0
      || resolve_bool (o->writable, "SPROUT_CONTAINER_WRITABLE", getenv_fn, ctx, c->writable, false, &s->writable, err)
           < 0
      || resolve_bool (o->mount_home, "SPROUT_CONTAINER_MOUNT_HOME", getenv_fn, ctx, c->mount_home, true,
                       &s->mount_home, err)
           < 0)
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
