/* SPDX-License-Identifier: GPL-2.0-or-later */
/* helper_exec.h: launching `sprout start` from slurmstepd as the job user and
 * reading back the container it holds. */
#ifndef SPROUT_HELPER_EXEC_H
#define SPROUT_HELPER_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* How to run the helper; everything is prepared before fork (the stepd is multithreaded). */
struct sp_helper_launch {
  const char *path; /* absolute path of the sprout executable */
  char **argv;      /* argv[0] included, NULL-terminated */
  char **envp;      /* the helper's whole environment, NULL-terminated */
  const char *cwd;  /* directory to start in */
  uid_t uid;        /* the job user */
  gid_t gid;
  const gid_t *gids; /* the job's supplementary groups */
  int ngids;
};

/* A running helper holding a container, and what it reported. */
struct sp_helper {
  pid_t pid;        /* the helper, the namespaces' holder; -1 if none */
  int pidfd;        /* pidfd of pid, or -1 where the kernel has none */
  int keepalive_fd; /* write end of the helper's stdin; closing it ends the helper */
  int userns_fd;    /* /proc/PID/ns/user, O_CLOEXEC */
  int mntns_fd;     /* /proc/PID/ns/mnt, O_CLOEXEC */
  char *cwd;        /* cwd= record: the tasks' working directory inside */
  char **env;       /* env= records, NAME=VALUE, NULL-terminated */
  bool remap_root;  /* remap_root= record */
  char *proxy_dir;  /* slurm_proxy= record: the Slurm commands proxy's directory, or NULL */
};

/* Reset h to "no helper" (all fds -1). */
void sp_helper_init (struct sp_helper *h);

/* Fork and exec the helper as the job user, wait for its `ready` record and open its
 * namespaces into h. On failure the helper is gone and err holds its one-line message
 * (the helper's own "sprout: error:" line without the prefix, when it printed one). */
int sp_helper_start (const struct sp_helper_launch *l, struct sp_helper *h, sp_error_t *err);

/* End the helper (EOF on its stdin, SIGKILL after timeout_ms), reap it, close every fd
 * and free the records; h is reset. Harmless on a reset h. */
void sp_helper_stop (struct sp_helper *h, int timeout_ms);

/* Remove the Slurm commands proxy's directory dir (a /tmp/sprout-slurm.XXXXXX the helper
 * reported), as the job user uid/gid in a child process: the step's end may kill the
 * proxy with SIGKILL before it cleans up. Ignores anything else. */
void sp_helper_remove_proxy_dir (const char *dir, uid_t uid, gid_t gid);

#endif
