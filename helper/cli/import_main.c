/* SPDX-License-Identifier: GPL-2.0-or-later */
/* import_main.c: `sprout-import`, the importer `sprout` runs for what needs the
 * import stack (libarchive, libcrypto, decompressors, jansson): a cold cache in
 * run/start, a bundle's config.json, and the import, inspect and digest verbs. Same global options as sprout, plus
 * --no-progress and --parent=PID (sprout's pid: the importer ends with it). Its
 * messages and exit statuses are sprout's. */
#include "config.h"

#include <stdio.h>
#include <sys/resource.h>

#include "cli/cli.h"

static const struct sp_cli_verb verbs[] = {
  { "import", cmd_import, NULL }, { "inspect", cmd_inspect, NULL }, { "digest", cmd_digest, NULL },
  { "user", cmd_user, NULL },     { "bundle", cmd_bundle, NULL },
};

/* Many layers' writers keep directories open: take the hard fd limit (the soft one is
 * often 1024 under runuser and in Slurm tasks). Nothing here uses select(). */
static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      (void) setrlimit (RLIMIT_NOFILE, &rl);
    }
}

static void
usage (FILE *f)
{
  fprintf (f, "Usage: sprout-import [--cache-dir DIR] [--quiet] [--verbose] import|inspect|digest ARG...\n\n"
              "The image importer of sprout(1); sprout runs it. See sprout --help.\n");
}

int
main (int argc, char **argv)
{
  static const struct sp_cli_program prog = {
    .name = "sprout-import",
    .verbs = verbs,
    .n_verbs = sizeof (verbs) / sizeof (verbs[0]),
    .usage = usage,
    .setup = raise_fd_limit,
    .importer = true,
  };

  return sp_cli_main (&prog, argc, argv);
}
