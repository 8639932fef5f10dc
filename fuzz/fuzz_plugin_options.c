/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_plugin_options.c: libFuzzer target for the plugin's option values (plugin/settings.c).
 * The input is split at NUL bytes into up to 7 values: --container-mounts,
 * --container-workdir, --container-env, then the SPROUT_CONTAINER_MOUNTS, _WORKDIR,
 * _ENV and _WRITABLE twins; settings are resolved from them and checked for what
 * sp_settings_resolve promises. */
#include "config.h"
#include "sprout_spank.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *field[7];

static char *
twin (void *ctx, const char *name)
{
  static const char *const names[] = { "SPROUT_CONTAINER_MOUNTS", "SPROUT_CONTAINER_WORKDIR", "SPROUT_CONTAINER_ENV",
                                       "SPROUT_CONTAINER_WRITABLE" };
  (void) ctx;
  for (int i = 0; i < 4; i++)
    if (strcmp (name, names[i]) == 0 && field[3 + i] != NULL)
      return strdup (field[3 + i]);
  return NULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *copy = malloc (size + 1), *p;
  struct sp_cli o = { .remap_root = SP_UNSET, .writable = SP_UNSET, .mount_home = SP_UNSET };
  struct sp_config c = { .remap_root = SP_UNSET, .writable = SP_UNSET, .mount_home = SP_UNSET };
  struct sp_settings s;
  sp_error_t err = NULL;
  static const int opts[3] = { SP_OPT_MOUNTS, SP_OPT_WORKDIR, SP_OPT_ENV };

  if (copy == NULL)
    return 0;
  memcpy (copy, data, size);
  copy[size] = '\0';
  memset (field, 0, sizeof (field));
  p = copy;
  for (int i = 0; i < 7 && p <= copy + size; i++)
    {
      field[i] = p;
      p += strlen (p) + 1;
    }
  for (int i = 0; i < 3; i++)
    if (field[i] != NULL && *field[i] != '\0' && sp_cli_apply (&o, opts[i], "x", field[i], &err) < 0)
      abort ();
  if (sp_settings_resolve (&c, &o, twin, NULL, &s, &err) == 0)
    {
      for (char **m = s.mounts; m != NULL && *m != NULL; m++)
        {
          /* the helper's form: SRC:DST or SRC:DST:ro, DST absolute */
          const char *c1 = strchr (*m, ':'), *c2;
          if (c1 == NULL || c1 == *m || c1[1] != '/')
            abort ();
          c2 = strchr (c1 + 1, ':');
          if (c2 != NULL && strcmp (c2, ":ro") != 0)
            abort ();
        }
      if (s.workdir != NULL && s.workdir[0] != '/')
        abort ();
      sp_settings_clear (&s);
    }
  else if (err == NULL || s.mounts != NULL || s.keep_env != NULL || s.workdir != NULL)
    abort ();
  sp_error_free (&err);
  sp_cli_clear (&o);
  free (copy);
  return 0;
}
