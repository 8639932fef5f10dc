/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_runtime.c: the runtime's pure parts: passwd/group merging, the environment,
 * and mount targets resolved inside a root (symlinks never lead out), with openat2 and
 * with the walk that replaces it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime/env.h"
#include "envrules.h"
#include "runtime/mounts.h"
#include "runtime/passwd.h"
#include "syscalls.h"
#include "util.h"
#include "tap.h"

static void
test_passwd (void)
{
  struct sp_user u = { .name = "alice",
                       .uid = 1000,
                       .gid = 100,
                       .gecos = "Alice",
                       .home = "/home/alice",
                       .shell = "/bin/bash",
                       .group = "users" };
  char *s;

  s = sp_passwd_merge (
    "root:x:0:0:root:/root:/bin/sh\ndebian:x:1000:1000::/home/debian:/bin/sh\nalice:x:5:5::/:/bin/sh", &u, true);
  tap_ok (strcmp (s, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:100:Alice:/home/alice:/bin/bash\n") == 0,
          "passwd: same uid and same name replaced by the user's entry");
  free (s);
  u.gecos = "Alice: admin\nroot::0:0";
  s = sp_passwd_merge (NULL, &u, true);
  tap_ok (strcmp (s, "alice:x:1000:100:Alice  admin root  0 0:/home/alice:/bin/bash\n") == 0,
          "passwd: a gecos with ':' or a newline cannot add fields or lines");
  free (s);
  u.gecos = "Alice";
  s = sp_passwd_merge (NULL, &u, true);
  tap_ok (strcmp (s, "alice:x:1000:100:Alice:/home/alice:/bin/bash\n") == 0, "passwd: image without the file");
  free (s);
  u.name = "root";
  u.uid = 0;
  u.gid = 0;
  s = sp_passwd_merge ("root:x:0:0:Super:/root:/bin/ash\n", &u, false);
  tap_ok (strcmp (s, "root:x:0:0:Super:/root:/bin/ash\n") == 0, "passwd (remap-root): the image's root entry stays");
  free (s);
  s = sp_passwd_merge ("daemon:x:1:1::/:/bin/false\n", &u, false);
  tap_ok (strstr (s, "\nroot:x:0:0:") != NULL, "passwd (remap-root): root added when missing");
  free (s);
  u.name = "alice";
  u.uid = 1000;
  u.gid = 100;
  s = sp_group_merge ("root:x:0:\nusers:x:100:\nstaff:x:50:\n", &u, true);
  tap_ok (strcmp (s, "root:x:0:\nstaff:x:50:\nusers:x:100:alice\n") == 0,
          "group: primary group with the user as member");
  free (s);
}

static void
test_env (void)
{
  char *caller[] = { "PATH=/host/bin", "HOME=/home/alice", "TERM=xterm", "KEEP=1", NULL };
  char *image[] = { "PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8", "junk", "SLURM_JOB_ID=99", NULL };
  char *opt[] = { "LANG=fr_FR", "NEW=x=y", NULL };
  sp_error_t err = NULL;
  char **sets = sp_env_overrides (image, opt);
  char **env = sp_env_apply (caller, sets);

  TAP_IS_INT (sp_strv_len (sets), 4, "overrides: image Env then --env, without HOME and junk");
  tap_ok (strcmp (sp_env_get (env, "PATH"), "/usr/bin:/bin") == 0, "the image's PATH wins");
  tap_ok (strcmp (sp_env_get (env, "HOME"), "/home/alice") == 0, "HOME stays the caller's");
  tap_ok (sp_env_get (env, "SLURM_JOB_ID") == NULL, "an image's SLURM_* is not taken");
  tap_ok (strcmp (sp_env_get (env, "LANG"), "fr_FR") == 0, "--env comes after the image's Env");
  tap_ok (strcmp (sp_env_get (env, "NEW"), "x=y") == 0 && strcmp (sp_env_get (env, "KEEP"), "1") == 0,
          "new variables appended, the caller's others kept");
  TAP_IS_INT (sp_env_check_arg ("A_1=v", &err), 0, "--env NAME=VALUE accepted");
  TAP_IS_INT (sp_env_check_arg ("HOME=/x", &err), -1, "--env HOME refused");
  sp_error_free (&err);
  TAP_IS_INT (sp_env_check_arg ("1A=v", &err), -1, "--env with a bad name refused");
  sp_error_free (&err);
  TAP_IS_INT (sp_env_check_arg ("NOVALUE", &err), -1, "--env without = refused");
  sp_error_free (&err);
  TAP_IS_INT (sp_env_check_arg ("SLURM_NTASKS=4", &err), -1, "--env SLURM_* refused (the job's, not sprout's)");
  tap_ok (err != NULL && strstr (err->msg, "SLURM_*") != NULL, "the refusal lists the caller's names: %s",
          err != NULL ? err->msg : "");
  {
    static const char *const own[] = { "HOME",           "USER=u",          "LOGNAME",  "TERM=xterm",
                                       "SLURM_JOB_ID=1", "SLURMD_NODENAME", "SPANK_X=1" };
    static const char *const not_own[] = { "HOMEDIR=/x", "PATH=/bin", "SLURM",       "SLURM_",
                                           "SLURMX=1",   "SPANKY=1",  "TERMINFO=/x", "home" };
    bool all = true, none = true;
    for (size_t i = 0; i < sizeof (own) / sizeof (own[0]); i++)
      all = all && sp_env_is_host_owned (own[i]);
    for (size_t i = 0; i < sizeof (not_own) / sizeof (not_own[0]); i++)
      none = none && !sp_env_is_host_owned (not_own[i]);
    tap_ok (all, "HOME, USER, LOGNAME, TERM and SLURM_*, SLURMD_*, SPANK_* are the caller's, bare or NAME=VALUE");
    tap_ok (none, "names that only start like them are not");
  }
  sp_error_free (&err);
  sp_strv_free (sets);
  sp_strv_free (env);
}

/* Run once with openat2 and once with the walk (forced): the answers are the same. */
static void
test_targets (const char *how)
{
  char tmpl[] = "/tmp/sprout-unit.XXXXXX", outside[] = "/tmp/sprout-unit-out.XXXXXX";
  cleanup_free char *probe = NULL;
  sp_error_t err = NULL;
  struct stat st;
  int rootfd, fd;

  if (mkdtemp (tmpl) == NULL || mkdtemp (outside) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  rootfd = open (tmpl, O_PATH | O_DIRECTORY);
  /* an absolute symlink to a host directory: must resolve inside the root */
  if (symlinkat (outside, rootfd, "evil") < 0)
    tap_ok (0, "symlink");
  fd = sp_target_open (rootfd, "/evil/sub/dir", SP_TARGET_DIR, false, false, &err);
  tap_ok (fd < 0 && errno == ENOENT, "%s: missing target reported as ENOENT without create", how);
  sp_error_free (&err);
  fd = sp_target_open (rootfd, "/evil/sub/dir", SP_TARGET_DIR, true, false, &err);
  probe = xasprintf ("%s/sub", outside);
  tap_ok (stat (probe, &st) < 0, "%s: a target through an absolute symlink is never created outside the root", how);
  tap_ok (fd < 0 && err != NULL && strstr (err->msg, "symlink") != NULL,
          "%s: ... a dangling symlink on the way is refused: %s", how, err ? err->msg : "");
  if (fd >= 0)
    close (fd);
  sp_error_free (&err);
  /* an absolute symlink to a directory that exists only inside the root */
  if (mkdirat (rootfd, "real", 0755) < 0 || symlinkat ("/real", rootfd, "good") < 0)
    tap_ok (0, "mkdir/symlink");
  fd = sp_target_open (rootfd, "/good/sub", SP_TARGET_DIR, true, false, &err);
  free (probe);
  probe = xasprintf ("%s/real/sub", tmpl);
  tap_ok (fd >= 0 && stat (probe, &st) == 0, "%s: a symlink is resolved as if the root were /", how);
  if (fd >= 0)
    close (fd);
  sp_error_free (&err);
  fd = sp_target_open (rootfd, "/file", SP_TARGET_FILE, true, false, &err);
  tap_ok (fd >= 0, "%s: a file target is created", how);
  if (fd >= 0)
    close (fd);
  fd = sp_target_open (rootfd, "/file", SP_TARGET_DIR, true, false, &err);
  tap_ok (fd < 0 && err != NULL && strstr (err->msg, "not a directory") != NULL,
          "%s: a file where a directory is wanted is refused", how);
  sp_error_free (&err);
  if (symlinkat ("/nowhere/x", rootfd, "dangling") < 0)
    tap_ok (0, "symlink");
  fd = sp_target_open (rootfd, "/dangling", SP_TARGET_FILE, true, true, &err);
  tap_ok (fd >= 0 && fstatat (rootfd, "dangling", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode),
          "%s: with replace_link a dangling symlink is replaced by a file", how);
  if (fd >= 0)
    close (fd);
  sp_error_free (&err);
  close (rootfd);
  {
    cleanup_free char *cmd = xasprintf ("rm -rf '%s' '%s'", tmpl, outside);
    if (system (cmd) != 0)
      tap_ok (0, "cleanup");
  }
}

int
main (void)
{
  test_passwd ();
  test_env ();
  test_targets ("openat2");
  setenv ("SPROUT_FORCE_ENOSYS", "1", 1);
  test_targets ("walk");
  unsetenv ("SPROUT_FORCE_ENOSYS");
  return tap_done ();
}
