/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_imageref.c: the one image-reference parser (imageref.h), over a table of
 * references made on disk: every kind, tags, a path with ':' in it, and the refusals. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cache/imageref.h"
#include "util.h"
#include "tap.h"

static void
touch (const char *dir, const char *name)
{
  char p[4096];
  int fd;

  snprintf (p, sizeof (p), "%s/%s", dir, name);
  fd = open (p, O_WRONLY | O_CREAT, 0600);
  if (fd >= 0)
    close (fd);
}

static void
mkdirs (const char *base, const char *name)
{
  char p[4096];
  snprintf (p, sizeof (p), "%s/%s", base, name);
  mkdir (p, 0700);
}

int
main (void)
{
  char tmpl[] = "/tmp/test_imageref.XXXXXX";
  char *d = mkdtemp (tmpl);
  struct {
    const char *ref;   /* relative to d */
    int kind;          /* -1: refused */
    const char *tag;   /* expected tag, or NULL */
    const char *path;  /* expected path, relative to d */
    const char *error; /* a part of the expected message */
  } table[] = {
    { "layout", SP_IMAGEREF_LAYOUT, NULL, "layout", NULL },
    { "layout:v1", SP_IMAGEREF_LAYOUT, "v1", "layout", NULL },
    { "a.tar", SP_IMAGEREF_ARCHIVE, NULL, "a.tar", NULL },
    { "a.tar:v2", SP_IMAGEREF_ARCHIVE, "v2", "a.tar", NULL },
    { "with:colon", SP_IMAGEREF_LAYOUT, NULL, "with:colon", NULL },
    { "with:colon:v3", SP_IMAGEREF_LAYOUT, "v3", "with:colon", NULL },
    { "bundle", SP_IMAGEREF_BUNDLE, NULL, "bundle", NULL },
    { "root", SP_IMAGEREF_ROOTFS, NULL, "root", NULL },
    { "bundle:v1", -1, NULL, NULL, "has no tags" },
    { "root:v1", -1, NULL, NULL, "has no tags" },
    { "missing", -1, NULL, NULL, "No such file" },
    { "missing:v1", -1, NULL, NULL, "No such file" },
    { "layout:a/b", -1, NULL, NULL, "No such file" },
    { "empty", -1, NULL, NULL, "not an image" },
    { "fifo", -1, NULL, NULL, "not a directory or a regular file" },
    { "", -1, NULL, NULL, "empty name" },
  };

  if (d == NULL || chdir (d) < 0)
    {
      tap_ok (0, "a temporary directory");
      return tap_done ();
    }
  mkdirs (d, "layout");
  touch (d, "layout/index.json");
  touch (d, "a.tar");
  mkdirs (d, "with:colon");
  touch (d, "with:colon/index.json");
  mkdirs (d, "bundle");
  touch (d, "bundle/config.json");
  mkdirs (d, "root");
  mkdirs (d, "root/usr");
  mkdirs (d, "empty");
  mkfifo ("fifo", 0600);
  for (size_t i = 0; i < sizeof (table) / sizeof (table[0]); i++)
    {
      struct sp_imageref r;
      sp_error_t err = NULL;
      int ret = sp_imageref_parse (table[i].ref, &r, &err);

      if (table[i].kind < 0)
        {
          tap_ok (ret < 0 && err != NULL && strstr (err->msg, table[i].error) != NULL && r.path == NULL,
                  "\"%s\" is refused: %s", table[i].ref, err ? err->msg : "(accepted)");
        }
      else
        {
          cleanup_free char *want = xasprintf ("%s/%s", d, table[i].path);
          tap_ok (ret == 0 && (int) r.kind == table[i].kind && strcmp (r.path, want) == 0
                    && ((r.tag == NULL && table[i].tag == NULL)
                        || (r.tag && table[i].tag && strcmp (r.tag, table[i].tag) == 0))
                    && (r.fd >= 0) == (table[i].kind != SP_IMAGEREF_ARCHIVE),
                  "\"%s\" is a %s%s%s", table[i].ref, sp_imageref_kind_name ((enum sp_imageref_kind) table[i].kind),
                  table[i].tag ? " with tag " : "", table[i].tag ? table[i].tag : "");
          if (ret == 0)
            {
              cleanup_free char *name = table[i].tag ? xasprintf ("%s:%s", want, table[i].tag) : xstrdup (want);
              tap_ok (strcmp (r.name, name) == 0, "... named %s", r.name);
            }
        }
      sp_error_free (&err);
      sp_imageref_free (&r);
    }
  {
    char cmd[4200];
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", d);
    if (system (cmd) != 0)
      tap_ok (0, "cleanup");
  }
  return tap_done ();
}
