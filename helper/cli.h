/* cli.h: the subcommands of `sprout`; main.c parses global options and dispatches. */
#ifndef SPROUT_CLI_H
#define SPROUT_CLI_H

#include <stdbool.h>

/* Exit statuses (docker/podman convention). */
#define SP_EXIT_FAILURE 125  /* sprout itself failed */
#define SP_EXIT_NOEXEC 126   /* the command is not executable */
#define SP_EXIT_NOTFOUND 127 /* the command is not found in the container */

struct sp_global {
  const char *cache_dir;  /* --cache-dir, else $SPROUT_CACHE_DIR, else NULL (store default) */
  int verbose;            /* --verbose, repeatable */
  bool quiet;             /* --quiet */
};

/* Each takes argv with argv[0] = the verb and returns the process exit status. */
int cmd_import (struct sp_global *g, int argc, char **argv);
int cmd_images (struct sp_global *g, int argc, char **argv);
int cmd_rm (struct sp_global *g, int argc, char **argv);
int cmd_prune (struct sp_global *g, int argc, char **argv);
int cmd_inspect (struct sp_global *g, int argc, char **argv);
int cmd_run (struct sp_global *g, int argc, char **argv);
int cmd_start (struct sp_global *g, int argc, char **argv);

#endif
