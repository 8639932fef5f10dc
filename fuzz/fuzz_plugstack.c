/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_plugstack.c: libFuzzer target for the plugstack.conf argument parser and the
 * cache_dir template (plugin/config.c). The input is split at spaces, newlines and NULs
 * into arguments, as Slurm splits a plugstack.conf line; a parsed configuration's
 * cache_dir is expanded. */
#include "config.h"
#include "sprout_spank.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *copy = malloc (size + 1), *av[64], *save = NULL;
  struct sp_config c;
  sp_error_t err = NULL;
  int ac = 0;

  if (copy == NULL)
    return 0;
  for (size_t i = 0; i < size; i++)
    copy[i] = data[i] == '\0' ? ' ' : (char) data[i];
  copy[size] = '\0';
  for (char *t = strtok_r (copy, " \t\n", &save); t != NULL && ac < 64; t = strtok_r (NULL, " \t\n", &save))
    av[ac++] = t;
  if (sp_config_parse_args (&c, ac, av, &err) == 0)
    {
      if (c.helper == NULL || c.helper[0] != '/' || (c.cache_dir != NULL && c.cache_dir[0] != '/'))
        abort ();
      if ((c.remap_root != SP_UNSET && c.remap_root != 0 && c.remap_root != 1)
          || (c.writable != SP_UNSET && c.writable != 0 && c.writable != 1))
        abort ();
      if (c.cache_dir != NULL)
        {
          char *x = sp_config_expand (c.cache_dir, 4242, "node%n%u", &err);
          if (x == NULL && err == NULL)
            abort ();
          if (x != NULL && x[0] != '/')
            abort ();
          free (x);
        }
      if (c.mounts != NULL)
        {
          char **m = NULL;
          if (sp_mounts_parse (c.mounts, &m, &err) < 0)
            abort (); /* sp_config_parse_args checked them */
          sp_strv_free (m);
        }
      sp_config_clear (&c);
    }
  else if (err == NULL || c.helper != NULL || c.mounts != NULL || c.cache_dir != NULL)
    abort ();
  sp_error_free (&err);
  free (copy);
  return 0;
}
