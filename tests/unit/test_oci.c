/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_oci.c: descriptor, media type, index selection and config parsing. */
#include "config.h"
#include <string.h>
#include "import/oci.h"
#include "util.h"
#include "tap.h"

#define D64 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static int
parse (const char *text, struct sp_descriptor *d, sp_error_t *err)
{
  json_t *j = json_loads (text, 0, NULL);
  int r = sp_descriptor_parse (j, d, err);
  json_decref (j);
  return r;
}

int
main (void)
{
  struct sp_descriptor d;
  sp_error_t err = NULL;
  enum sp_compression c;
  struct sp_config cfg;

  TAP_IS_INT (parse ("{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" D64
                     "\",\"size\":348,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"},"
                     "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}",
                     &d, &err),
              0, "parse a full descriptor");
  tap_ok (d.size == 348 && strcmp (d.ref_name, "v1") == 0 && strcmp (d.arch, "arm64") == 0
            && strcmp (d.variant, "v8") == 0,
          "size, ref.name and platform read");
  sp_descriptor_free (&d);
  TAP_IS_INT (parse ("{\"digest\":\"sha256:" D64 "\"}", &d, &err), -1, "size is required");
  tap_ok (err && strstr (err->msg, "size"), "error names the size: %s", err ? err->msg : "");
  sp_error_free (&err);
  TAP_IS_INT (parse ("{\"digest\":\"sha256:" D64 "\",\"size\":-1}", &d, &err), -1, "a negative size is refused");
  sp_error_free (&err);
  TAP_IS_INT (parse ("{\"digest\":\"sha256:../../x\",\"size\":1}", &d, &err), -1, "a digest with a path is refused");
  sp_error_free (&err);
  TAP_IS_INT (parse ("{\"digest\":\"sha512:" D64 D64 "\",\"size\":1}", &d, &err), -1, "sha512 is refused");
  tap_ok (err && strstr (err->msg, "unsupported digest"), "and said so: %s", err ? err->msg : "");
  sp_error_free (&err);
  TAP_IS_INT (parse ("[1,2]", &d, &err), -1, "a non-object is refused");
  sp_error_free (&err);

  TAP_IS_INT (sp_layer_media_type ("application/vnd.oci.image.layer.v1.tar+gzip", &c, &err), 0, "OCI gzip layer");
  TAP_IS_INT (c, SP_COMP_GZIP, "is gzip");
  sp_layer_media_type ("application/vnd.oci.image.layer.v1.tar+zstd", &c, &err);
  TAP_IS_INT (c, SP_COMP_ZSTD, "OCI zstd layer is zstd");
  sp_layer_media_type ("application/vnd.oci.image.layer.v1.tar", &c, &err);
  TAP_IS_INT (c, SP_COMP_NONE, "OCI plain layer is uncompressed");
  sp_layer_media_type ("application/vnd.docker.image.rootfs.diff.tar.gzip", &c, &err);
  TAP_IS_INT (c, SP_COMP_GZIP, "Docker v2 layer is gzip");
  TAP_IS_INT (sp_layer_media_type ("application/x-tar-bz2", &c, &err), -1, "unknown media type refused");
  tap_ok (err && strstr (err->msg, "application/x-tar-bz2"), "error names the media type");
  sp_error_free (&err);

  {
    struct sp_descriptor ds[4] = {
      { .ref_name = "v1" },
      { .ref_name = "v2" },
      { .ref_name = "docker.io/library/busybox:latest" },
      { .ref_name = NULL },
    };
    TAP_IS_INT (sp_index_select (ds, 4, "v2", "amd64", "linux", &err), 1, "tag picks its manifest");
    TAP_IS_INT (sp_index_select (ds, 4, "latest", "amd64", "linux", &err), 2, "tag matches a full reference's tag");
    TAP_IS_INT (sp_index_select (ds, 4, NULL, "amd64", "linux", &err), 2, "no tag: latest");
    TAP_IS_INT (sp_index_select (ds, 2, NULL, "amd64", "linux", &err), -1, "no tag, no latest, two images: refused");
    tap_ok (err && strstr (err->msg, "tags: v1, v2"), "the error lists the tags: %s", err ? err->msg : "");
    sp_error_free (&err);
    TAP_IS_INT (sp_index_select (ds, 4, "v3", "amd64", "linux", &err), -1, "unknown tag refused");
    sp_error_free (&err);
    TAP_IS_INT (sp_index_select (ds, 1, NULL, "amd64", "linux", &err), 0, "a single manifest needs no tag");
    TAP_IS_INT (sp_index_select (ds, 0, NULL, "amd64", "linux", &err), -1, "an empty index is refused");
    sp_error_free (&err);
  }
  {
    struct sp_descriptor ds[3] = {
      { .arch = "arm64", .os = "linux" },
      { .arch = "amd64", .os = "linux" },
      { .arch = "unknown", .os = "unknown" },
    };
    TAP_IS_INT (sp_index_select (ds, 3, NULL, "amd64", "linux", &err), 1, "multi-platform: this machine's");
    TAP_IS_INT (sp_index_select (ds, 3, NULL, "arm64", "linux", &err), 0, "multi-platform: arm64");
    TAP_IS_INT (sp_index_select (ds, 3, NULL, "s390x", "linux", &err), -1, "no manifest for the platform");
    tap_ok (err && strstr (err->msg, "linux/s390x"), "the error names the platform");
    sp_error_free (&err);
  }

  {
    static const char good[] = "{\"config\":{\"Env\":[\"PATH=/bin\",\"A=b\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/w\"},"
                               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" D64 "\"]}}";
    TAP_IS_INT (sp_config_parse (good, strlen (good), &cfg, &err), 0, "parse a config");
    tap_ok (sp_strv_len (cfg.env) == 2 && strcmp (cfg.cmd[0], "sh") == 0 && cfg.entrypoint == NULL
              && strcmp (cfg.workdir, "/w") == 0 && sp_strv_len (cfg.diff_ids) == 1,
            "Env, Cmd, WorkingDir, diff_ids");
    sp_config_free (&cfg);
    TAP_IS_INT (sp_config_parse ("{\"rootfs\":{\"diff_ids\":[]}}", 26, &cfg, &err), 0, "a config without config");
    tap_ok (cfg.env != NULL && cfg.env[0] == NULL, "Env is empty, never NULL");
    sp_config_free (&cfg);
    TAP_IS_INT (sp_config_parse ("{\"config\":{\"Env\":\"PATH=/bin\"},\"rootfs\":{\"diff_ids\":[]}}", 53, &cfg, &err),
                -1, "Env that is not a list is refused");
    sp_error_free (&err);
    TAP_IS_INT (sp_config_parse ("{\"rootfs\":{\"diff_ids\":[\"md5:x\"]}}", 34, &cfg, &err), -1,
                "a bad diff_id is refused");
    sp_error_free (&err);
    TAP_IS_INT (sp_config_parse ("{not json", 9, &cfg, &err), -1, "invalid JSON is refused");
    tap_ok (err && strstr (err->msg, "invalid JSON"), "and said so");
    sp_error_free (&err);
  }
  return tap_done ();
}
