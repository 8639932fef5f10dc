/* SPDX-License-Identifier: GPL-2.0-or-later */
/* envrules.c: see envrules.h. */
#include "config.h"
#include "envrules.h"

#include <string.h>

static const char *const host_names[] = { "HOME", "USER", "LOGNAME", "TERM" };
static const char *const host_prefixes[] = { "SLURM_", "SLURMD_", "SPANK_" };

const char sp_env_host_owned_names[] = "HOME, USER, LOGNAME, TERM, SLURM_*, SLURMD_*, SPANK_*";

bool
sp_env_is_host_owned (const char *s)
{
  size_t n = strcspn (s, "=");

  for (size_t i = 0; i < sizeof (host_names) / sizeof (host_names[0]); i++)
    if (strlen (host_names[i]) == n && strncmp (s, host_names[i], n) == 0)
      return true;
  for (size_t i = 0; i < sizeof (host_prefixes) / sizeof (host_prefixes[0]); i++)
    {
      size_t pl = strlen (host_prefixes[i]);
      if (n > pl && strncmp (s, host_prefixes[i], pl) == 0)
        return true;
    }
  return false;
}
