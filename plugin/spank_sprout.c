/* spank_sprout.c: the SPANK plugin. Placeholder. */
#include "config.h"
#include <slurm/spank.h>

SPANK_PLUGIN (sprout, 1);

int slurm_spank_init (spank_t sp, int ac, char **av) __attribute__ ((visibility ("default")));

int
slurm_spank_init (spank_t sp, int ac, char **av)
{
  (void) sp; (void) ac; (void) av;
  return 0;
}
