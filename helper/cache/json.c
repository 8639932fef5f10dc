/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c: the cache's JSON, in the importer only (see json.h). */
#include "config.h"
#include "cache/json.h"
#include "cache/cache.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_MAX (16u << 20)
#define CONFIG_MAX (4u << 20)

int
sp_cache_json_strv (json_t *j, const char *what, char ***out, sp_error_t *err)
{
  size_t i;
  json_t *v;
  char **r;

  *out = NULL;
  if (j == NULL || json_is_null (j))
    return 0;
  if (!json_is_array (j))
    return sp_error_make (err, 0, "%s: not an array of strings", what);
  r = xcalloc (json_array_size (j) + 1, sizeof (char *));
  json_array_foreach (j, i, v)
    {
      if (!json_is_string (v))
        {
          sp_strv_free (r);
          return sp_error_make (err, 0, "%s: not an array of strings", what);
        }
      r[i] = xstrdup (json_string_value (v));
    }
  *out = r;
  return 0;
}

/* The JSON object in the file open on fd (at most max bytes); NULL with *err. */
static json_t *
read_json_fd (int fd, const char *what, size_t max, sp_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct stat st;
  json_error_t jerr;
  json_t *j;
  ssize_t n;

  if (fd < 0 || fstat (fd, &st) < 0)
    {
      sp_error_make (err, errno, "%s", what);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      sp_error_make (err, 0, "%s: not a regular file", what);
      return NULL;
    }
  if ((uint64_t) st.st_size > max)
    {
      sp_error_make (err, 0, "%s: larger than %zu bytes", what, max);
      return NULL;
    }
  buf = xmalloc ((size_t) st.st_size + 1);
  n = sp_read_all (fd, buf, (size_t) st.st_size);
  if (n < 0)
    {
      sp_error_make (err, errno, "%s", what);
      return NULL;
    }
  j = json_loadb (buf, (size_t) n, 0, &jerr);
  if (!json_is_object (j))
    {
      json_decref (j);
      sp_error_make (err, 0, "%s: invalid JSON: %s (line %d)", what, jerr.text, jerr.line);
      return NULL;
    }
  return j;
}

int
sp_image_in_place (const char *ref, const char *path, bool bundle, struct sp_image *img, char **root, sp_error_t *err)
{
  cleanup_free char *what = xasprintf ("%s: config.json", ref);
  cleanup_free char *rp = NULL;
  cleanup_close int dfd = -1;
  cleanup_close int fd = -1;
  json_t *j, *proc, *v;
  const char *rootpath = "rootfs";
  struct stat st;

  if (root != NULL)
    *root = NULL;
  img->ref = xstrdup (ref);
  if (!bundle)
    {
      img->rootfs = xstrdup (path);
      img->env = xcalloc (2, sizeof (char *));
      img->env[0] = xstrdup (SP_DEFAULT_PATH);
      return 0;
    }
  dfd = openat (AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fd = openat (dfd, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  j = read_json_fd (fd, what, CONFIG_MAX, err);
  if (j == NULL)
    return -1;
  v = json_object_get (json_object_get (j, "root"), "path");
  if (json_is_string (v))
    rootpath = json_string_value (v);
  rp = rootpath[0] == '/' ? xstrdup (rootpath) : xasprintf ("%s/%s", path, rootpath);
  errno = 0;
  img->rootfs = realpath (rp, NULL);
  if (img->rootfs == NULL || stat (img->rootfs, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      int e = errno ? errno : ENOTDIR;
      json_decref (j);
      return sp_error_make (err, e, "%s: bundle root file system %s", ref, rp);
    }
  proc = json_object_get (j, "process");
  if (sp_cache_json_strv (json_object_get (proc, "env"), "config.json process.env", &img->env, err) < 0
      || sp_cache_json_strv (json_object_get (proc, "args"), "config.json process.args", &img->cmd, err) < 0)
    {
      json_decref (j);
      return sp_error_wrap (err, "%s", ref);
    }
  if (img->env == NULL)
    {
      img->env = xcalloc (2, sizeof (char *));
      img->env[0] = xstrdup (SP_DEFAULT_PATH);
    }
  v = json_object_get (proc, "cwd");
  if (json_is_string (v) && *json_string_value (v))
    img->workdir = xstrdup (json_string_value (v));
  json_decref (j);
  if (root != NULL)
    *root = steal_pointer (&rp);
  return 0;
}

/* The string at key of o, or NULL. */
static const char *
str_at (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_string (v) ? json_string_value (v) : NULL;
}

int
sp_cache_entry_migrate (struct sp_cache *s, const char *hex, sp_error_t *err)
{
  cleanup_close int efd = openat (s->images, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int mfd = -1;
  cleanup_free char *what = xasprintf ("cache %s/images/%s/meta.json", s->path, hex);
  char **env = NULL, **entrypoint = NULL, **cmd = NULL, **names = NULL;
  struct sp_entry_info info = { 0 };
  struct stat st;
  json_t *meta, *cfg;
  int ret = -1;

  if (efd < 0 || fstatat (efd, "record", &st, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  mfd = openat (efd, "meta.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (mfd < 0 && errno == ENOENT)
    return 0; /* neither: a damaged entry, which the import names */
  meta = read_json_fd (mfd, what, META_MAX, err);
  if (meta == NULL)
    return -1;
  cfg = json_object_get (meta, "config");
  info.digest = str_at (meta, "digest");
  if (!sp_cache_digest_valid (info.digest) || strcmp (info.digest + 7, hex) != 0)
    {
      sp_error_make (err, 0, "%s: its digest is not sha256:%s", what, hex);
      goto out;
    }
  if (sp_cache_json_strv (json_object_get (cfg, "Env"), "config.Env", &env, err) < 0
      || sp_cache_json_strv (json_object_get (cfg, "Entrypoint"), "config.Entrypoint", &entrypoint, err) < 0
      || sp_cache_json_strv (json_object_get (cfg, "Cmd"), "config.Cmd", &cmd, err) < 0
      || sp_cache_json_strv (json_object_get (meta, "names"), "names", &names, err) < 0)
    {
      sp_error_wrap (err, "%s", what);
      goto out;
    }
  info.size = (uint64_t) json_integer_value (json_object_get (meta, "size"));
  info.created = (time_t) json_integer_value (json_object_get (meta, "created"));
  info.env = env;
  info.entrypoint = entrypoint;
  info.cmd = cmd;
  info.workdir = str_at (cfg, "WorkingDir");
  info.user = str_at (cfg, "User");
  info.names = names;
  /* meta.json stays: an older sprout sharing this cache still reads it */
  if (sp_cache_entry_write (efd, &info, err) < 0)
    {
      sp_error_wrap (err, "cache %s/images/%s", s->path, hex);
      goto out;
    }
  ret = 1;
out:
  sp_strv_free (env);
  sp_strv_free (entrypoint);
  sp_strv_free (cmd);
  sp_strv_free (names);
  json_decref (meta);
  return ret;
}
