/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_oci.c: libFuzzer target for the image JSON handling (helper/import/oci.c). The first byte
 * picks what the rest is:
 *   0  an image config (sp_config_parse)
 *   1  a descriptor (sp_descriptor_parse)
 *   2  an index: its manifests are parsed as descriptors and one is selected
 *   3  a manifest blob, resolved through a real layout whose index points at it
 *   4  a config blob, resolved through a layout whose manifest points at it
 *   5  index.json of a layout that holds one valid manifest and config
 * In 3-5 the harness writes the blobs under their true digests, so the parsers are
 * reached rather than the digest checks. */
#include "config.h"
#include "import/digest.h"
#include "import/oci.h"
#include "import/source.h"
#include "util.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static char layout[4096]; /* $TMPDIR/sprout-fuzz-oci.XXXXXX */
static int layoutfd = -1;
static char written[2][128]; /* blobs written for this input, removed after it */
static int n_written;
static const char good_config[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"]},"
                                  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

static void
put (const char *name, const void *buf, size_t len)
{
  int fd = openat (layoutfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

  if (fd < 0 || (len > 0 && write (fd, buf, len) != (ssize_t) len) || close (fd) < 0)
    {
      perror (name);
      abort ();
    }
}

/* Write buf as a blob; its digest goes to out. */
static void
put_blob (const void *buf, size_t len, char out[SP_DIGEST_LEN + 1])
{
  char name[128];

  sp_digest_buf (buf, len, out);
  snprintf (name, sizeof (name), "blobs/sha256/%s", out + 7);
  put (name, buf, len);
  if (n_written < 2)
    memcpy (written[n_written++], name, sizeof (name));
}

static char *
manifest_for (const char *config_digest, size_t config_len)
{
  return xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
                    "\"size\":%zu},\"layers\":[]}",
                    config_digest, config_len);
}

static void
put_index (const char *manifest_digest, size_t manifest_len)
{
  cleanup_free char *idx = xasprintf (
    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}",
    manifest_digest, manifest_len);
  put ("index.json", idx, strlen (idx));
}

static void
resolve (void)
{
  struct sp_source src;
  struct sp_manifest m;
  sp_error_t err = NULL;

  memset (&src, 0, sizeof (src));
  memset (&m, 0, sizeof (m));
  if (sp_source_open (layout, &src, &err) == 0)
    sp_manifest_resolve (&src, &m, &err);
  sp_manifest_free (&m);
  sp_source_close (&src);
  sp_error_free (&err);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  const char *tmp = getenv ("TMPDIR");

  snprintf (layout, sizeof (layout), "%s/sprout-fuzz-oci.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp (layout) == NULL || (layoutfd = open (layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
      || mkdirat (layoutfd, "blobs", 0755) < 0 || mkdirat (layoutfd, "blobs/sha256", 0755) < 0)
    {
      perror ("fuzz_oci: layout");
      abort ();
    }
  put ("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *in;
  size_t n;
  sp_error_t err = NULL;
  char cd[SP_DIGEST_LEN + 1], md[SP_DIGEST_LEN + 1];

  if (size < 1)
    return 0;
  in = (const char *) data + 1;
  n = size - 1;
  switch (data[0] % 6)
    {
    case 0:
      {
        struct sp_config c;
        memset (&c, 0, sizeof (c));
        sp_config_parse (in, n, &c, &err);
        sp_config_free (&c);
        break;
      }
    case 1:
    case 2:
      {
        json_t *j = json_loadb (in, n, 0, NULL);
        if (j == NULL)
          break;
        if (data[0] % 6 == 1)
          {
            struct sp_descriptor d;
            memset (&d, 0, sizeof (d));
            sp_descriptor_parse (j, &d, &err);
            sp_descriptor_free (&d);
          }
        else
          {
            json_t *ms = json_object_get (j, "manifests");
            size_t k = json_is_array (ms) ? json_array_size (ms) : 0, ok = 0;
            struct sp_descriptor *ds = xcalloc (k + 1, sizeof (*ds));
            for (size_t i = 0; i < k; i++)
              {
                sp_error_free (&err);
                if (sp_descriptor_parse (json_array_get (ms, i), &ds[ok], &err) == 0)
                  ok++;
                else
                  sp_descriptor_free (&ds[ok]);
              }
            sp_error_free (&err);
            if (ok > 0)
              sp_index_select (ds, ok, (data[0] & 0x80) ? "latest" : NULL, "amd64", "linux", &err);
            for (size_t i = 0; i < ok; i++)
              sp_descriptor_free (&ds[i]);
            free (ds);
          }
        json_decref (j);
        break;
      }
    case 3:
      put_blob (in, n, md);
      put_index (md, n);
      resolve ();
      break;
    case 4:
      {
        cleanup_free char *man = NULL;
        put_blob (in, n, cd);
        man = manifest_for (cd, n);
        put_blob (man, strlen (man), md);
        put_index (md, strlen (man));
        resolve ();
        break;
      }
    case 5:
      {
        cleanup_free char *man = NULL;
        put_blob (good_config, strlen (good_config), cd);
        man = manifest_for (cd, strlen (good_config));
        put_blob (man, strlen (man), md);
        put ("index.json", in, n);
        resolve ();
        break;
      }
    }
  sp_error_free (&err);
  while (n_written > 0)
    unlinkat (layoutfd, written[--n_written], 0);
  return 0;
}
