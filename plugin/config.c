/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.c: the plugstack.conf arguments of sprout.so. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sprout_spank.h"
#include "util.h"

#ifndef SPROUT_BINDIR
# define SPROUT_BINDIR "/usr/local/bin"
#endif

static int
parse_bool (const char *key, const char *val, int *out, sp_error_t *err)
{
  if (strcmp (val, "0") == 0)
    *out = 0;
  else if (strcmp (val, "1") == 0)
    *out = 1;
  else
    return sp_error_make (err, 0, "plugstack.conf: %s=%s: the value must be 0 or 1", key, val);
  return 0;
}

static int
set_string (char **slot, const char *key, const char *val, sp_error_t *err)
{
  char *copy;

  if (*val == '\0')
    return sp_error_make (err, 0, "plugstack.conf: %s= needs a value", key);
  copy = strdup (val);
  if (copy == NULL)
    return sp_error_make (err, errno, "plugstack.conf: %s", key);
  free (*slot);
  *slot = copy;
  return 0;
}

int
sp_config_parse_args (struct sp_config *c, int ac, char **av, sp_error_t *err)
{
  memset (c, 0, sizeof (*c));
  c->remap_root = c->writable = c->mount_home = SP_UNSET;

  for (int i = 0; i < ac; i++)
    {
      const char *arg = av[i], *eq = strchr (arg, '=');
      cleanup_free char *key = NULL;
      const char *val;
      int r;

      if (eq == NULL)
        {
          sp_error_make (err, 0,
                         "plugstack.conf: argument '%s' is not KEY=VALUE (keys: helper, cache_dir, mounts, remap_root, "
                         "writable, mount_home)",
                         arg);
          goto fail;
        }
      key = strndup (arg, (size_t) (eq - arg));
      if (key == NULL)
        {
          sp_error_make (err, errno, "plugstack.conf");
          goto fail;
        }
      val = eq + 1;
      if (strcmp (key, "helper") == 0)
        {
          r = set_string (&c->helper, key, val, err);
          if (r == 0 && val[0] != '/')
            r = sp_error_make (err, 0, "plugstack.conf: helper=%s: must be an absolute path", val);
        }
      else if (strcmp (key, "cache_dir") == 0)
        {
          r = set_string (&c->cache_dir, key, val, err);
          if (r == 0 && val[0] != '/')
            r = sp_error_make (err, 0, "plugstack.conf: cache_dir=%s: must be an absolute path", val);
        }
      else if (strcmp (key, "mounts") == 0)
        {
          char **m = NULL;
          r = sp_mounts_parse (val, &m, err);
          sp_strv_free (m);
          if (r == 0)
            r = set_string (&c->mounts, key, val, err);
          else
            sp_error_wrap (err, "plugstack.conf: mounts");
        }
      else if (strcmp (key, "remap_root") == 0)
        r = parse_bool (key, val, &c->remap_root, err);
      else if (strcmp (key, "writable") == 0)
        r = parse_bool (key, val, &c->writable, err);
      else if (strcmp (key, "mount_home") == 0)
        r = parse_bool (key, val, &c->mount_home, err);
      else
        r = sp_error_make (
          err, 0,
          "plugstack.conf: unknown key '%s' (keys: helper, cache_dir, mounts, remap_root, writable, mount_home)", key);
      if (r < 0)
        goto fail;
    }
  if (c->helper == NULL && (c->helper = strdup (SPROUT_BINDIR "/sprout")) == NULL)
    {
      sp_error_make (err, errno, "plugstack.conf");
      goto fail;
    }
  return 0;

fail:
  sp_config_clear (c);
  return -1;
}

void
sp_config_clear (struct sp_config *c)
{
  free (c->helper);
  free (c->cache_dir);
  free (c->mounts);
  memset (c, 0, sizeof (*c));
  c->remap_root = c->writable = c->mount_home = SP_UNSET;
}

char *
sp_config_expand (const char *tmpl, uid_t uid, const char *node, sp_error_t *err)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&out, &len);

  if (f == NULL)
    {
      sp_error_make (err, errno, "cache_dir");
      return NULL;
    }
  for (const char *p = tmpl; *p; p++)
    {
      if (*p != '%')
        {
          fputc (*p, f);
          continue;
        }
      switch (p[1])
        {
        case 'u':
          fprintf (f, "%u", (unsigned) uid);
          break;
        case 'n':
          fputs (node, f);
          break;
        case '%':
          fputc ('%', f);
          break;
        default:
          fclose (f);
          free (out);
          sp_error_make (err, 0, "plugstack.conf: cache_dir=%s: unknown escape '%%%c' (use %%u, %%n or %%%%)", tmpl,
                         p[1] ? p[1] : ' ');
          return NULL;
        }
      p++;
    }
  if (fclose (f) != 0)
    {
      free (out);
      sp_error_make (err, errno, "cache_dir");
      return NULL;
    }
  return out;
}

char *
sp_config_oci_conf (void)
{
  const char *conf = getenv ("SLURM_CONF");
  char *path = NULL;
  const char *slash;

  if (conf != NULL && (slash = strrchr (conf, '/')) != NULL)
    {
      if (asprintf (&path, "%.*s/oci.conf", (int) (slash - conf), conf) < 0)
        return NULL;
    }
  else if ((path = strdup ("/etc/slurm/oci.conf")) == NULL)
    return NULL;
  if (access (path, F_OK) == 0)
    return path;
  free (path);
  return NULL;
}
