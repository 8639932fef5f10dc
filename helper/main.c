/* main.c: `sprout` entry point: global options, then one verb per file (cmd_*.c).
 * import and inspect run the importer, sprout-import (import_main.c), so that this
 * executable links only libc and jansson and a warm start stays cheap. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "privs.h"

static const struct verb {
  const char *name;
  int (*fn) (struct sp_global *, int, char **);
  const char *help;
} verbs[] = {
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
  static const struct option longopts[] = {
    { "cache-dir", required_argument, NULL, 'C' },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct sp_global g = { .cache_dir = NULL };
  sp_error_t err = NULL;
  int c;

  if (sp_privs_verify_unprivileged (&err) < 0)
    sp_error_die ("sprout", &err, SP_EXIT_FAILURE);

  g.cache_dir = getenv ("SPROUT_CACHE_DIR");
  if (g.cache_dir != NULL && *g.cache_dir == '\0')
    g.cache_dir = NULL;
  /* "+" stops at the verb: the verb parses its own options */
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
      case 'h':
        usage (stdout);
        return 0;
      case 'V':
        printf ("sprout %s\n", PACKAGE_VERSION);
        return 0;
      default:
        fprintf (stderr, "sprout: error: unknown option; see sprout --help\n");
        return SP_EXIT_FAILURE;
      }
  if (optind >= argc)
    {
      usage (stderr);
      return SP_EXIT_FAILURE;
    }
  for (size_t i = 0; i < sizeof (verbs) / sizeof (verbs[0]); i++)
    if (strcmp (argv[optind], verbs[i].name) == 0)
      {
        int first = optind;
        optind = 0;  /* glibc: 0 re-initialises getopt for the verb's own argv */
        return verbs[i].fn (&g, argc - first, argv + first);
      }
  fprintf (stderr, "sprout: error: %s: unknown verb; see sprout --help\n", argv[optind]);
  return SP_EXIT_FAILURE;
}
