/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keeper.h: the lock keeper of `sprout run --writable`.
 *
 * `sprout run` execs the command in place and only fds 0-2 reach it, so the cache
 * entry's shared lock ends at the exec. A read-only run needs nothing more: its root is
 * a bind of the entry's tree, which `sprout rm` and `prune` find in the processes'
 * mountinfo (inuse.c). An overlay's mountinfo names its lower tree only by the
 * /proc/self/fd/N it was given, so a --writable run hands the lock to a keeper: a
 * detached process that holds only the lock and a pidfd of the command and exits when
 * the command does. It is started after the container's namespaces are made
 * (unshare(CLONE_NEWUSER) refuses a process whose memory is shared), so it lives in
 * them, with the user's ids; it runs no code but its own.
 *
 * It is made with clone(CLONE_VM) through a CLONE_VFORK go-between: a fork copies the
 * page tables, and every page the parent writes afterwards faults (the keeper made that
 * way cost 0.25-0.35 ms of a 5.5 ms start on the test VM). It shares the parent's
 * memory until the parent execs, then owns the old address space alone. Until then it
 * only makes system calls that cannot fail (so it never writes errno, which it shares)
 * and waits on a close-on-exec pipe whose write end the parent holds: end of file means
 * the parent has exec'd the command or died. Only then does it close its other fds. */
#ifndef SPROUT_KEEPER_H
#define SPROUT_KEEPER_H

/* Start the keeper for HOLD_FD (the lock; it stays open here too). Returns the write end
 * of the keeper's pipe (close-on-exec: keep it open until the exec), or -1 when no keeper
 * runs (no lock, or no pidfds before Linux 5.3: the running image is then unprotected). */
int sp_keeper_start (int hold_fd);

#endif
