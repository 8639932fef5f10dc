/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keeper.c: see keeper.h. */
#include "config.h"
#include "runtime/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscalls.h"
#include "util.h"

#define KEEPER_STACK (64 * 1024)

struct keeper {
  int hold_fd, pidfd, pipe_rd, pipe_wr;
  char *stack; /* two halves: the go-between's, then the keeper's */
};

/* Close every fd but the three in KEEP, without malloc (the parent may have died
 * holding malloc's lock in the memory we share, so no /proc/self/fd walk). */
static void
close_all_but (const int keep[3])
{
  struct rlimit rl;
  unsigned limit = 65536;

  if (sp_close_range_except (0, keep, 3) == 0)
    return;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < limit)
    limit = (unsigned) rl.rlim_cur;
  for (unsigned fd = 0; fd < limit; fd++)
    if ((int) fd != keep[0] && (int) fd != keep[1] && (int) fd != keep[2])
      close ((int) fd);
}

static int
keeper_main (void *arg)
{
  const struct keeper *k = arg;
  const int keep[3] = { k->hold_fd, k->pidfd, k->pipe_rd };
  struct pollfd p = { .fd = k->pidfd, .events = POLLIN };
  char c;

  /* while the memory is shared: only calls that succeed (no errno write), and
   * signals are blocked (the parent blocked them before the clone) */
  setsid (); /* out of the terminal's process group: Ctrl-C is the command's */
  prctl (PR_SET_NAME, "sprout-lock", 0, 0, 0);
  close (k->pipe_wr);
  while (read (k->pipe_rd, &c, 1) > 0)
    ;
  /* the parent has exec'd (or died): this address space is ours alone */
  close_all_but (keep);
  while (poll (&p, 1, -1) < 0 && errno == EINTR)
    ;
  _exit (0);
}

/* The go-between: the parent is suspended (CLONE_VFORK) until it exits, so that the
 * keeper is nobody's child but init's (or a subreaper's), not the command's. */
static int
between_main (void *arg)
{
  struct keeper *k = arg;
  clone (keeper_main, k->stack + 2 * KEEPER_STACK, CLONE_VM | SIGCHLD, k);
  return 0;
}

int
sp_keeper_start (int hold_fd)
{
  static struct keeper k; /* read by the keeper: must outlive this frame */
  int fds[2];
  sigset_t all, old;
  pid_t pid;

  if (hold_fd < 0)
    return -1;
  k.hold_fd = hold_fd;
  k.pidfd = sp_pidfd_open (getpid ());
  if (k.pidfd < 0)
    return -1;
  /* the stacks live in the shared memory: the keeper keeps them after the exec */
  k.stack = mmap (NULL, 2 * KEEPER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (k.stack == MAP_FAILED || pipe2 (fds, O_CLOEXEC) < 0)
    {
      if (k.stack != MAP_FAILED)
        munmap (k.stack, 2 * KEEPER_STACK);
      close (k.pidfd);
      return -1;
    }
  k.pipe_rd = fds[0];
  k.pipe_wr = fds[1];
  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, &old);
  pid = clone (between_main, k.stack + KEEPER_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &k);
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (pid > 0)
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
  /* the keeper's memory (stacks, k) is its own after the exec; here it is left mapped */
  close (k.pidfd);
  close (k.pipe_rd);
  if (pid < 0)
    {
      close (k.pipe_wr);
      return -1;
    }
  return k.pipe_wr;
}
