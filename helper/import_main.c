/* import_main.c: `sprout-import`, the importer `sprout` runs for what needs the
 * import stack (libarchive, libcrypto, decompressors): a cold cache in run/start,
 * and the import, inspect and digest verbs. Same global options as sprout, plus
 * --no-progress and --parent=PID (sprout's pid: the importer ends with it). Its
 * messages and exit statuses are sprout's. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "privs.h"

static const struct verb {
  const char *name;
  int (*fn) (struct sp_global *, int, char **);
} verbs[] = {
  { "import", cmd_import },
  { "inspect", cmd_inspect },
  { "digest", cmd_digest },
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

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "cache-dir", required_argument, NULL, 'C' },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "no-progress", no_argument, NULL, 'P' },
    { "parent", required_argument, NULL, 'p' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct sp_global g = { .cache_dir = NULL };
  sp_error_t err = NULL;
  int c;

  if (sp_privs_verify_unprivileged (&err) < 0)
    sp_error_die ("sprout", &err, SP_EXIT_FAILURE);
  raise_fd_limit ();
  g.cache_dir = getenv ("SPROUT_CACHE_DIR");
  if (g.cache_dir != NULL && *g.cache_dir == '\0')
    g.cache_dir = NULL;
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
        printf ("Usage: sprout-import [--cache-dir DIR] [--quiet] [--verbose] import|inspect|digest ARG...\n\n"
                "The image importer of sprout(1); sprout runs it. See sprout --help.\n");
        return 0;
      case 'V':
        printf ("sprout-import %s\n", PACKAGE_VERSION);
        return 0;
      default:
        fprintf (stderr, "sprout: error: unknown option; see sprout --help\n");
        return SP_EXIT_FAILURE;
      }
  if (optind >= argc)
    {
      fprintf (stderr, "sprout: error: sprout-import: missing verb; see sprout --help\n");
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
