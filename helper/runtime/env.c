/* SPDX-License-Identifier: GPL-2.0-or-later */
/* env.c: the container's environment (see env.h). */
#include "config.h"
#include "runtime/env.h"
#include "envrules.h"
#include "util.h"

#include <ctype.h>
#include <string.h>

static size_t
name_len (const char *s)
{
  const char *eq = strchr (s, '=');
  return eq ? (size_t) (eq - s) : strlen (s);
}

static bool
same_name (const char *a, const char *b)
{
  size_t la = name_len (a);
  return la == name_len (b) && strncmp (a, b, la) == 0;
}

int
sp_env_check_arg (const char *arg, sp_error_t *err)
{
  const char *eq = strchr (arg, '=');

  if (eq == NULL || eq == arg)
    return sp_error_make (err, 0, "--env %s: expected NAME=VALUE", arg);
  for (const char *p = arg; p < eq; p++)
    if (!(isalnum ((unsigned char) *p) || *p == '_') || (p == arg && isdigit ((unsigned char) *p)))
      return sp_error_make (err, 0, "--env %s: invalid variable name", arg);
  if (sp_env_is_host_owned (arg))
    return sp_error_make (err, 0, "--env %s: %s are always the caller's", arg, sp_env_host_owned_names);
  return 0;
}

char **
sp_env_overrides (char *const *image_env, char *const *opt_env)
{
  size_t n = 0;
  char **out = xcalloc (sp_strv_len (image_env) + sp_strv_len (opt_env) + 1, sizeof (char *));
  char *const *lists[2] = { image_env, opt_env };

  for (int l = 0; l < 2; l++)
    for (size_t i = 0; lists[l] != NULL && lists[l][i] != NULL; i++)
      {
        const char *s = lists[l][i];
        if (strchr (s, '=') == NULL || *s == '=' || sp_env_is_host_owned (s))
          continue;
        out[n++] = xstrdup (s);
      }
  out[n] = NULL;
  return out;
}

char **
sp_env_apply (char *const *base, char *const *sets)
{
  size_t nb = sp_strv_len (base), n = 0;
  char **out = xcalloc (nb + sp_strv_len (sets) + 1, sizeof (char *));

  for (size_t i = 0; i < nb; i++)
    out[n++] = xstrdup (base[i]);
  for (size_t j = 0; sets != NULL && sets[j] != NULL; j++)
    {
      size_t k;
      for (k = 0; k < n && !same_name (out[k], sets[j]); k++)
        ;
      if (k < n)
        free (out[k]);
      else
        n++;
      out[k] = xstrdup (sets[j]);
    }
  out[n] = NULL;
  return out;
}

const char *
sp_env_get (char *const *env, const char *name)
{
  size_t l = strlen (name);
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    if (strncmp (env[i], name, l) == 0 && env[i][l] == '=')
      return env[i] + l + 1;
  return NULL;
}
