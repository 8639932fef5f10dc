/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c: `sprout` entry point: its verbs and help (cli.c parses the global options).
 * import and inspect run the importer, sprout-import (import_main.c), so that this
 * executable links only libc and a warm start stays cheap. */
#include "config.h"

#include <stdio.h>

#include "cli/cli.h"

static const struct sp_cli_verb verbs[] = {
  { "import", cmd_via_importer, "verify and unpack IMAGE into the cache, print its digest" },
  { "images", cmd_images, "list cached images" },
  { "rm", cmd_rm, "remove cached images by IMAGE or DIGEST" },
  { "prune", cmd_prune, "remove cached images not used recently" },
  { "inspect", cmd_via_importer, "show IMAGE's digest, layers and config as JSON" },
  { "run", cmd_run, "run COMMAND inside IMAGE in a rootless container" },
  { "start", cmd_start, "prepare a container and hold it (used by the SPANK plugin)" },
};

static void
usage (FILE *f)
{
  fprintf (f, "Usage: sprout [--cache-dir DIR] [--quiet] [--verbose] VERB [ARG...]\n\n"
              "Run OCI container images rootless, on their own or as Slurm job steps.\n\nVerbs:\n");
  for (size_t i = 0; i < sizeof (verbs) / sizeof (verbs[0]); i++)
    fprintf (f, "  %-8s %s\n", verbs[i].name, verbs[i].help);
  fprintf (f, "\nOptions:\n"
              "  --cache-dir DIR  image cache (default $SPROUT_CACHE_DIR, else /var/tmp/sprout-$UID)\n"
              "  -q, --quiet      print nothing but errors\n"
              "  -v, --verbose    say more (repeatable)\n"
              "  -h, --help       show this help; `sprout VERB --help` for a verb\n"
              "  -V, --version    show the version\n"
              "\nExit status: 0 on success, 125 when sprout fails; `run` returns the command's own.\n"
              "See sprout(1).\n");
}

int
main (int argc, char **argv)
{
  static const struct sp_cli_program prog = {
    .name = "sprout",
    .verbs = verbs,
    .n_verbs = sizeof (verbs) / sizeof (verbs[0]),
    .usage = usage,
  };

  return sp_cli_main (&prog, argc, argv);
}
