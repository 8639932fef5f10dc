/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_layer.c: libFuzzer target for layer application (helper/import/, lib/inroot.c).
 * The input is a layer blob (plain tar, or gzip/zstd by its magic) applied under a fresh
 * root inside a box directory. Besides the sanitizers' findings, anything created in the box outside
 * the root, or in the canary directory next to it, is an escape and aborts. */
#include "config.h"
#include "cache/tree.h"
#include "import/layer.h"
#include "import/oci.h"
#include "import/source.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static int boxfd = -1;
static char boxpath[4096]; /* $TMPDIR/sprout-fuzz-layer.XXXXXX */

/* The number of entries in directory name under boxfd, or -1. */
static int
count_entries (int dfd, const char *name)
{
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  int n = 0;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    return -1;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  setenv ("SPROUT_UNPACK_THREADS", "1", 1); /* deterministic: everything in this thread */
  const char *tmp = getenv ("TMPDIR");

  snprintf (boxpath, sizeof (boxpath), "%s/sprout-fuzz-layer.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp (boxpath) == NULL || (boxfd = open (boxpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
      || mkdirat (boxfd, "canary", 0755) < 0)
    {
      perror ("fuzz_layer: box");
      abort ();
    }
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sp_unpack u;
  struct sp_reader r = { .fd = -1, .ar = NULL, .size = (int64_t) size, .pos = 0 };
  struct sp_layer layer = { .member = (char *) "fuzz", .digest = NULL, .size = -1, .media_type = NULL };
  sp_error_t err = NULL;
  int rootfd;

  if (mkdirat (boxfd, "root", 0755) < 0 || (rootfd = openat (boxfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    abort ();
  r.fd = memfd_create ("layer", MFD_CLOEXEC);
  if (r.fd < 0 || (size > 0 && write (r.fd, data, size) != (ssize_t) size) || lseek (r.fd, 0, SEEK_SET) < 0)
    abort ();
  layer.comp = sp_compression_sniff (data, size);
  sp_unpack_init (&u, rootfd);
  if (sp_layer_apply (&u, &r, &layer, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                      "layer", &err)
      == 0)
    sp_unpack_finish (&u, &err);
  sp_error_free (&err);
  sp_unpack_free (&u);
  sp_reader_close (&r);
  close (rootfd);
  /* the oracle: the box holds the root and the empty canary, nothing else */
  if (count_entries (boxfd, ".") != 2 || count_entries (boxfd, "canary") != 0)
    {
      fprintf (stderr, "fuzz_layer: an entry escaped the root (see %s)\n", boxpath);
      abort ();
    }
  if (sp_rmtree_at (boxfd, "root") < 0)
    abort ();
  return 0;
}
