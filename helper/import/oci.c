/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci.c: see oci.h. */
#include "config.h"
#include "import/oci.h"
#include "cache/json.h"
#include "import/digest.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#define MAX_INDEX_BYTES (4u << 20)
#define MAX_CONFIG_BYTES (16u << 20)
#define MAX_NESTING 4

static char *
json_strdup (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_string (v) ? xstrdup (json_string_value (v)) : NULL;
}

int
sp_descriptor_parse (json_t *j, struct sp_descriptor *d, sp_error_t *err)
{
  json_t *size, *ann, *plat, *mt;

  memset (d, 0, sizeof (*d));
  if (!json_is_object (j))
    return sp_error_make (err, 0, "descriptor: not a JSON object");
  d->digest = json_strdup (j, "digest");
  if (d->digest == NULL)
    return sp_error_make (err, 0, "descriptor: no digest");
  if (!sp_digest_valid (d->digest))
    {
      int r = sp_has_prefix (d->digest, "sha256:")
                ? sp_error_make (err, 0, "descriptor: invalid digest \"%s\"", d->digest)
                : sp_error_make (err, 0, "descriptor: unsupported digest \"%s\" (sha256 only)", d->digest);
      sp_descriptor_free (d);
      return r;
    }
  size = json_object_get (j, "size");
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    {
      sp_descriptor_free (d);
      return sp_error_make (err, 0, "descriptor: missing or invalid size");
    }
  d->size = json_integer_value (size);
  mt = json_object_get (j, "mediaType");
  if (mt != NULL && !json_is_string (mt))
    {
      sp_descriptor_free (d);
      return sp_error_make (err, 0, "descriptor: mediaType is not a string");
    }
  d->media_type = json_strdup (j, "mediaType");
  ann = json_object_get (j, "annotations");
  if (json_is_object (ann))
    d->ref_name = json_strdup (ann, SP_REF_NAME_ANNOTATION);
  plat = json_object_get (j, "platform");
  if (json_is_object (plat))
    {
      d->arch = json_strdup (plat, "architecture");
      d->os = json_strdup (plat, "os");
      d->variant = json_strdup (plat, "variant");
    }
  return 0;
}

void
sp_descriptor_free (struct sp_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->ref_name);
  free (d->arch);
  free (d->os);
  free (d->variant);
  memset (d, 0, sizeof (*d));
}

int
sp_layer_media_type (const char *mt, enum sp_compression *comp, sp_error_t *err)
{
  static const struct {
    const char *mt;
    enum sp_compression c;
  } known[] = {
    { "application/vnd.oci.image.layer.v1.tar", SP_COMP_NONE },
    { "application/vnd.oci.image.layer.v1.tar+gzip", SP_COMP_GZIP },
    { "application/vnd.oci.image.layer.v1.tar+zstd", SP_COMP_ZSTD },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar", SP_COMP_NONE },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", SP_COMP_GZIP },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", SP_COMP_ZSTD },
    { "application/vnd.docker.image.rootfs.diff.tar", SP_COMP_NONE },
    { "application/vnd.docker.image.rootfs.diff.tar.gzip", SP_COMP_GZIP },
    { "application/vnd.docker.image.rootfs.diff.tar.zstd", SP_COMP_ZSTD },
    { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", SP_COMP_GZIP },
  };

  if (mt == NULL)
    return sp_error_make (err, 0, "layer without a media type");
  for (size_t i = 0; i < sizeof (known) / sizeof (known[0]); i++)
    if (strcmp (mt, known[i].mt) == 0)
      {
        *comp = known[i].c;
        return 0;
      }
  return sp_error_make (err, 0, "unknown layer media type \"%s\"", mt);
}

const char *
sp_platform_arch (void)
{
  static const struct {
    const char *uname, *oci;
  } map[] = {
    { "x86_64", "amd64" },    { "aarch64", "arm64" },   { "armv7l", "arm" },          { "armv6l", "arm" },
    { "i686", "386" },        { "i386", "386" },        { "ppc64le", "ppc64le" },     { "s390x", "s390x" },
    { "riscv64", "riscv64" }, { "mips64", "mips64le" }, { "loongarch64", "loong64" },
  };
  static struct utsname u;

  if (uname (&u) < 0)
    return "amd64";
  for (size_t i = 0; i < sizeof (map) / sizeof (map[0]); i++)
    if (strcmp (u.machine, map[i].uname) == 0)
      return map[i].oci;
  return u.machine;
}

static bool
tag_matches (const char *ref_name, const char *tag)
{
  size_t rl, tl;

  if (ref_name == NULL)
    return false;
  if (strcmp (ref_name, tag) == 0)
    return true;
  rl = strlen (ref_name);
  tl = strlen (tag);
  /* a full reference "docker.io/library/busybox:latest" carries the tag after its last ':' */
  return rl > tl + 1 && ref_name[rl - tl - 1] == ':' && strcmp (ref_name + rl - tl, tag) == 0
         && strchr (ref_name + rl - tl, '/') == NULL;
}

static char *
list_tags (const struct sp_descriptor *ds, size_t n)
{
  size_t len = 1;
  char *s;

  for (size_t i = 0; i < n; i++)
    len += ds[i].ref_name ? strlen (ds[i].ref_name) + 2 : 0;
  s = xcalloc (1, len);
  for (size_t i = 0; i < n; i++)
    if (ds[i].ref_name)
      {
        if (*s)
          strcat (s, ", ");
        strcat (s, ds[i].ref_name);
      }
  return s;
}

int
sp_index_select (const struct sp_descriptor *ds, size_t n, const char *tag, const char *arch, const char *os,
                 sp_error_t *err)
{
  cleanup_free bool *cand = xcalloc (n ? n : 1, sizeof (bool));
  size_t ncand = 0, nplat = 0;
  int first = -1;

  if (n == 0)
    return sp_error_make (err, 0, "the index lists no manifests");
  for (size_t i = 0; i < n; i++)
    {
      cand[i] = tag != NULL ? tag_matches (ds[i].ref_name, tag) : true;
      ncand += cand[i];
    }
  if (tag != NULL && ncand == 0)
    {
      cleanup_free char *tags = list_tags (ds, n);
      return sp_error_make (err, 0, "tag \"%s\" not found (tags: %s)", tag, *tags ? tags : "none");
    }
  if (tag == NULL && n > 1)
    {
      size_t nlatest = 0;
      for (size_t i = 0; i < n; i++)
        nlatest += ds[i].ref_name != NULL && tag_matches (ds[i].ref_name, "latest");
      if (nlatest > 0)
        for (size_t i = 0; i < n; i++)
          {
            cand[i] = ds[i].ref_name != NULL && tag_matches (ds[i].ref_name, "latest");
            ncand = nlatest;
          }
    }
  for (size_t i = 0; i < n; i++)
    if (cand[i] && first < 0)
      first = (int) i;
  if (ncand == 1)
    return first;
  /* several candidates: the platform decides */
  first = -1;
  for (size_t i = 0; i < n; i++)
    if (cand[i] && ds[i].arch != NULL && strcmp (ds[i].arch, arch) == 0
        && (ds[i].os == NULL || strcmp (ds[i].os, os) == 0))
      {
        nplat++;
        if (first < 0)
          first = (int) i;
      }
  if (nplat >= 1)
    return first;
  {
    cleanup_free char *tags = list_tags (ds, n);
    bool any_platform = false;
    for (size_t i = 0; i < n; i++)
      any_platform |= cand[i] && ds[i].arch != NULL;
    if (any_platform)
      return sp_error_make (err, 0, "no manifest for platform %s/%s", os, arch);
    return sp_error_make (err, 0, "%zu images in the index; name one as PATH:TAG (tags: %s)", n, *tags ? tags : "none");
  }
}

int
sp_config_parse (const char *json, size_t len, struct sp_config *c, sp_error_t *err)
{
  json_error_t jerr;
  json_t *root, *cfg, *rootfs, *v;

  memset (c, 0, sizeof (*c));
  root = json_loadb (json, len, 0, &jerr);
  if (root == NULL)
    return sp_error_make (err, 0, "image config: invalid JSON: %s (line %d)", jerr.text, jerr.line);
  if (!json_is_object (root))
    {
      json_decref (root);
      return sp_error_make (err, 0, "image config: not a JSON object");
    }
  cfg = json_object_get (root, "config");
  if (cfg != NULL && !json_is_null (cfg) && !json_is_object (cfg))
    goto bad;
  if (json_is_object (cfg))
    {
      if (sp_cache_json_strv (json_object_get (cfg, "Env"), "image config: Env", &c->env, err) < 0
          || sp_cache_json_strv (json_object_get (cfg, "Entrypoint"), "image config: Entrypoint", &c->entrypoint, err)
               < 0
          || sp_cache_json_strv (json_object_get (cfg, "Cmd"), "image config: Cmd", &c->cmd, err) < 0)
        {
          json_decref (root);
          sp_config_free (c);
          return -1;
        }
      v = json_object_get (cfg, "WorkingDir");
      if (json_is_string (v) && *json_string_value (v))
        c->workdir = xstrdup (json_string_value (v));
      v = json_object_get (cfg, "User");
      if (json_is_string (v) && *json_string_value (v))
        c->user = xstrdup (json_string_value (v));
    }
  rootfs = json_object_get (root, "rootfs");
  if (!json_is_object (rootfs)
      || sp_cache_json_strv (json_object_get (rootfs, "diff_ids"), "image config: rootfs.diff_ids", &c->diff_ids, err)
           < 0)
    {
      json_decref (root);
      sp_config_free (c);
      return sp_error_make (err, 0, "image config: no rootfs.diff_ids");
    }
  json_decref (root);
  if (c->diff_ids == NULL)
    c->diff_ids = xcalloc (1, sizeof (char *));
  for (char **d = c->diff_ids; *d; d++)
    if (!sp_digest_valid (*d))
      {
        int r = sp_error_make (err, 0, "image config: invalid diff_id \"%s\"", *d);
        sp_config_free (c);
        return r;
      }
  if (c->env == NULL)
    c->env = xcalloc (1, sizeof (char *));
  return 0;
bad:
  json_decref (root);
  return sp_error_make (err, 0, "image config: \"config\" is not an object");
}

void
sp_config_free (struct sp_config *c)
{
  sp_strv_free (c->env);
  sp_strv_free (c->entrypoint);
  sp_strv_free (c->cmd);
  sp_strv_free (c->diff_ids);
  free (c->workdir);
  free (c->user);
  memset (c, 0, sizeof (*c));
}

/* Read the blob d names and check its size and sha256 before anyone parses it. */
static int
read_blob (struct sp_source *src, const struct sp_descriptor *d, size_t max, char **data, size_t *len, sp_error_t *err)
{
  cleanup_free char *member = xasprintf ("blobs/sha256/%s", sp_digest_hex (d->digest));
  char got[SP_DIGEST_LEN + 1];

  if ((uint64_t) d->size > max)
    return sp_error_make (err, 0, "%s: blob %s: too big for JSON (%lld bytes)", src->ref, d->digest,
                          (long long) d->size);
  if (sp_source_read_member (src, member, max, data, len, err) < 0)
    return -1;
  if ((int64_t) *len != d->size)
    {
      free (steal_pointer (data));
      return sp_error_make (err, 0, "%s: blob %s: size is %zu, its descriptor says %lld", src->ref, d->digest, *len,
                            (long long) d->size);
    }
  sp_digest_buf (*data, *len, got);
  if (strcmp (got, d->digest) != 0)
    {
      free (steal_pointer (data));
      return sp_error_make (err, 0, "%s: blob %s: digest mismatch (content hashes to %s)", src->ref, d->digest, got);
    }
  return 0;
}

static json_t *
parse_json (struct sp_source *src, const char *what, const char *data, size_t len, sp_error_t *err)
{
  json_error_t jerr;
  json_t *j = json_loadb (data, len, 0, &jerr);

  if (j == NULL)
    sp_error_make (err, 0, "%s: %s: invalid JSON: %s (line %d)", src->ref, what, jerr.text, jerr.line);
  else if (!json_is_object (j) && !json_is_array (j))
    {
      json_decref (j);
      j = NULL;
      sp_error_make (err, 0, "%s: %s: not a JSON object", src->ref, what);
    }
  return j;
}

static bool
is_index_type (const char *mt)
{
  return mt != NULL
         && (strcmp (mt, "application/vnd.oci.image.index.v1+json") == 0
             || strcmp (mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

static bool
is_manifest_type (const char *mt)
{
  return mt != NULL
         && (strcmp (mt, "application/vnd.oci.image.manifest.v1+json") == 0
             || strcmp (mt, "application/vnd.docker.distribution.manifest.v2+json") == 0);
}

/* Pick one descriptor from an index object's "manifests". */
static int
select_from_index (struct sp_source *src, const char *what, json_t *index, const char *tag, struct sp_descriptor *out,
                   sp_error_t *err)
{
  json_t *arr = json_object_get (index, "manifests"), *v;
  struct sp_descriptor *ds;
  size_t n, i;
  int pick, ret = -1;

  if (!json_is_array (arr))
    return sp_error_make (err, 0, "%s: %s: no \"manifests\" list", src->ref, what);
  n = json_array_size (arr);
  ds = xcalloc (n ? n : 1, sizeof (*ds));
  json_array_foreach (arr, i, v)
    if (sp_descriptor_parse (v, &ds[i], err) < 0)
      {
        sp_error_wrap (err, "%s: %s: manifests[%zu]", src->ref, what, i);
        goto out;
      }
  pick = sp_index_select (ds, n, tag, sp_platform_arch (), "linux", err);
  if (pick < 0)
    {
      sp_error_wrap (err, "%s", src->name ? src->name : src->ref);
      goto out;
    }
  *out = ds[pick];
  memset (&ds[pick], 0, sizeof (ds[pick]));
  ret = 0;
out:
  for (i = 0; i < n; i++)
    sp_descriptor_free (&ds[i]);
  free (ds);
  return ret;
}

static int
resolve_layout (struct sp_source *src, struct sp_manifest *m, sp_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len;
  json_t *j, *cfg, *layers, *v;
  struct sp_descriptor d = { 0 }, cd = { 0 };
  size_t i;
  int depth, ret = -1;

  if (sp_source_read_member (src, "index.json", MAX_INDEX_BYTES, &data, &len, err) < 0)
    return -1;
  j = parse_json (src, "index.json", data, len, err);
  if (j == NULL)
    return -1;
  if (select_from_index (src, "index.json", j, src->tag, &d, err) < 0)
    {
      json_decref (j);
      return -1;
    }
  json_decref (j);
  for (depth = 0;; depth++)
    {
      json_t *mt;
      free (steal_pointer (&data));
      if (depth >= MAX_NESTING)
        {
          sp_error_make (err, 0, "%s: indexes nested too deep", src->ref);
          goto out;
        }
      if (d.media_type != NULL && !is_index_type (d.media_type) && !is_manifest_type (d.media_type))
        {
          sp_error_make (err, 0, "%s: %s: unknown manifest media type \"%s\"", src->ref, d.digest, d.media_type);
          goto out;
        }
      if (read_blob (src, &d, MAX_INDEX_BYTES, &data, &len, err) < 0)
        goto out;
      j = parse_json (src, d.digest, data, len, err);
      if (j == NULL)
        goto out;
      mt = json_object_get (j, "mediaType");
      if (is_index_type (d.media_type) || (json_is_string (mt) && is_index_type (json_string_value (mt)))
          || (d.media_type == NULL && json_object_get (j, "manifests") != NULL))
        {
          struct sp_descriptor next;
          if (select_from_index (src, d.digest, j, NULL, &next, err) < 0)
            {
              json_decref (j);
              goto out;
            }
          sp_descriptor_free (&d);
          d = next;
          json_decref (j);
          continue;
        }
      break;
    }
  /* j is the manifest */
  m->digest = xstrdup (d.digest);
  m->media_type = xstrdup (d.media_type ? d.media_type : "application/vnd.oci.image.manifest.v1+json");
  cfg = json_object_get (j, "config");
  layers = json_object_get (j, "layers");
  if (!json_is_object (cfg) || !json_is_array (layers))
    {
      sp_error_make (err, 0, "%s: manifest %s: no config or layers", src->ref, d.digest);
      json_decref (j);
      goto out;
    }
  if (sp_descriptor_parse (cfg, &cd, err) < 0)
    {
      sp_error_wrap (err, "%s: manifest %s: config", src->ref, d.digest);
      json_decref (j);
      goto out;
    }
  m->n_layers = json_array_size (layers);
  m->layers = xcalloc (m->n_layers ? m->n_layers : 1, sizeof (*m->layers));
  json_array_foreach (layers, i, v)
    {
      struct sp_descriptor ld;
      if (sp_descriptor_parse (v, &ld, err) < 0)
        {
          sp_error_wrap (err, "%s: manifest %s: layers[%zu]", src->ref, d.digest, i);
          json_decref (j);
          goto out;
        }
      if (sp_layer_media_type (ld.media_type, &m->layers[i].comp, err) < 0)
        {
          sp_error_wrap (err, "%s: layer %s", src->ref, ld.digest);
          sp_descriptor_free (&ld);
          json_decref (j);
          goto out;
        }
      m->layers[i].member = xasprintf ("blobs/sha256/%s", sp_digest_hex (ld.digest));
      m->layers[i].digest = steal_pointer (&ld.digest);
      m->layers[i].media_type = steal_pointer (&ld.media_type);
      m->layers[i].size = ld.size;
      sp_descriptor_free (&ld);
    }
  json_decref (j);
  free (steal_pointer (&data));
  if (read_blob (src, &cd, MAX_CONFIG_BYTES, &data, &len, err) < 0)
    goto out;
  if (sp_config_parse (data, len, &m->config, err) < 0)
    {
      sp_error_wrap (err, "%s: config %s", src->ref, cd.digest);
      goto out;
    }
  m->config_digest = xstrdup (cd.digest);
  m->config_json = steal_pointer (&data);
  ret = 0;
out:
  sp_descriptor_free (&d);
  sp_descriptor_free (&cd);
  return ret;
}

static int
resolve_docker_archive (struct sp_source *src, struct sp_manifest *m, sp_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len, i, n;
  json_t *j, *entry = NULL, *v, *layers;
  const char *cfg_name, *base;
  char digest[SP_DIGEST_LEN + 1];
  int ret = -1;

  if (sp_source_read_member (src, "manifest.json", MAX_INDEX_BYTES, &data, &len, err) < 0)
    return -1;
  j = parse_json (src, "manifest.json", data, len, err);
  if (j == NULL)
    return -1;
  if (!json_is_array (j) || json_array_size (j) == 0)
    {
      sp_error_make (err, 0, "%s: manifest.json: not a list of images", src->ref);
      goto out;
    }
  n = json_array_size (j);
  json_array_foreach (j, i, v)
    {
      json_t *tags = json_object_get (v, "RepoTags"), *t;
      size_t k;
      if (src->tag == NULL)
        continue;
      json_array_foreach (tags, k, t)
        if (json_is_string (t) && tag_matches (json_string_value (t), src->tag))
          entry = v;
    }
  if (entry == NULL)
    {
      if (src->tag != NULL)
        {
          sp_error_make (err, 0, "%s: tag \"%s\" not found in manifest.json RepoTags", src->ref, src->tag);
          goto out;
        }
      if (n > 1)
        {
          sp_error_make (err, 0, "%s: %zu images in the archive; name one as PATH:TAG", src->ref, n);
          goto out;
        }
      entry = json_array_get (j, 0);
    }
  cfg_name = json_string_value (json_object_get (entry, "Config"));
  layers = json_object_get (entry, "Layers");
  if (cfg_name == NULL || !json_is_array (layers))
    {
      sp_error_make (err, 0, "%s: manifest.json: entry without Config or Layers", src->ref);
      goto out;
    }
  free (steal_pointer (&data));
  if (sp_source_read_member (src, cfg_name, MAX_CONFIG_BYTES, &data, &len, err) < 0)
    goto out;
  sp_digest_buf (data, len, digest);
  /* the config's name carries its digest ("<hex>.json" or "blobs/sha256/<hex>"): check it */
  base = strrchr (cfg_name, '/') ? strrchr (cfg_name, '/') + 1 : cfg_name;
  if (strlen (base) >= 64 && strspn (base, "0123456789abcdef") == 64
      && (base[64] == '\0' || strcmp (base + 64, ".json") == 0) && strncmp (base, digest + 7, 64) != 0)
    {
      sp_error_make (err, 0, "%s: config %s: digest mismatch (content hashes to %s)", src->ref, cfg_name, digest);
      goto out;
    }
  if (sp_config_parse (data, len, &m->config, err) < 0)
    {
      sp_error_wrap (err, "%s: config %s", src->ref, cfg_name);
      goto out;
    }
  m->digest = xstrdup (digest);
  m->config_digest = xstrdup (digest);
  m->media_type = xstrdup ("docker-archive");
  m->config_json = steal_pointer (&data);
  m->n_layers = json_array_size (layers);
  m->layers = xcalloc (m->n_layers ? m->n_layers : 1, sizeof (*m->layers));
  json_array_foreach (layers, i, v)
    {
      if (!json_is_string (v))
        {
          sp_error_make (err, 0, "%s: manifest.json: Layers[%zu] is not a string", src->ref, i);
          goto out;
        }
      m->layers[i].member = xstrdup (json_string_value (v));
      m->layers[i].size = -1;
      m->layers[i].comp = SP_COMP_AUTO;
    }
  ret = 0;
out:
  json_decref (j);
  return ret;
}

int
sp_manifest_resolve (struct sp_source *src, struct sp_manifest *m, sp_error_t *err)
{
  int r;

  memset (m, 0, sizeof (*m));
  if (src->kind == SP_SRC_DOCKER_ARCHIVE)
    r = resolve_docker_archive (src, m, err);
  else if (src->kind == SP_SRC_LAYOUT || src->kind == SP_SRC_OCI_ARCHIVE)
    r = resolve_layout (src, m, err);
  else
    r = sp_error_make (err, 0, "%s: a %s has no manifest", src->ref, sp_source_kind_name (src->kind));
  if (r == 0 && sp_strv_len (m->config.diff_ids) != m->n_layers)
    r = sp_error_make (err, 0, "%s: the config lists %zu diff_ids for %zu layers", src->ref,
                       sp_strv_len (m->config.diff_ids), m->n_layers);
  if (r < 0)
    sp_manifest_free (m);
  return r;
}

void
sp_manifest_free (struct sp_manifest *m)
{
  for (size_t i = 0; m->layers != NULL && i < m->n_layers; i++)
    {
      free (m->layers[i].member);
      free (m->layers[i].digest);
      free (m->layers[i].media_type);
    }
  free (m->layers);
  free (m->digest);
  free (m->media_type);
  free (m->config_digest);
  free (m->config_json);
  sp_config_free (&m->config);
  memset (m, 0, sizeof (*m));
}
