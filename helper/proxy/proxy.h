/* SPDX-License-Identifier: GPL-2.0-or-later */
/* proxy.h: the Slurm commands proxy of a containerized step.
 *
 * Images have no Slurm, yet a containerized batch script must run srun, sbatch,
 * squeue... `sprout start --slurm-proxy` forks this proxy BEFORE it unshares: it
 * stays in the host's mount namespace, as the same user, with no privilege, and
 * serves a unix socket in a private 0700 directory under /tmp (the container
 * binds the host's /tmp at /tmp, so the directory has the same path inside). In
 * DIR/bin the static client sprout-slurm-client is linked under each Slurm
 * command name; that directory goes at the END of the container's PATH (the
 * image's own tools win). The client sends its command name, argv, environment,
 * working directory and fds 0/1/2 (SCM_RIGHTS); the proxy runs the real command
 * on the host with them (the job's host PATH, the same cwd path: cwd and $HOME
 * are bound at their own paths), relays SP_PROXY_RELAYED_SIGNALS from the client
 * and returns the exit status or the killing signal.
 * It ends when the holder's keep-alive reaches EOF (or on SIGTERM), removing its
 * directory. Why a proxy rather than binding the host's Slurm into the image:
 * the host's srun needs its own loader, libraries, plugins, slurm.conf and the
 * munge socket, which differ per site and clash with the image's /usr; a socket
 * and one static binary work with any image. */
#ifndef SPROUT_PROXY_H
#define SPROUT_PROXY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* Wire format (both ends are built from this tree, on the same node):
 * request: struct sp_proxy_hdr with fds 0, 1, 2 attached (SCM_RIGHTS), then len
 * bytes of NUL-terminated strings: command name, cwd, argc (decimal), argv[0..argc-1],
 * then the environment to its end. Then each int32 the client writes is a signal
 * number to relay. Reply: struct sp_proxy_reply when the command has ended. */
#define SP_PROXY_MAGIC 0x53505258u /* "SPRX" */
#define SP_PROXY_MAX_REQUEST (8u << 20)

/* The signals the client catches and the proxy passes on to the host's command: those
 * that srun, sbatch, salloc and sattach act on (they forward them to the job's tasks).
 * SIGCONT is among them: srun forwards it too, and one sent to the command inside must
 * reach the command outside; where that was never stopped it is a no-op. The job-control
 * stops (SIGTSTP, SIGTTIN, SIGTTOU) are not: they stop the client on its terminal, and
 * the host's command, with no terminal of its own to resume it, must not stop with it. */
#define SP_PROXY_RELAYED_SIGNALS SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT

struct sp_proxy_hdr {
  uint32_t magic;
  uint32_t len;
};

enum { SP_PROXY_EXITED = 0, SP_PROXY_SIGNALED = 1 };

struct sp_proxy_reply {
  int32_t kind;  /* SP_PROXY_EXITED or SP_PROXY_SIGNALED */
  int32_t value; /* exit status or signal number */
};

/* A request's body as sp_proxy_request_parse found it: the strings point into the
 * parsed buffer; argv and env are malloc'd vectors (free with sp_proxy_request_clear). */
struct sp_proxy_request {
  const char *name; /* the command's name (non-empty, no '/') */
  const char *cwd;  /* absolute */
  char **argv;      /* argc entries, NULL-terminated */
  size_t argc;      /* at least 1 */
  char **env;       /* the client's NAME=VALUE entries, NULL-terminated */
  size_t n_env;
};

/* Parse the LEN bytes at BUF (a request's body, after its header: the strings of the wire
 * format above) into *REQ. Refused with one line in err: more than SP_PROXY_MAX_REQUEST
 * bytes, a last string without its NUL, an empty name or one with '/', a relative cwd,
 * an argc that is not a decimal count from 1 to the strings present, an argument missing.
 * Environment entries that are not NAME=VALUE are left out (the kernel lets any string
 * through execve). BUF must outlive *REQ; 0, or -1 with *REQ empty. */
int sp_proxy_request_parse (const char *buf, size_t len, struct sp_proxy_request *req, sp_error_t *err);

/* Free the vectors of *REQ and empty it; harmless on an empty one. */
void sp_proxy_request_clear (struct sp_proxy_request *req);

/* Names of the Slurm commands the proxy runs; NULL-terminated. */
extern const char *const sp_proxy_commands[];

struct sp_proxy {
  pid_t pid;    /* the proxy process, or -1 */
  char *dir;    /* its private directory (socket "sock", commands in "bin") */
  char *bindir; /* dir + "/bin", for the container's PATH */
  int tmpfd;    /* O_PATH fds on the host's /tmp and on dir, kept for sp_proxy_stop */
  int dirfd;    /* (the container hides the host's tree by name); -1 once closed */
};

/* Create the private directory, the command links and the listening socket, and fork
 * the proxy, which serves until keepalive_fd reads EOF. Call before unsharing, with
 * the host's /tmp in view. Returns 0; 1 when sprout-slurm-client is neither next to
 * the running sprout nor in LIBEXECDIR/sprout (no proxy then); or -1 with err
 * (nothing left behind). */
int sp_proxy_start (int keepalive_fd, struct sp_proxy *p, sp_error_t *err);

/* End the proxy at once (SIGKILL: it may not have its handlers yet), reap it and remove
 * its directory through p's fds (valid in or out of the container); for the holder's
 * failure path. */
void sp_proxy_stop (struct sp_proxy *p);

/* Free p's strings and close its fds (the proxy process removes its own directory). */
void sp_proxy_clear (struct sp_proxy *p);

#endif
