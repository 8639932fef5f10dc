/* cmd_run.c: `sprout run` and `sprout start`. Placeholder. */
#include "config.h"
#include <stdio.h>
#include "cli.h"

int
cmd_run (struct sp_global *g, int argc, char **argv)
{
  (void) g; (void) argc;
  fprintf (stderr, "sprout: error: %s: not implemented yet\n", argv[0]);
  return SP_EXIT_FAILURE;
}

int
cmd_start (struct sp_global *g, int argc, char **argv)
{
  (void) g; (void) argc;
  fprintf (stderr, "sprout: error: %s: not implemented yet\n", argv[0]);
  return SP_EXIT_FAILURE;
}
