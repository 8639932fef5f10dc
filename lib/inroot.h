/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inroot.h: paths resolved inside a root directory, the one resolver sprout has.
 *
 * Unpacking (helper/import/) and mount targets (helper/runtime/mounts.c) both
 * resolve names below a directory fd that must act as "/": whatever a name, a ".." or a
 * symlink planted in an image says, the answer is inside that directory.
 *
 * How: openat2(2) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. openat2 answers EAGAIN
 * when a rename or mount raced the lookup; it is retried up to 8 times, then the walk
 * below answers (it has no such race). The walk also answers, for every later call,
 * when the kernel lacks openat2 (ENOSYS, before 5.6), and for the one call when openat2
 * is refused with EPERM (seccomp profiles written before openat2 existed, e.g. Docker's
 * before 20.10, deny unknown system calls with EPERM) or EINVAL (what a kernel or a
 * system-call emulator answers for an open_how or resolve flag it does not support);
 * when the walk then succeeds, the refusal was openat2's own and the walk is used from
 * then on. An EPERM or EINVAL of the open itself comes back from the walk as well, so
 * the fallback never hides an answer. SPROUT_FORCE_ENOSYS=1 forces the walk (tests).
 *
 * The walk: one component at a time with O_PATH | O_NOFOLLOW from the root fd, a stack
 * of directory fds for "..", which at the root stays at the root; a symlink's target is
 * read (never followed by the kernel) and spliced in front of what is left, an absolute
 * one from the root: so symlinks inside the root resolve inside it, as openat2 does,
 * and more than 40 of them in one lookup is ELOOP. A magic link (/proc/PID/fd/N) is
 * only ever read as text. Both ways give the same answers (tests/unit/test_inroot.c). */
#ifndef SPROUT_INROOT_H
#define SPROUT_INROOT_H

#include <sys/types.h>

/* Open path below rootfd, resolved as if rootfd were "/", with open(2) flags (O_CLOEXEC
 * added; O_CREAT and O_TMPFILE are not supported). The last component is followed when
 * it is a symlink, unless flags has O_NOFOLLOW: then a symlink there is opened itself
 * with O_PATH, else ELOOP. "" and "/" name the root. Returns the fd or -1/errno. */
int sp_open_in_root (int rootfd, const char *path, int flags);

/* Open the directory path below rootfd (O_PATH | O_DIRECTORY: for *at calls; resolved
 * as sp_open_in_root does), first creating with mode each directory on the way that is
 * missing, as tar and mount targets need. path must be clean (sp_clean_path): no "."
 * or ".." components. A name that exists but resolves to nothing (a symlink to a
 * missing path) is not replaced or created through: -1/EEXIST. Returns the fd or
 * -1/errno. */
int sp_mkdirs_in_root (int rootfd, const char *path, mode_t mode);

/* Clean a path in place, lexically: drop leading "/", empty and "." components, and
 * resolve ".." against what comes before it; ".." at the top stays at the top. ""
 * means the root itself. For an entry path that is about to be resolved in a root. */
void sp_clean_path (char *path);

/* The same for an archive member's name, where ".." may not climb above the top: 0, or
 * -1 when it does (path then half-cleaned). */
int sp_clean_member (char *path);

#endif
