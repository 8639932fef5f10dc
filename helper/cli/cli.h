/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h: the subcommands of `sprout`; main.c parses global options and dispatches. */
#ifndef SPROUT_CLI_H
#define SPROUT_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "error.h"
#include "cache/store.h"

/* Exit statuses (docker/podman convention). */
#define SP_EXIT_FAILURE 125  /* sprout itself failed */
#define SP_EXIT_NOEXEC 126   /* the command is not executable */
#define SP_EXIT_NOTFOUND 127 /* the command is not found in the container */

struct sp_global {
  const char *cache_dir; /* --cache-dir, else $SPROUT_CACHE_DIR, else NULL (store default) */
  int verbose;           /* --verbose, repeatable */
  bool quiet;            /* --quiet */
  bool no_progress;      /* sprout-import --no-progress: sprout draws none (run --quiet, no tty) */
};

/* One verb of sprout or sprout-import. */
struct sp_cli_verb {
  const char *name;
  int (*fn) (struct sp_global *, int, char **);
  const char *help; /* for sprout --help; NULL in sprout-import */
};

/* What sets sprout and sprout-import apart in sp_cli_main. */
struct sp_cli_program {
  const char *name; /* for --version and sprout-import's "missing verb" */
  const struct sp_cli_verb *verbs;
  size_t n_verbs;
  void (*usage) (FILE *f); /* --help; sprout's also when no verb is given */
  void (*setup) (void);    /* run after the privilege check; may be NULL */
  bool importer;           /* also --no-progress and --parent=PID */
};

/* The whole of main for both programs (cli.c): refuse privileges, parse the global
 * options ($SPROUT_CACHE_DIR too), run the verb. Returns the exit status. */
int sp_cli_main (const struct sp_cli_program *prog, int argc, char **argv);

/* Each takes argv with argv[0] = the verb and returns the process exit status. */
int cmd_import (struct sp_global *g, int argc, char **argv);
int cmd_images (struct sp_global *g, int argc, char **argv);
int cmd_rm (struct sp_global *g, int argc, char **argv);
int cmd_prune (struct sp_global *g, int argc, char **argv);
int cmd_inspect (struct sp_global *g, int argc, char **argv);
int cmd_run (struct sp_global *g, int argc, char **argv);
int cmd_start (struct sp_global *g, int argc, char **argv);

/* sprout's import and inspect: exec sprout-import with the same verb, arguments and
 * global options (its stderr, output and exit status are the user's). */
int cmd_via_importer (struct sp_global *g, int argc, char **argv);

/* sprout-import's own verb: print the manifest digest of an image (cmd_import.c). */
int cmd_digest (struct sp_global *g, int argc, char **argv);
int cmd_user (struct sp_global *g, int argc, char **argv);
/* sprout-import's bundle verb: read a bundle's config.json into the ref index, where
 * sprout finds it (sprout reads no JSON). */
int cmd_bundle (struct sp_global *g, int argc, char **argv);

/* Shared by the verbs (cmd_store.c). */
/* The store options the global options give. */
struct sp_store_opts sp_cli_store_opts (struct sp_global *g);
/* Print *err as sprout's one error line, free it, return SP_EXIT_FAILURE. */
int sp_cli_fail (sp_error_t *err);
/* Parse a verb's options (only --help). Returns the index of the first operand, or
 * -1 after printing help or an error (*status set). */
int sp_cli_parse_simple (int argc, char **argv, const char *usage, int min_operands, int *status);

#endif
