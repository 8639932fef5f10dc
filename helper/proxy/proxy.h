/* proxy.h: the Slurm commands proxy of a containerized step (issue 6).
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
 * are bound at their own paths), relays SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/
 * SIGUSR2 from the client and returns the exit status or the killing signal.
 * It ends when the holder's keep-alive reaches EOF (or on SIGTERM), removing its
 * directory. Why a proxy rather than binding the host's Slurm into the image:
 * the host's srun needs its own loader, libraries, plugins, slurm.conf and the
 * munge socket, which differ per site and clash with the image's /usr; a socket
 * and one static binary work with any image. */
#ifndef SPROUT_PROXY_H
#define SPROUT_PROXY_H

#include <stdint.h>
#include <sys/types.h>
#include "error.h"

/* Wire format (both ends are built from this tree, on the same node):
 * request: struct sp_proxy_hdr with fds 0, 1, 2 attached (SCM_RIGHTS), then len
 * bytes of NUL-terminated strings: command name, cwd, argc (decimal), argv[0..argc-1],
 * then the environment to its end. Then each int32 the client writes is a signal
 * number to relay. Reply: struct sp_proxy_reply when the command has ended. */
#define SP_PROXY_MAGIC 0x53505258u    /* "SPRX" */
#define SP_PROXY_MAX_REQUEST (8u << 20)

struct sp_proxy_hdr {
  uint32_t magic;
  uint32_t len;
};

enum { SP_PROXY_EXITED = 0, SP_PROXY_SIGNALED = 1 };

struct sp_proxy_reply {
  int32_t kind;    /* SP_PROXY_EXITED or SP_PROXY_SIGNALED */
  int32_t value;   /* exit status or signal number */
};

/* Names of the Slurm commands the proxy runs; NULL-terminated. */
extern const char *const sp_proxy_commands[];

struct sp_proxy {
  pid_t pid;       /* the proxy process, or -1 */
  char *dir;       /* its private directory (socket "sock", commands in "bin") */
  char *bindir;    /* dir + "/bin", for the container's PATH */
  int tmpfd;       /* O_PATH fds on the host's /tmp and on dir, kept for sp_proxy_stop */
  int dirfd;       /* (the container hides the host's tree by name); -1 once closed */
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
