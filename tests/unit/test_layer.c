/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_layer.c: whiteouts, opaque directories and final directory modes through
 * sp_layer_apply (resolution inside the root is tests/unit/test_inroot.c's). */
#include "config.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "import/digest.h"
#include "cache/tree.h"
#include "import/layer.h"
#include "import/oci.h"
#include "import/source.h"
#include "util.h"
#include "tap.h"

static char tmpl[] = "/tmp/sprout-test-layer.XXXXXX";

struct ent {
  const char *name;
  mode_t type;
  mode_t perm;
  const char *data;
};

/* Write a tar of ents to path; return its sha256 in diff_id. */
static void
write_tar (const char *path, const struct ent *ents, char diff_id[SP_DIGEST_LEN + 1])
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  FILE *f;
  char buf[65536];
  size_t n;
  struct sp_digest d;

  archive_write_set_format_pax_restricted (a);
  archive_write_open_filename (a, path);
  for (; ents->name; ents++)
    {
      archive_entry_clear (e);
      archive_entry_set_pathname (e, ents->name);
      archive_entry_set_filetype (e, ents->type);
      archive_entry_set_perm (e, ents->perm);
      archive_entry_set_mtime (e, 1700000000, 0);
      if (ents->type == AE_IFLNK)
        {
          archive_entry_set_symlink (e, ents->data); /* data: the link's target */
          archive_write_header (a, e);
          continue;
        }
      archive_entry_set_size (e, ents->data ? (la_int64_t) strlen (ents->data) : 0);
      archive_write_header (a, e);
      if (ents->data)
        archive_write_data (a, ents->data, strlen (ents->data));
    }
  archive_write_close (a);
  archive_write_free (a);
  archive_entry_free (e);
  sp_digest_init (&d, NULL);
  f = fopen (path, "rb");
  while ((n = fread (buf, 1, sizeof (buf), f)) > 0)
    sp_digest_update (&d, buf, n);
  fclose (f);
  sp_digest_final (&d, diff_id);
}

static int
apply (struct sp_unpack *u, const char *path, const char *diff_id, sp_error_t *err)
{
  struct sp_layer l = { .member = (char *) path, .size = -1, .comp = SP_COMP_NONE };
  struct sp_reader r = { .fd = open (path, O_RDONLY | O_CLOEXEC), .size = -1 };
  int ret = sp_layer_apply (u, &r, &l, diff_id, path, err);
  sp_reader_close (&r);
  return ret;
}

int
main (void)
{
  char *dir = mkdtemp (tmpl);
  cleanup_free char *root = NULL;
  cleanup_free char *l1 = NULL;
  cleanup_free char *l2 = NULL;
  char id1[SP_DIGEST_LEN + 1], id2[SP_DIGEST_LEN + 1];
  int rootfd;
  sp_error_t err = NULL;
  struct sp_unpack u;
  struct stat st;

  if (dir == NULL)
    return tap_ok (0, "mkdtemp"), tap_done ();
  /* layers: whiteouts, an opaque directory that spares this layer's own entries, modes */
  root = xasprintf ("%s/layers", dir);
  mkdir (root, 0755);
  rootfd = open (root, O_RDONLY | O_DIRECTORY);
  l1 = xasprintf ("%s/l1.tar", dir);
  l2 = xasprintf ("%s/l2.tar", dir);
  {
    const struct ent e1[] = {
      { "d", AE_IFDIR, 0755, NULL },
      { "d/f1", AE_IFREG, 0644, "one" },
      { "d/f2", AE_IFREG, 0644, "two" },
      { "o", AE_IFDIR, 0755, NULL },
      { "o/x", AE_IFREG, 0644, "x" },
      { "o/sub", AE_IFDIR, 0755, NULL },
      { "o/sub/deep", AE_IFREG, 0644, "deep" },
      { "ro", AE_IFDIR, 0555, NULL },
      { "ro/f", AE_IFREG, 0444, "f" },
      { "ro/inner", AE_IFDIR, 0500, NULL },
      { "ro/inner/g", AE_IFREG, 0600, "g" },
      { "suid", AE_IFREG, 04755, "s" },
      { NULL, 0, 0, NULL },
    };
    const struct ent e2[] = {
      { "d/.wh.f1", AE_IFREG, 0644, NULL },
      { "o/y", AE_IFREG, 0644, "y" },
      { "o/.wh..wh..opq", AE_IFREG, 0644, NULL },
      { "o/z", AE_IFREG, 0644, "z" },
      { "ro/f2", AE_IFREG, 0644, "written into a 0555 directory of layer 1" },
      { NULL, 0, 0, NULL },
    };
    write_tar (l1, e1, id1);
    write_tar (l2, e2, id2);
  }
  sp_unpack_init (&u, rootfd);
  TAP_IS_INT (apply (&u, l1, id1, &err), 0, "layer 1 applies");
  if (err)
    tap_ok (0, "%s", err->msg), sp_error_free (&err);
  TAP_IS_INT (apply (&u, l2, id2, &err), 0, "layer 2 applies (into a directory that will be 0555)");
  if (err)
    tap_ok (0, "%s", err->msg), sp_error_free (&err);
  TAP_IS_INT (sp_unpack_finish (&u, &err), 0, "final modes applied");
  tap_ok (faccessat (rootfd, "d/f1", F_OK, AT_SYMLINK_NOFOLLOW) < 0, ".wh.f1 removed d/f1");
  tap_ok (faccessat (rootfd, "d/f2", F_OK, AT_SYMLINK_NOFOLLOW) == 0, "d/f2 kept");
  tap_ok (faccessat (rootfd, "o/x", F_OK, AT_SYMLINK_NOFOLLOW) < 0
            && faccessat (rootfd, "o/sub", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
          "opaque o/ lost the lower layer's entries");
  tap_ok (faccessat (rootfd, "o/y", F_OK, AT_SYMLINK_NOFOLLOW) == 0, "opaque o/ kept the same layer's earlier entry");
  tap_ok (faccessat (rootfd, "o/z", F_OK, AT_SYMLINK_NOFOLLOW) == 0, "and its later entry");
  tap_ok (fstatat (rootfd, "ro", &st, 0) == 0 && (st.st_mode & 07777) == 0555, "ro/ got its final mode 0555");
  tap_ok (fstatat (rootfd, "ro/inner", &st, 0) == 0 && (st.st_mode & 07777) == 0500, "ro/inner got 0500");
  tap_ok (fstatat (rootfd, "ro/f2", &st, 0) == 0 && S_ISREG (st.st_mode), "a later layer wrote into ro/");
  tap_ok (fstatat (rootfd, "ro", &st, 0) == 0 && st.st_mtime == 1700000000, "directory mtime kept");
  tap_ok (fstatat (rootfd, "suid", &st, 0) == 0 && (st.st_mode & 07777) == 04755,
          "setuid bit kept (owned by the user)");
  TAP_IS_INT (u.n_whiteouts, 2, "two whiteouts counted");

  sp_unpack_free (&u);

  /* a wrong diff_id fails, naming it */
  close (rootfd);
  free (root);
  root = xasprintf ("%s/wrong", dir);
  mkdir (root, 0755);
  rootfd = open (root, O_RDONLY | O_DIRECTORY);
  sp_unpack_init (&u, rootfd);
  TAP_IS_INT (apply (&u, l1, id2, &err), -1, "a layer with the wrong diff_id fails");
  tap_ok (err && strstr (err->msg, "diff_id"), "the error says diff_id: %s", err ? err->msg : "");
  sp_error_free (&err);
  sp_unpack_free (&u);

  /* an entry below a symlink that points nowhere: no directory is made through it */
  {
    const struct ent e3[] = {
      { "s", AE_IFLNK, 0777, "/nowhere" },
      { "s/x", AE_IFREG, 0644, "x" },
      { NULL, 0, 0, NULL },
    };
    cleanup_free char *l3 = xasprintf ("%s/l3.tar", dir);
    char id3[SP_DIGEST_LEN + 1];

    close (rootfd);
    free (root);
    root = xasprintf ("%s/dangling", dir);
    mkdir (root, 0755);
    rootfd = open (root, O_RDONLY | O_DIRECTORY);
    write_tar (l3, e3, id3);
    sp_unpack_init (&u, rootfd);
    TAP_IS_INT (apply (&u, l3, id3, &err), -1, "an entry below a dangling symlink fails");
    tap_ok (err && strstr (err->msg, "s/x: a symlink on its way points to a missing path"), "saying so: %s",
            err ? err->msg : "");
    tap_ok (faccessat (rootfd, "nowhere", F_OK, AT_SYMLINK_NOFOLLOW) < 0, "nothing made through it");
    sp_error_free (&err);
    sp_unpack_free (&u);
  }

  sp_rmtree_at (AT_FDCWD, dir);
  tap_ok (access (dir, F_OK) < 0, "sp_rmtree_at removes a tree with 0500/0555 directories");
  close (rootfd);
  return tap_done ();
}
