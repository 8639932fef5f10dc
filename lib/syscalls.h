/* SPDX-License-Identifier: GPL-2.0-or-later */
/* syscalls.h: system calls missing from older glibc headers, wrapped once.
 * Each returns -1/ENOSYS where the kernel or headers lack it; callers have a
 * fallback. SPROUT_FORCE_ENOSYS=1 in the environment forces that path so the
 * fallbacks are tested (see tests/). */
#ifndef SPROUT_SYSCALLS_H
#define SPROUT_SYSCALLS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RESOLVE_NO_XDEV
# define RESOLVE_NO_XDEV 0x01
# define RESOLVE_NO_MAGICLINKS 0x02
# define RESOLVE_NO_SYMLINKS 0x04
# define RESOLVE_BENEATH 0x08
# define RESOLVE_IN_ROOT 0x10
#endif
#ifndef SYS_openat2
# define SYS_openat2 437
#endif
#ifndef SYS_close_range
# define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
# define SYS_pidfd_open 434
#endif

struct sp_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};

static inline int
sp_force_enosys (void)
{
  const char *v = getenv ("SPROUT_FORCE_ENOSYS");
  return v != NULL && strcmp (v, "1") == 0;
}

static inline int
sp_openat2 (int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
  struct sp_open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
  if (sp_force_enosys ())
    {
      errno = ENOSYS;
      return -1;
    }
  return (int) syscall (SYS_openat2, dirfd, path, &how, sizeof (how));
}

static inline int
sp_close_range (unsigned first, unsigned last, unsigned flags)
{
  if (sp_force_enosys ())
    {
      errno = ENOSYS;
      return -1;
    }
  return (int) syscall (SYS_close_range, first, last, flags);
}

/* A pidfd for pid (kernel 5.3+): it polls readable once the process has exited. */
static inline int
sp_pidfd_open (pid_t pid)
{
  return (int) syscall (SYS_pidfd_open, pid, 0);
}

#endif
