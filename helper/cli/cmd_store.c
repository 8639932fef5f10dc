/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_store.c: the store's verbs images, rm and prune (thin: the logic is in
 * helper/cache/list.c), and the helpers the importer's verbs (cmd_import.c) share
 * with them. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "error.h"
#include "cache/store.h"
#include "util.h"

struct sp_store_opts
sp_cli_store_opts (struct sp_global *g)
{
  struct sp_store_opts o = { .cache_dir = g->cache_dir, .verbose = g->verbose };
  o.progress = !g->quiet && !g->no_progress && isatty (STDERR_FILENO);
  return o;
}

int
sp_cli_fail (sp_error_t *err)
{
  sp_error_print ("sprout", *err);
  sp_error_free (err);
  return SP_EXIT_FAILURE;
}

/* Print the one-line message for an unknown option of verb. */
static void
bad_option (const char *verb, const char *opt)
{
  sp_error_printf ("sprout", "%s: unknown option \"%s\"; see sprout %s --help", verb, opt, verb);
}

int
sp_cli_parse_simple (int argc, char **argv, const char *usage, int min_operands, int *status)
{
  static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  int c;

  opterr = 0; /* our own one-line message instead of getopt's */
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          printf ("%s", usage);
          *status = 0;
          return -1;
        }
      bad_option (argv[0], argv[optind - 1]);
      *status = SP_EXIT_FAILURE;
      return -1;
    }
  if (argc - optind < min_operands)
    {
      sp_error_printf ("sprout", "%s: missing operand; see sprout %s --help", argv[0], argv[0]);
      *status = SP_EXIT_FAILURE;
      return -1;
    }
  return optind;
}

static void
format_size (uint64_t b, char *buf, size_t len)
{
  if (b >= 1000000000ULL)
    snprintf (buf, len, "%.1fGB", (double) b / 1e9);
  else if (b >= 1000000ULL)
    snprintf (buf, len, "%.1fMB", (double) b / 1e6);
  else
    snprintf (buf, len, "%.1fkB", (double) b / 1e3);
}

static void
format_time (time_t t, char *buf, size_t len)
{
  struct tm tm;
  if (t == 0 || localtime_r (&t, &tm) == NULL)
    snprintf (buf, len, "-");
  else
    strftime (buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0 when it is not one. */
static size_t
utf8_len (const unsigned char *p)
{
  size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;

  if (n == 0 || (n == 2 && *p < 0xc2) || (n == 4 && *p > 0xf4))
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  if ((n == 3 && *p == 0xe0 && p[1] < 0xa0) || (n == 3 && *p == 0xed && p[1] >= 0xa0)
      || (n == 4 && *p == 0xf0 && p[1] < 0x90) || (n == 4 && *p == 0xf4 && p[1] >= 0x90))
    return 0;
  return n;
}

/* s as a JSON string: '"', '\\' and control characters escaped, a byte that is not
 * part of valid UTF-8 as U+FFFD (JSON text is UTF-8). */
static void
print_json_string (const char *s)
{
  putchar ('"');
  for (const unsigned char *p = (const unsigned char *) s; *p;)
    {
      size_t n = utf8_len (p);
      if (*p == '"' || *p == '\\')
        printf ("\\%c", *p);
      else if (*p < 0x20 || *p == 0x7f)
        printf ("\\u%04x", *p);
      else if (n == 0)
        fputs ("\\ufffd", stdout);
      else
        fwrite (p, 1, n, stdout);
      p += n ? n : 1;
    }
  putchar ('"');
}

/* `images --json`, written here: sprout links no JSON library. */
static void
print_json (const struct sp_store_entry *es, size_t n)
{
  printf ("[");
  for (size_t i = 0; i < n; i++)
    {
      printf ("%s\n  {\n    \"digest\": ", i ? "," : "");
      print_json_string (es[i].digest);
      printf (",\n    \"names\": [");
      for (size_t k = 0; es[i].names[k]; k++)
        {
          printf ("%s", k ? ", " : "");
          print_json_string (es[i].names[k]);
        }
      printf ("],\n    \"size\": %llu,\n    \"created\": %lld,\n    \"last_use\": %lld,\n    \"in_use\": %s\n  }",
              (unsigned long long) es[i].size, (long long) es[i].created, (long long) es[i].last_use,
              es[i].in_use ? "true" : "false");
    }
  printf ("%s]\n", n ? "\n" : "");
}

int
cmd_images (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] =
    "Usage: sprout images [--json]\n\n"
    "List cached images: digest, size on disk, last use, and the names they were used under.\n";
  static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct sp_store_opts o = sp_cli_store_opts (g);
  struct sp_store_entry *es;
  sp_error_t err = NULL;
  bool json = false;
  size_t n;
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+jh", opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        json = true;
        break;
      case 'h':
        printf ("%s", usage);
        return 0;
      default:
        bad_option ("images", argv[optind - 1]);
        return SP_EXIT_FAILURE;
      }
  if (optind < argc)
    {
      sp_error_printf ("sprout", "images: unexpected argument \"%s\"", argv[optind]);
      return SP_EXIT_FAILURE;
    }
  if (sp_store_list (&o, &es, &n, &err) < 0)
    return sp_cli_fail (&err);
  if (json)
    print_json (es, n);
  else
    {
      printf ("%-19s  %9s  %-16s  %s\n", "DIGEST", "SIZE", "LAST USE", "NAME");
      for (size_t i = 0; i < n; i++)
        {
          char size[32], when[32];
          format_size (es[i].size, size, sizeof (size));
          format_time (es[i].last_use, when, sizeof (when));
          printf ("sha256:%.12s  %9s  %-16s  %s%s\n", es[i].digest + 7, size, when,
                  es[i].names[0] ? es[i].names[0] : "-", es[i].in_use ? " (in use)" : "");
          for (size_t k = 1; es[i].names[0] && es[i].names[k]; k++)
            printf ("%-19s  %9s  %-16s  %s\n", "", "", "", es[i].names[k]);
        }
    }
  sp_store_entries_free (es, n);
  return 0;
}

int
cmd_rm (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] = "Usage: sprout rm IMAGE|DIGEST...\n\n"
                              "Remove cached images, named by digest (or a unique prefix of it), by a name they\n"
                              "were used under, or by the image itself. An image in use is not removed.\n";
  struct sp_store_opts o = sp_cli_store_opts (g);
  int first, status = 0;

  first = sp_cli_parse_simple (argc, argv, usage, 1, &status);
  if (first < 0)
    return status;
  for (int i = first; i < argc; i++)
    {
      cleanup_free char *digest = NULL;
      sp_error_t err = NULL;

      if (sp_store_find (&o, argv[i], &digest, &err) < 0 || sp_store_remove (&o, digest, &err) < 0)
        {
          status = sp_cli_fail (&err);
          continue;
        }
      if (!g->quiet)
        printf ("%s\n", digest);
    }
  return status;
}

int
cmd_prune (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] = "Usage: sprout prune [--older-than DAYS]\n\n"
                              "Remove cached images (all, or those not used for DAYS days). Images in use are kept.\n";
  static const struct option opts[] = { { "older-than", required_argument, NULL, 'o' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct sp_store_opts o = sp_cli_store_opts (g);
  struct sp_store_entry *es;
  sp_error_t err = NULL;
  double days = -1;
  size_t n;
  int c, status = 0;
  time_t now = time (NULL);

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:h", opts, NULL)) != -1)
    switch (c)
      {
      case ':':
        sp_error_printf ("sprout", "prune: %s needs a number of days", argv[optind - 1]);
        return SP_EXIT_FAILURE;
      case 'o':
        {
          char *end;
          days = strtod (optarg, &end);
          if (*optarg == '\0' || *end != '\0' || days < 0 || days > 1e6)
            {
              sp_error_printf ("sprout", "prune: --older-than %s: not a number of days", optarg);
              return SP_EXIT_FAILURE;
            }
          break;
        }
      case 'h':
        printf ("%s", usage);
        return 0;
      default:
        bad_option ("prune", argv[optind - 1]);
        return SP_EXIT_FAILURE;
      }
  if (optind < argc)
    {
      sp_error_printf ("sprout", "prune: unexpected argument \"%s\"", argv[optind]);
      return SP_EXIT_FAILURE;
    }
  if (sp_store_list (&o, &es, &n, &err) < 0)
    return sp_cli_fail (&err);
  for (size_t i = 0; i < n; i++)
    {
      if (days >= 0 && (double) (now - es[i].last_use) < days * 86400.0)
        continue;
      if (es[i].in_use)
        {
          if (!g->quiet)
            fprintf (stderr, "sprout: %s: in use; kept\n", es[i].digest);
          continue;
        }
      if (sp_store_remove (&o, es[i].digest, &err) < 0)
        {
          /* it may have come into use since we looked: say so and go on */
          status = sp_cli_fail (&err);
          continue;
        }
      if (!g->quiet)
        printf ("%s\n", es[i].digest);
    }
  sp_store_entries_free (es, n);
  return status;
}


int
cmd_via_importer (struct sp_global *g, int argc, char **argv)
{
  cleanup_free char *exe = NULL;
  sp_error_t err = NULL;
  char **v = xcalloc ((size_t) argc + 12, sizeof (char *));
  int n = 0;

  exe = sp_importer_path (&err);
  if (exe == NULL)
    {
      free (v);
      return sp_cli_fail (&err);
    }
  v[n++] = exe;
  if (g->cache_dir != NULL)
    {
      v[n++] = (char *) "--cache-dir";
      v[n++] = (char *) g->cache_dir;
    }
  for (int i = 0; i < g->verbose && i < 4; i++)
    v[n++] = (char *) "--verbose";
  if (g->quiet)
    v[n++] = (char *) "--quiet";
  for (int i = 0; i < argc; i++)
    v[n++] = argv[i];
  v[n] = NULL;
  fflush (stdout);
  execv (exe, v);
  sp_error_make (&err, errno, "cannot run the image importer %s", exe);
  free (v);
  return sp_cli_fail (&err);
}
