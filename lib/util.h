/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h: small helpers shared by the helper and the plugin:
 * cleanup attributes, ownership hand-off, fd and string utilities. */
#ifndef SPROUT_UTIL_H
#define SPROUT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

static inline void
sp_freep (void *p)
{
  free (*(void **) p);
}

/* Close *fd (if open) and set it to -1, so that a later close or cleanup is harmless. */
static inline void
sp_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static inline void *
sp_steal_pointer (void *pp)
{
  void **p = pp, *v = *p;
  *p = NULL;
  return v;
}

static inline int
sp_steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#define cleanup_free __attribute__ ((cleanup (sp_freep)))
#define cleanup_close __attribute__ ((cleanup (sp_closep)))
#define steal_pointer(pp) sp_steal_pointer (pp)
#define steal_fd(fdp) sp_steal_fd (fdp)

#define SP_UNUSED __attribute__ ((unused))
#define SP_EXPORT __attribute__ ((visibility ("default")))

/* malloc-family wrappers that abort on out-of-memory (short-lived CLI only; the
 * plugin checks for NULL itself). */
void *xmalloc (size_t n);
void *xcalloc (size_t n, size_t m);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Write all of buf to fd, retrying on EINTR and short writes. 0 or -1/errno. */
int sp_write_all (int fd, const void *buf, size_t len);

/* Read up to len bytes, retrying until len or EOF. Returns bytes read or -1/errno. */
ssize_t sp_read_all (int fd, void *buf, size_t len);

/* fd read to its end (a pipe, a /proc file) into a malloc'd NUL-terminated buffer, its
 * length in *len_out. The text may be max bytes long; a longer one is never held (the
 * buffer never grows past max + 1 bytes): NULL with EFBIG. NULL also on a read error,
 * or when out of memory (no abort: the plugin runs in slurmstepd). */
char *sp_read_to_eof (int fd, size_t max, size_t *len_out);

/* The whole of the regular file open on fd (at most max bytes; a /proc file, whose
 * size reads 0, to its end), NUL-terminated and malloc'd; NULL when fd is -1, not a
 * regular file, larger than max or unreadable. */
char *sp_read_text (int fd, size_t max);

/* Close every fd >= from except those listed in keep (n entries). 0 or -1/errno. */
int sp_close_fds_from (int from, const int *keep, size_t n);

/* The same with close_range(2) over the gaps between the kept fds (n <= 8): no
 * allocation, no /proc. -1/ENOSYS where the kernel lacks close_range (before 5.9). */
int sp_close_range_except (int from, const int *keep, size_t n);

/* Mark fd close-on-exec (on=true) or not. */
int sp_set_cloexec (int fd, bool on);

/* Free a NULL-terminated string vector and its strings; harmless on NULL. */
void sp_strv_free (char **v);

/* Number of entries in a NULL-terminated vector (0 for NULL). */
size_t sp_strv_len (char *const *v);

/* True if s starts with prefix. */
bool sp_has_prefix (const char *s, const char *prefix);

#endif
