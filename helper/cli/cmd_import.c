/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_import.c: the importer's verbs (sprout-import): import, inspect, and digest
 * (for `sprout rm IMAGE`). `sprout import|inspect` exec them unchanged. */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cli/cli.h"
#include "error.h"
#include "cache/store.h"
#include "util.h"

int
cmd_import (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] = "Usage: sprout import IMAGE...\n\n"
                              "Verify IMAGE and unpack it into the cache; print its manifest digest.\n"
                              "IMAGE: an OCI layout directory (PATH or PATH:TAG), an oci-archive or docker-archive\n"
                              "tar, an OCI runtime bundle or a root file system directory (the last two are used\n"
                              "in place: nothing is unpacked).\n";
  struct sp_store_opts o = sp_cli_store_opts (g);
  int first, status = 0;

  first = sp_cli_parse_simple (argc, argv, usage, 1, &status);
  if (first < 0)
    return status;
  for (int i = first; i < argc; i++)
    {
      struct sp_image img;
      sp_error_t err = NULL;

      if (sp_image_import (&o, argv[i], &img, &err) < 0)
        {
          status = sp_cli_fail (&err);
          continue;
        }
      if (img.digest != NULL)
        printf ("%s\n", img.digest);
      else if (!g->quiet)
        fprintf (stderr, "sprout: %s: used in place (%s); nothing to import\n", argv[i], img.rootfs);
      sp_image_release (&img);
    }
  return status;
}


int
cmd_inspect (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] = "Usage: sprout inspect IMAGE\n\n"
                              "Show IMAGE's manifest digest, layers and config (Env, WorkingDir, Entrypoint, Cmd)\n"
                              "as JSON, without unpacking it.\n";
  struct sp_store_opts o = sp_cli_store_opts (g);
  sp_error_t err = NULL;
  char *text;
  int first, status = 0;

  first = sp_cli_parse_simple (argc, argv, usage, 1, &status);
  if (first < 0)
    return status;
  if (argc - first > 1)
    {
      sp_error_printf ("sprout", "inspect: one IMAGE at a time");
      return SP_EXIT_FAILURE;
    }
  text = sp_image_inspect (&o, argv[first], &err);
  if (text == NULL)
    return sp_cli_fail (&err);
  printf ("%s\n", text);
  free (text);
  return 0;
}

int
cmd_digest (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] = "Usage: sprout-import digest IMAGE\n\n"
                              "Print the manifest digest IMAGE resolves to, without unpacking it.\n";
  sp_error_t err = NULL;
  cleanup_free char *digest = NULL;
  int first, status = 0;

  (void) g;
  first = sp_cli_parse_simple (argc, argv, usage, 1, &status);
  if (first < 0)
    return status;
  digest = sp_image_resolve_digest (argv[first], &err);
  if (digest == NULL)
    return sp_cli_fail (&err);
  printf ("%s\n", digest);
  return 0;
}

int
cmd_bundle (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] =
    "Usage: sprout-import bundle BUNDLE\n\n"
    "Record BUNDLE's run config (from its config.json) in the cache's ref index (for sprout).\n";
  struct sp_store_opts o = sp_cli_store_opts (g);
  struct sp_image img;
  sp_error_t err = NULL;
  int first, status = 0;

  first = sp_cli_parse_simple (argc, argv, usage, 1, &status);
  if (first < 0)
    return status;
  if (sp_image_import (&o, argv[first], &img, &err) < 0)
    return sp_cli_fail (&err);
  sp_image_release (&img);
  return 0;
}

/* `sprout-import user self`: the caller's passwd and group entries from NSS, for sprout,
 * which is static and has no NSS of its own (user.h): "UID GID", then the passwd line,
 * then the group line (each empty when NSS has none). */
int
cmd_user (struct sp_global *g, int argc, char **argv)
{
  static const char usage[] = "Usage: sprout-import user self\n\n"
                              "Print the caller's ids, passwd entry and primary group entry (for sprout).\n";
  struct passwd *pw;
  struct group *gr;
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  int first, status = 0;

  (void) g;
  first = sp_cli_parse_simple (argc, argv, usage, 1, &status);
  if (first < 0)
    return status;
  printf ("%lu %lu\n", (unsigned long) uid, (unsigned long) gid);
  pw = getpwuid (uid);
  if (pw != NULL && strchr (pw->pw_name, '\n') == NULL && strchr (pw->pw_gecos ? pw->pw_gecos : "", '\n') == NULL
      && strchr (pw->pw_dir, '\n') == NULL && strchr (pw->pw_shell, '\n') == NULL)
    printf ("%s:x:%lu:%lu:%s:%s:%s", pw->pw_name, (unsigned long) uid, (unsigned long) pw->pw_gid,
            pw->pw_gecos ? pw->pw_gecos : "", pw->pw_dir, pw->pw_shell);
  printf ("\n");
  gr = getgrgid (gid);
  if (gr != NULL && strchr (gr->gr_name, '\n') == NULL)
    printf ("%s:x:%lu:", gr->gr_name, (unsigned long) gid);
  printf ("\n");
  return fflush (stdout) == 0 ? 0 : SP_EXIT_FAILURE;
}
