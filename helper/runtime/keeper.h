/* keeper.h: the lock keeper of `sprout run`.
 *
 * `sprout run` execs the command in place and only fds 0-2 reach it, so the shared
 * lock that keeps `sprout rm` and `prune` off a running image is handed to a keeper:
 * a detached process that holds only the lock and a pidfd of the command and exits
 * when the command does. It is started after the container's namespaces are made
 * (unshare(CLONE_NEWUSER) refuses a process whose memory is shared), so it lives in
 * them, with the user's ids; it runs no code but its own.
 *
 * Starting it must cost next to nothing (a fork copies the page tables, and every page
 * the parent writes afterwards faults: on a virtual machine that is most of a
 * millisecond). So the keeper is made with clone(CLONE_VM): it shares the parent's
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
