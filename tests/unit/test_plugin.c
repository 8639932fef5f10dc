/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_plugin.c: the SPANK plugin's parsers, without Slurm: plugstack.conf arguments
 * (plugin/config.c), option values and the settings they resolve to with their SPROUT_*
 * twins (plugin/settings.c). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "sprout_spank.h"
#include "util.h"
#include "tap.h"

/* A job environment for the SPROUT_* twins: NAME=VALUE strings, NULL-terminated. */
static char *
fake_getenv (void *ctx, const char *name)
{
  size_t n = strlen (name);

  for (char **e = ctx; e != NULL && *e != NULL; e++)
    if (strncmp (*e, name, n) == 0 && (*e)[n] == '=')
      return strdup (*e + n + 1);
  return NULL;
}

/* Parse plugstack arguments (space-separated in one string); 0 or -1, error text in msg. */
static int
conf (struct sp_config *c, const char *args, char *msg, size_t cap)
{
  char *copy = strdup (args), *av[16], *save = NULL;
  int ac = 0, r;
  sp_error_t err = NULL;

  for (char *t = strtok_r (copy, " ", &save); t != NULL && ac < 16; t = strtok_r (NULL, " ", &save))
    av[ac++] = t;
  r = sp_config_parse_args (c, ac, av, &err);
  snprintf (msg, cap, "%s", err != NULL ? err->msg : "");
  sp_error_free (&err);
  free (copy);
  return r;
}

static void
test_config (void)
{
  struct sp_config c;
  char msg[512];
  sp_error_t err = NULL;
  char *s;

  TAP_IS_INT (conf (&c, "", msg, sizeof (msg)), 0, "plugstack: no arguments");
  tap_ok (c.helper != NULL && c.helper[0] == '/' && strstr (c.helper, "/sprout") != NULL,
          "plugstack: default helper is an absolute sprout (%s)", c.helper);
  tap_ok (c.remap_root == SP_UNSET && c.writable == SP_UNSET && c.mount_home == SP_UNSET && c.cache_dir == NULL,
          "plugstack: booleans unset, no cache_dir");
  sp_config_clear (&c);
  TAP_IS_INT (conf (&c,
                    "helper=/opt/sprout/bin/sprout cache_dir=/scratch/%u/%n mounts=/data:/data:ro,/a:/b:ro+rprivate "
                    "remap_root=1 writable=0 mount_home=0",
                    msg, sizeof (msg)),
              0, "plugstack: every key");
  tap_ok (strcmp (c.helper, "/opt/sprout/bin/sprout") == 0 && strcmp (c.cache_dir, "/scratch/%u/%n") == 0,
          "plugstack: helper and cache_dir kept");
  tap_ok (c.remap_root == 1 && c.writable == 0 && c.mount_home == 0, "plugstack: booleans");
  tap_ok (c.mounts != NULL && strcmp (c.mounts, "/data:/data:ro,/a:/b:ro+rprivate") == 0,
          "plugstack: mounts kept as written");
  sp_config_clear (&c);

  TAP_IS_INT (conf (&c, "colour=blue", msg, sizeof (msg)), -1, "plugstack: unknown key refused");
  tap_ok (strstr (msg, "unknown key 'colour'") != NULL && strstr (msg, "keys: helper") != NULL,
          "plugstack: the refusal names the key and the keys: %s", msg);
  TAP_IS_INT (conf (&c, "helper", msg, sizeof (msg)), -1, "plugstack: an argument without = refused");
  TAP_IS_INT (conf (&c, "helper=sprout", msg, sizeof (msg)), -1, "plugstack: relative helper refused");
  TAP_IS_INT (conf (&c, "helper=", msg, sizeof (msg)), -1, "plugstack: empty helper refused");
  TAP_IS_INT (conf (&c, "cache_dir=tmp/%u", msg, sizeof (msg)), -1, "plugstack: relative cache_dir refused");
  TAP_IS_INT (conf (&c, "remap_root=yes", msg, sizeof (msg)), -1, "plugstack: a boolean must be 0 or 1");
  TAP_IS_INT (conf (&c, "mounts=/a:b", msg, sizeof (msg)), -1, "plugstack: a bad mount refused");
  tap_ok (strstr (msg, "plugstack.conf: mounts") != NULL, "plugstack: the mount's error says where: %s", msg);
  TAP_IS_INT (conf (&c, "mounts=/a:/b:noexec", msg, sizeof (msg)), -1, "plugstack: an unknown mount flag refused");
  tap_ok (c.helper == NULL && c.mounts == NULL, "plugstack: nothing kept after a refusal");

  s = sp_config_expand ("/scratch/%u/%n/%%", 1234, "node7", &err);
  tap_ok (s != NULL && strcmp (s, "/scratch/1234/node7/%") == 0, "expand: %%u, %%n, %%%% (%s)", s ? s : "NULL");
  free (s);
  s = sp_config_expand ("/x/%q", 1, "n", &err);
  tap_ok (s == NULL && err != NULL && strstr (err->msg, "unknown escape '%q'") != NULL,
          "expand: unknown escape refused");
  sp_error_free (&err);
  s = sp_config_expand ("/x/%", 1, "n", &err);
  tap_ok (s == NULL && err != NULL, "expand: a trailing %% refused");
  sp_error_free (&err);
}

/* One mount spec: want is the helper's form, or NULL for a refusal whose message holds why. */
static void
mount_is (const char *spec, const char *want, const char *why)
{
  char *out = NULL;
  sp_error_t err = NULL;
  int r = sp_mount_spec_parse (spec, &out, &err);

  if (want != NULL)
    tap_ok (r == 0 && out != NULL && strcmp (out, want) == 0, "mount %s -> %s (got %s%s)", spec, want,
            out ? out : "NULL", err ? err->msg : "");
  else
    tap_ok (r == -1 && out == NULL && err != NULL && strstr (err->msg, why) != NULL, "mount %s refused: %s", spec,
            err ? err->msg : "not refused");
  free (out);
  sp_error_free (&err);
}

static void
test_mounts (void)
{
  char **v = NULL;
  sp_error_t err = NULL;

  mount_is ("/data:/data", "/data:/data", NULL);
  mount_is ("/data:/in", "/data:/in", NULL);
  mount_is ("/data:/in:ro", "/data:/in:ro", NULL);
  mount_is ("/data:/in:rw", "/data:/in", NULL);
  mount_is ("rel/src:/in", "rel/src:/in", NULL);
  /* pyxis's +-joined flags */
  mount_is ("/data:/in:ro+rprivate", "/data:/in:ro", NULL);
  mount_is ("/data:/in:rprivate+ro", "/data:/in:ro", NULL);
  mount_is ("/data:/in:rbind", "/data:/in", NULL);
  mount_is ("/data:/in:bind+rw+private", "/data:/in", NULL);
  mount_is ("/data:/in:rslave+ro+rbind", "/data:/in:ro", NULL);
  mount_is ("/data:/in:slave", "/data:/in", NULL);
  mount_is ("/data:/in:ro+ro", "/data:/in:ro", NULL);
  /* refusals, one line each */
  mount_is ("/data", NULL, "is not SRC:DST");
  mount_is (":/in", NULL, "is not SRC:DST");
  mount_is ("/data:", NULL, "must be an absolute path");
  mount_is ("/data:in", NULL, "must be an absolute path");
  mount_is ("/data:/in:", NULL, "an empty mount flag");
  mount_is ("/data:/in:ro+", NULL, "an empty mount flag");
  mount_is ("/data:/in:+ro", NULL, "an empty mount flag");
  mount_is ("/data:/in:ro++rprivate", NULL, "an empty mount flag");
  mount_is ("/data:/in:ro+rw", NULL, "ro and rw contradict");
  mount_is ("/data:/in:rshared", NULL, "not possible rootless");
  mount_is ("/data:/in:shared", NULL, "not possible rootless");
  mount_is ("/data:/in:noexec", NULL, "unknown mount flag 'noexec'");
  mount_is ("/data:/in:RO", NULL, "unknown mount flag 'RO'");
  mount_is ("/data:/in:ro:x", NULL, "unknown mount flag 'ro:x'");
  mount_is ("/data:/in:x-create=dir", NULL, "unknown mount flag 'x-create=dir'");

  TAP_IS_INT (sp_mounts_parse ("/a:/a,/b:/c:ro+rprivate,/d:/e:rw", &v, &err), 0, "a list of mounts");
  tap_ok (sp_strv_len (v) == 3 && strcmp (v[1], "/b:/c:ro") == 0 && strcmp (v[2], "/d:/e") == 0,
          "the list in the helper's form");
  sp_strv_free (v);
  TAP_IS_INT (sp_mounts_parse ("/a:/a,/b:c", &v, &err), -1, "one bad entry refuses the list");
  tap_ok (v == NULL, "and leaves no vector behind");
  sp_error_free (&err);
  TAP_IS_INT (sp_mounts_parse (",,", &v, &err), 0, "empty entries are skipped");
  tap_ok (v == NULL, "an empty list is no vector");
}

/* Resolve settings from the options applied in o, conf c and the job environment env. */
static int
resolve (const struct sp_config *c, const struct sp_cli *o, char **env, struct sp_settings *s, char *msg, size_t cap)
{
  sp_error_t err = NULL;
  int r = sp_settings_resolve (c, o, fake_getenv, env, s, &err);

  snprintf (msg, cap, "%s", err != NULL ? err->msg : "");
  sp_error_free (&err);
  return r;
}

static void
test_options (void)
{
  struct sp_config c;
  struct sp_cli o = { .remap_root = SP_UNSET, .writable = SP_UNSET, .mount_home = SP_UNSET };
  struct sp_settings s;
  sp_error_t err = NULL;
  char msg[512];

  conf (&c, "mounts=/admin:/admin:ro remap_root=1", msg, sizeof (msg));

  /* nothing given: plugstack, then defaults */
  TAP_IS_INT (resolve (&c, &o, NULL, &s, msg, sizeof (msg)), 0, "settings: no options");
  tap_ok (sp_strv_len (s.mounts) == 1 && strcmp (s.mounts[0], "/admin:/admin:ro") == 0, "settings: the admin's mount");
  tap_ok (s.remap_root && !s.writable && s.mount_home && s.workdir == NULL && s.keep_env == NULL,
          "settings: plugstack remap_root=1, defaults read-only, home bound");
  sp_settings_clear (&s);

  /* command line */
  TAP_IS_INT (sp_cli_apply (&o, SP_OPT_MOUNTS, "container-mounts", "/u:/u:ro+rprivate,/v:/w", &err), 0,
              "apply --container-mounts");
  tap_ok (o.first != NULL && strcmp (o.first, "container-mounts") == 0, "the first sprout option is remembered");
  sp_cli_apply (&o, SP_OPT_WORKDIR, "container-workdir", "/work", &err);
  sp_cli_apply (&o, SP_OPT_ENV, "container-env", "PATH,LANG", &err);
  sp_cli_apply (&o, SP_OPT_NO_REMAP_ROOT, "no-container-remap-root", NULL, &err);
  sp_cli_apply (&o, SP_OPT_WRITABLE, "container-writable", NULL, &err);
  sp_cli_apply (&o, SP_OPT_NO_MOUNT_HOME, "no-container-mount-home", NULL, &err);
  tap_ok (strcmp (o.first, "container-mounts") == 0, "later options do not replace the first");
  {
    char *env[] = { "SPROUT_CONTAINER_MOUNTS=/e:/e", "SPROUT_CONTAINER_REMAP_ROOT=1", "SPROUT_CONTAINER_WORKDIR=/x",
                    "SPROUT_CONTAINER_WRITABLE=0", NULL };
    TAP_IS_INT (resolve (&c, &o, env, &s, msg, sizeof (msg)), 0, "settings: command line and twins");
  }
  tap_ok (sp_strv_len (s.mounts) == 3 && strcmp (s.mounts[0], "/admin:/admin:ro") == 0
            && strcmp (s.mounts[1], "/u:/u:ro") == 0 && strcmp (s.mounts[2], "/v:/w") == 0,
          "settings: admin's mounts first, the command line's (in the helper's form) after, the twin unused");
  tap_ok (strcmp (s.workdir, "/work") == 0, "settings: --container-workdir wins over its twin");
  tap_ok (!s.remap_root, "settings: --no-container-remap-root wins over the twin and plugstack");
  tap_ok (s.writable && !s.mount_home, "settings: --container-writable, --no-container-mount-home");
  tap_ok (sp_settings_keeps_env (&s, "PATH") && sp_settings_keeps_env (&s, "LANG")
            && !sp_settings_keeps_env (&s, "PAT"),
          "settings: --container-env names, exactly");
  sp_settings_clear (&s);
  sp_cli_apply (&o, SP_OPT_REMAP_ROOT, "container-remap-root", NULL, &err);
  sp_cli_apply (&o, SP_OPT_READONLY, "container-readonly", NULL, &err);
  sp_cli_apply (&o, SP_OPT_MOUNT_HOME, "container-mount-home", NULL, &err);
  TAP_IS_INT (resolve (&c, &o, NULL, &s, msg, sizeof (msg)), 0, "settings: the last of two opposite flags");
  tap_ok (s.remap_root && !s.writable && s.mount_home, "settings: --container-remap-root, -readonly, -mount-home win");
  sp_settings_clear (&s);
  sp_cli_clear (&o);
  tap_ok (o.mounts == NULL && o.first == NULL && o.remap_root == SP_UNSET, "clear forgets the options");

  /* the twins alone */
  {
    char *env[] = { "SPROUT_CONTAINER_MOUNTS=/e:/f:rslave+ro",
                    "SPROUT_CONTAINER_REMAP_ROOT=no",
                    "SPROUT_CONTAINER_WORKDIR=/x",
                    "SPROUT_CONTAINER_WRITABLE=TRUE",
                    "SPROUT_CONTAINER_MOUNT_HOME=0",
                    "SPROUT_CONTAINER_ENV=HOME_DIR",
                    NULL };
    TAP_IS_INT (resolve (&c, &o, env, &s, msg, sizeof (msg)), 0, "twins: every SPROUT_* variable");
    tap_ok (sp_strv_len (s.mounts) == 2 && strcmp (s.mounts[1], "/e:/f:ro") == 0, "twins: mounts, pyxis flags too");
    tap_ok (!s.remap_root && s.writable && !s.mount_home && strcmp (s.workdir, "/x") == 0
              && sp_settings_keeps_env (&s, "HOME_DIR"),
            "twins: no/TRUE/0 booleans, workdir, env");
    sp_settings_clear (&s);
  }
  {
    char *env[] = { "SPROUT_CONTAINER_REMAP_ROOT=", NULL };
    TAP_IS_INT (resolve (&c, &o, env, &s, msg, sizeof (msg)), 0, "twins: an empty boolean is unset");
    tap_ok (s.remap_root, "twins: so plugstack's value stays");
    sp_settings_clear (&s);
  }
  {
    static const char *const bad[][3] = {
      { "SPROUT_CONTAINER_WRITABLE=maybe", "SPROUT_CONTAINER_WRITABLE=maybe: the value must be 0 or 1", NULL },
      { "SPROUT_CONTAINER_WORKDIR=rel", "SPROUT_CONTAINER_WORKDIR=rel: must be an absolute path", NULL },
      { "SPROUT_CONTAINER_MOUNTS=/a:/b:rshared", "SPROUT_CONTAINER_MOUNTS: '/a:/b:rshared'", NULL },
      { "SPROUT_CONTAINER_ENV=A,1B", "SPROUT_CONTAINER_ENV: '1B' is not a variable name", NULL },
      { "SPROUT_CONTAINER_ENV=A-B", "'A-B' is not a variable name", NULL },
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
      {
        char *env[] = { (char *) bad[i][0], NULL };
        int r = resolve (&c, &o, env, &s, msg, sizeof (msg));
        tap_ok (r == -1 && strstr (msg, bad[i][1]) != NULL && s.mounts == NULL, "twins: %s refused: %s", bad[i][0],
                msg);
      }
  }
  {
    sp_cli_apply (&o, SP_OPT_WORKDIR, "container-workdir", "rel", &err);
    TAP_IS_INT (resolve (&c, &o, NULL, &s, msg, sizeof (msg)), -1, "--container-workdir relative refused");
    tap_ok (strstr (msg, "--container-workdir=rel") != NULL, "and named as the option: %s", msg);
    sp_cli_clear (&o);
    sp_cli_apply (&o, SP_OPT_MOUNTS, "container-mounts", "/a:/b:ro+noexec", &err);
    TAP_IS_INT (resolve (&c, &o, NULL, &s, msg, sizeof (msg)), -1, "--container-mounts with an unknown flag refused");
    tap_ok (strstr (msg, "--container-mounts: '/a:/b:ro+noexec': unknown mount flag 'noexec'") != NULL,
            "in one line: %s", msg);
    sp_cli_clear (&o);
    sp_cli_apply (&o, SP_OPT_ENV, "container-env", "OK,", &err);
    TAP_IS_INT (resolve (&c, &o, NULL, &s, msg, sizeof (msg)), 0, "--container-env with a trailing comma");
    sp_settings_clear (&s);
    sp_cli_clear (&o);
  }
  /* the image options only record the image; they are not "sprout options needing one" */
  TAP_IS_INT (sp_cli_apply (&o, SP_OPT_CONTAINER_IMAGE, "container-image", "py3.oci", &err), 0,
              "apply --container-image");
  tap_ok (o.container_image != NULL && strcmp (o.container_image, "py3.oci") == 0 && o.first == NULL,
          "--container-image recorded, not counted as the first sprout option");
  sp_cli_apply (&o, SP_OPT_NO_CONTAINER, "no-container", NULL, &err);
  tap_ok (o.no_container && o.first == NULL, "--no-container recorded");
  TAP_IS_INT (sp_cli_apply (&o, 999, "bogus", NULL, &err), -1, "an unknown option number refused");
  sp_error_free (&err);
  sp_cli_clear (&o);
  sp_config_clear (&c);
}

int
main (void)
{
  test_config ();
  test_mounts ();
  test_options ();
  return tap_done ();
}
