/* cmd_store.c: the store's verbs: import, images, rm, prune, inspect. Placeholder. */
#include "config.h"
#include <stdio.h>
#include "cli.h"

static int
not_yet (const char *verb)
{
  fprintf (stderr, "sprout: error: %s: not implemented yet\n", verb);
  return SP_EXIT_FAILURE;
}

int cmd_import (struct sp_global *g, int argc, char **argv) { (void) g; (void) argc; return not_yet (argv[0]); }
int cmd_images (struct sp_global *g, int argc, char **argv) { (void) g; (void) argc; return not_yet (argv[0]); }
int cmd_rm (struct sp_global *g, int argc, char **argv) { (void) g; (void) argc; return not_yet (argv[0]); }
int cmd_prune (struct sp_global *g, int argc, char **argv) { (void) g; (void) argc; return not_yet (argv[0]); }
int cmd_inspect (struct sp_global *g, int argc, char **argv) { (void) g; (void) argc; return not_yet (argv[0]); }
