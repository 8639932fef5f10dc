/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c: the global options and verb dispatch that sprout (main.c) and sprout-import
 * (import_main.c) share. libc only, so that sprout stays light. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "error.h"
#include "privs.h"

int
sp_cli_main (const struct sp_cli_program *prog, int argc, char **argv)
{
  /* the importer's own options come last: sprout cuts the table before them */
  struct option longopts[] = {
    { "cache-dir", required_argument, NULL, 'C' }, { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },         { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },         { "no-progress", no_argument, NULL, 'P' },
    { "parent", required_argument, NULL, 'p' },    { NULL, 0, NULL, 0 },
  };
  struct sp_global g = { .cache_dir = NULL };
  sp_error_t err = NULL;
  int c;

  if (!prog->importer)
    memset (&longopts[5], 0, sizeof (longopts[5]));
  if (sp_privs_verify_unprivileged (&err) < 0)
    sp_error_die ("sprout", &err, SP_EXIT_FAILURE);
  if (prog->setup != NULL)
    prog->setup ();

  g.cache_dir = getenv ("SPROUT_CACHE_DIR");
  if (g.cache_dir != NULL && *g.cache_dir == '\0')
    g.cache_dir = NULL;
  /* "+" stops at the verb: the verb parses its own options */
  opterr = 0; /* our one error line, not getopt's as well */
  while ((c = getopt_long (argc, argv, "+qvhV", longopts, NULL)) != -1)
    switch (c)
      {
      case 'C':
        g.cache_dir = optarg;
        break;
      case 'q':
        g.quiet = true;
        break;
      case 'v':
        g.verbose++;
        break;
      case 'P':
        g.no_progress = true;
        break;
      case 'p':
        {
          /* run for sprout: end with it, as an import inside it would (the next run
           * removes what an interrupted import left) */
          long ppid = strtol (optarg, NULL, 10);
          if (prctl (PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == 0 && getppid () != (pid_t) ppid)
            return SP_EXIT_FAILURE;
          break;
        }
      case 'h':
        prog->usage (stdout);
        return 0;
      case 'V':
        printf ("%s %s\n", prog->name, PACKAGE_VERSION);
        return 0;
      default:
        if (strncmp (argv[optind - 1], "--", 2) == 0)
          sp_error_printf ("sprout", "unknown option %s or missing value; see sprout --help", argv[optind - 1]);
        else
          sp_error_printf ("sprout", "unknown option -%c; see sprout --help", optopt);
        return SP_EXIT_FAILURE;
      }
  if (optind >= argc)
    {
      if (prog->importer)
        sp_error_printf ("sprout", "%s: missing verb; see sprout --help", prog->name);
      else
        prog->usage (stderr);
      return SP_EXIT_FAILURE;
    }
  for (size_t i = 0; i < prog->n_verbs; i++)
    if (strcmp (argv[optind], prog->verbs[i].name) == 0)
      {
        int first = optind;
        optind = 0; /* 0 re-initialises getopt for the verb's own argv (glibc and musl alike) */
        return prog->verbs[i].fn (&g, argc - first, argv + first);
      }
  sp_error_printf ("sprout", "%s: unknown verb; see sprout --help", argv[optind]);
  return SP_EXIT_FAILURE;
}
