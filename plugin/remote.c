/* SPDX-License-Identifier: GPL-2.0-or-later */
/* remote.c: the plugin inside slurmstepd, once per step per node.
 *
 * user_init (privileges temporarily dropped, multithreaded) starts the helper as
 * the job user; it prepares the container and holds its namespaces. task_init
 * (each task, the user, single-threaded, just before exec) joins them. exit ends
 * the helper. An error in user_init cannot reach srun, so it is kept and every
 * task prints it on its stderr and fails: a step never runs on the host. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "envrules.h"
#include "helper_exec.h"
#include "mpi.h"
#include "privs.h"
#include "sprout_spank.h"
#include "util.h"

/* One slurmstepd runs one step: this is that step's container. */
static struct {
  bool active; /* a container was asked for and task_init must act */
  char *error; /* user_init's failure, printed by every task */
  char *node;
  char *batch_image; /* the batch script's image, absolute, for its steps */
  uid_t uid;         /* the job user, for removing the proxy's directory */
  gid_t gid;
  struct sp_settings settings;
  struct sp_helper helper;
} step = { .helper = { .pid = -1, .pidfd = -1, .keepalive_fd = -1, .userns_fd = -1, .mntns_fd = -1 } };

/* Look name up in the job's environment (S_JOB_ENV); malloc'd copy or NULL. */
static char *
job_getenv (void *ctx, const char *name)
{
  spank_t sp = ctx;
  char **env = NULL;
  size_t n = strlen (name);

  if (spank_get_item (sp, S_JOB_ENV, &env) != ESPANK_SUCCESS || env == NULL)
    return NULL;
  for (char **e = env; *e != NULL; e++)
    if (strncmp (*e, name, n) == 0 && (*e)[n] == '=')
      return strdup (*e + n + 1);
  return NULL;
}

/* A malloc'd formatted string, or NULL (slurmstepd must not abort on a full memory). */
static char *__attribute__ ((format (printf, 1, 2))) sp_strdup_printf (const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  return s;
}

/* Keep user_init's failure for the tasks to print; log it on the node too. */
static void __attribute__ ((format (printf, 1, 2))) step_fail (const char *fmt, ...)
{
  va_list ap;

  free (step.error);
  va_start (ap, fmt);
  if (vasprintf (&step.error, fmt, ap) < 0)
    step.error = NULL;
  va_end (ap);
  /* info, not error: slurmstepd forwards errors to srun, and the task prints the line */
  slurm_info ("sprout: container not started: %s", step.error != NULL ? step.error : "out of memory");
}

/* Append "NAME=value" for name from the job's environment, if it is set there. */
static int
env_pass (spank_t sp, char ***env, size_t *n, const char *name)
{
  cleanup_free char *v = job_getenv (sp, name);
  char *entry;

  if (v == NULL)
    return 0;
  if (asprintf (&entry, "%s=%s", name, v) < 0)
    return -1;
  (*env)[(*n)++] = entry;
  (*env)[*n] = NULL;
  return 0;
}

/* The helper's clean environment: a fixed PATH and what it needs of the job's. */
static char **
helper_env (spank_t sp, const struct sp_config *c)
{
  static const char *const pass[] = {
    "HOME",          "USER",           "LOGNAME",      "TMPDIR",          "SLURM_JOB_ID",
    "SLURM_JOBID",   "SLURM_STEP_ID",  "SLURM_STEPID", "SLURMD_NODENAME", "SLURM_CLUSTER_NAME",
    "SLURM_JOB_UID", "SLURM_JOB_USER",
  };
  size_t n = 0, cap = sizeof (pass) / sizeof (pass[0]) + 4;
  char **env = calloc (cap, sizeof (char *));

  if (env == NULL)
    return NULL;
  if ((env[n++] = strdup ("PATH=/usr/local/bin:/usr/bin:/bin")) == NULL)
    goto fail;
  for (size_t i = 0; i < sizeof (pass) / sizeof (pass[0]); i++)
    if (env_pass (sp, &env, &n, pass[i]) < 0)
      goto fail;
  /* plugstack's cache_dir= is passed as --cache-dir and wins; else the user's choice */
  if (c->cache_dir == NULL && env_pass (sp, &env, &n, "SPROUT_CACHE_DIR") < 0)
    goto fail;
  /* the Slurm commands proxy (helper/proxy/proxy.c) finds the host's commands on the job's PATH */
  {
    cleanup_free char *path = job_getenv (sp, "PATH");
    if (path != NULL && (env[n++] = sp_strdup_printf ("SPROUT_HOST_PATH=%s", path)) == NULL)
      goto fail;
    env[n] = NULL;
  }
  return env;
fail:
  sp_strv_free (env);
  return NULL;
}

/* argv of `sprout [--cache-dir DIR] start --slurm-proxy [options] IMAGE`; script_dir: the
 * batch script's directory, bound at its own path, or NULL. */
static char **
helper_argv (const struct sp_config *c, const struct sp_settings *s, const char *cache_dir, const char *script_dir,
             const char *image)
{
  size_t cap = 16 + 2 * sp_strv_len (s->mounts), n = 0;
  char **argv = calloc (cap, sizeof (char *));

#define ADD(x)                                                                                                         \
 do                                                                                                                    \
  {                                                                                                                    \
   if ((argv[n++] = strdup (x)) == NULL)                                                                               \
    goto fail;                                                                                                         \
  }                                                                                                                    \
 while (0)
  if (argv == NULL)
    return NULL;
  ADD (c->helper);
  if (cache_dir != NULL)
    {
      ADD ("--cache-dir");
      ADD (cache_dir);
    }
  ADD ("start");
  ADD ("--slurm-proxy");
  if (script_dir != NULL)
    {
      ADD ("--mount");
      if ((argv[n++] = sp_strdup_printf ("%s:%s:ro", script_dir, script_dir)) == NULL)
        goto fail;
    }
  for (char **m = s->mounts; m != NULL && *m != NULL; m++)
    {
      ADD ("--mount");
      ADD (*m);
    }
  if (s->workdir != NULL)
    {
      ADD ("--workdir");
      ADD (s->workdir);
    }
  if (s->remap_root)
    ADD ("--remap-root");
  if (s->writable)
    ADD ("--writable");
  if (!s->mount_home)
    ADD ("--no-home");
  ADD (image);
#undef ADD
  return argv;
fail:
  sp_strv_free (argv);
  return NULL;
}

/* The step's id (SLURM_BATCH_SCRIPT for the batch script), or NO_VAL. */
static uint32_t
step_id (spank_t sp)
{
  uint32_t stepid = 0;

  if (spank_get_item (sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS)
    return NO_VAL;
  return stepid;
}

/* True for the steps sprout containerizes: the batch script and srun's steps,
 * not the extern step or salloc's interactive step (salloc's shell stays on the host, as
 * in Slurm), nor a step or job given --no-container. */
static bool
step_is_containerized (spank_t sp)
{
  uint32_t stepid = step_id (sp);

  if (sp_options_cli ()->no_container)
    return false;
  return stepid != SLURM_EXTERN_CONT && stepid != SLURM_INTERACTIVE_STEP;
}

/* The batch script's directory in slurmd's spool (the path slurmstepd execs it from), for
 * binding at the same path inside; NULL (not an error) for other steps. */
static char *
batch_script_dir (spank_t sp)
{
  int argc = 0;
  char **argv = NULL;
  char *dir, *slash;

  if (step_id (sp) != SLURM_BATCH_SCRIPT || spank_get_item (sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS || argc < 1
      || argv[0] == NULL || argv[0][0] != '/')
    return NULL;
  if ((dir = strdup (argv[0])) == NULL)
    return NULL;
  slash = strrchr (dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else
    *slash = '\0';
  return dir;
}

int
sp_remote_user_init (spank_t sp, const struct sp_config *c)
{
  cleanup_free char *image = NULL, *cwd = NULL, *abs_image = NULL, *cache_dir = NULL, *oci = NULL;
  cleanup_free char *script_dir = NULL;
  cleanup_error sp_error_t err = NULL;
  char **argv = NULL, **envp = NULL;
  gid_t *gids = NULL;
  int ngids = 0;
  uid_t uid;
  gid_t gid;
  const char *node = getenv ("SLURMD_NODENAME");
  char host[256] = "";
  struct sp_helper_launch l;

  /* Slurm's own --container reaches the step as SLURM_CONTAINER; ours (old Slurm) as an option */
  image = sp_options_cli ()->container != NULL ? strdup (sp_options_cli ()->container)
                                               : job_getenv (sp, "SLURM_CONTAINER");
  if (image == NULL || *image == '\0' || !step_is_containerized (sp))
    return 0;
  if ((oci = sp_config_oci_conf ()) != NULL)
    {
      slurm_info ("sprout: %s exists: Slurm's own OCI runtime runs --container=%s here; sprout stays out of the way",
                  oci, image);
      return 0;
    }
  step.active = true;
  if (node == NULL)
    {
      gethostname (host, sizeof (host) - 1);
      node = host;
    }
  free (step.node);
  step.node = strdup (node);

  if (spank_get_item (sp, S_JOB_UID, &uid) != ESPANK_SUCCESS || spank_get_item (sp, S_JOB_GID, &gid) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_SUPPLEMENTARY_GIDS, &gids, &ngids) != ESPANK_SUCCESS)
    {
      step_fail ("%s", "cannot read the job's user and groups from Slurm");
      return 0;
    }
  step.uid = uid;
  step.gid = gid;
  if (sp_settings_resolve (c, sp_options_cli (), job_getenv, sp, &step.settings, &err) < 0
      || sp_mpi_mounts (sp, uid, node, &step.settings.mounts, &err) < 0)
    {
      step_fail ("%s", err->msg);
      return 0;
    }
  /* slurmstepd has entered the step's working directory: relative images start there */
  if ((cwd = getcwd (NULL, 0)) == NULL)
    {
      step_fail ("cannot read the step's working directory: %s", strerror (errno));
      return 0;
    }
  if (image[0] != '/' && asprintf (&abs_image, "%s/%s", strcmp (cwd, "/") == 0 ? "" : cwd, image) < 0)
    {
      step_fail ("%s", "out of memory");
      return 0;
    }
  if (c->cache_dir != NULL && (cache_dir = sp_config_expand (c->cache_dir, uid, node, &err)) == NULL)
    {
      step_fail ("%s", err->msg);
      return 0;
    }
  script_dir = batch_script_dir (sp);
  /* the script's sruns resolve SLURM_CONTAINER against their own cwd: give them this one */
  if (script_dir != NULL && abs_image != NULL)
    {
      free (step.batch_image);
      step.batch_image = strdup (abs_image);
    }
  argv = helper_argv (c, &step.settings, cache_dir, script_dir, abs_image != NULL ? abs_image : image);
  envp = helper_env (sp, c);
  if (argv == NULL || envp == NULL)
    {
      sp_strv_free (argv);
      sp_strv_free (envp);
      step_fail ("%s", "out of memory");
      return 0;
    }
  l = (struct sp_helper_launch) {
    .path = c->helper,
    .argv = argv,
    .envp = envp,
    .cwd = cwd,
    .uid = uid,
    .gid = gid,
    .gids = gids,
    .ngids = ngids,
  };
  if (sp_helper_start (&l, &step.helper, &err) < 0)
    step_fail ("%s", err->msg);
  else if (step.helper.cwd == NULL)
    {
      step_fail ("%s", "the helper did not report the container's working directory");
      sp_helper_stop (&step.helper, 5000);
    }
  sp_strv_free (argv);
  sp_strv_free (envp);
  return 0;
}

/* The task keeps its own value of entry's name: envrules.h's names, --container-env's. */
static bool
env_is_host_owned (const struct sp_settings *s, const char *entry)
{
  size_t n = strcspn (entry, "=");

  if (sp_env_is_host_owned (entry))
    return true;
  for (char **k = s->keep_env; k != NULL && *k != NULL; k++)
    if (strlen (*k) == n && strncmp (*k, entry, n) == 0)
      return true;
  return false;
}

/* Print "sprout: error: <node>: <msg>" on the task's stderr and end the task with 125,
 * sprout's own failure status (as `sprout run`); this is the forked task, not the daemon. */
static int __attribute__ ((noreturn)) task_fail (const char *msg, int errnum)
{
  sp_error_t err = NULL;

  sp_error_make (&err, errnum, "%s: %s", step.node != NULL ? step.node : "?", msg);
  sp_error_print ("sprout", err);
  fflush (stderr);
  _exit (125);
}

int
sp_remote_task_init (spank_t sp)
{
  cleanup_error sp_error_t err = NULL;

  if (!step.active)
    return 0;
  if (step.error != NULL)
    return task_fail (step.error, 0);
  if (setns (step.helper.userns_fd, CLONE_NEWUSER) < 0)
    return task_fail ("cannot join the container's user namespace", errno);
  if (setns (step.helper.mntns_fd, CLONE_NEWNS) < 0)
    return task_fail ("cannot join the container's mount namespace", errno);
  if (chdir (step.helper.cwd) < 0)
    {
      char msg[4200];
      snprintf (msg, sizeof (msg), "cannot enter %s inside the container", step.helper.cwd);
      return task_fail (msg, errno);
    }
  for (char **e = step.helper.env; e != NULL && *e != NULL; e++)
    {
      char *eq = strchr (*e, '=');
      cleanup_free char *name = NULL;

      if (env_is_host_owned (&step.settings, *e))
        continue;
      if ((name = strndup (*e, (size_t) (eq - *e))) == NULL)
        return task_fail ("out of memory", ENOMEM);
      if (spank_setenv (sp, name, eq + 1, 1) != ESPANK_SUCCESS)
        return task_fail ("cannot set the image's environment", 0);
    }
  /* --container-env=PATH keeps the host's PATH: the Slurm commands still go at its end */
  if (step.helper.proxy_dir != NULL && env_is_host_owned (&step.settings, "PATH="))
    {
      char path[8192] = "";
      cleanup_free char *with = NULL;

      if (spank_getenv (sp, "PATH", path, sizeof (path)) != ESPANK_SUCCESS)
        path[0] = '\0';
      if (asprintf (&with, "%s%s%s/bin", path, path[0] != '\0' ? ":" : "", step.helper.proxy_dir) < 0)
        return task_fail ("out of memory", ENOMEM);
      if (spank_setenv (sp, "PATH", with, 1) != ESPANK_SUCCESS)
        return task_fail ("cannot add the Slurm commands to PATH", 0);
    }
  if (step.batch_image != NULL && spank_setenv (sp, "SLURM_CONTAINER", step.batch_image, 1) != ESPANK_SUCCESS)
    return task_fail ("cannot set SLURM_CONTAINER", 0);
  /* the tasks must not keep the holder alive or reach its namespaces through fds */
  sp_closep (&step.helper.userns_fd);
  sp_closep (&step.helper.mntns_fd);
  sp_closep (&step.helper.keepalive_fd);
  sp_closep (&step.helper.pidfd);
  step.helper.userns_fd = step.helper.mntns_fd = step.helper.keepalive_fd = step.helper.pidfd = -1;
  if (sp_privs_drop_for_exec (step.helper.remap_root, &err) < 0)
    return task_fail (err->msg, 0);
  return 0;
}

void
sp_remote_exit (spank_t sp)
{
  cleanup_free char *proxy_dir = step.helper.proxy_dir;

  (void) sp;
  step.helper.proxy_dir = NULL;
  sp_helper_stop (&step.helper, 5000);
  /* the step's end kills what is left of it (the proxy too) with SIGKILL first */
  if (proxy_dir != NULL)
    sp_helper_remove_proxy_dir (proxy_dir, step.uid, step.gid);
  sp_settings_clear (&step.settings);
  free (step.error);
  free (step.node);
  free (step.batch_image);
  step.error = step.node = step.batch_image = NULL;
  step.active = false;
}
