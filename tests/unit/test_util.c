/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_util.c: lib/util.c's read-to-end bound and the fd cleanup attribute. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util.h"
#include "tap.h"

/* sp_read_to_eof over a pipe holding n bytes, with max. */
static char *
read_pipe (size_t n, size_t max, size_t *len)
{
  int p[2];
  char *data = xmalloc (n + 1), *got;

  memset (data, 'x', n);
  if (pipe (p) < 0)
    return NULL;
  fcntl (p[1], F_SETPIPE_SZ, 1 << 20);
  if (sp_write_all (p[1], data, n) < 0)
    n = 0;
  close (p[1]);
  errno = 0;
  got = sp_read_to_eof (p[0], max, len);
  close (p[0]);
  free (data);
  return got;
}

static void
check_bound (size_t n, size_t max)
{
  size_t len = 0;
  char *got = read_pipe (n, max, &len);

  if (n <= max)
    tap_ok (got != NULL && len == n && got[n] == '\0', "%zu bytes with max %zu: read whole", n, max);
  else
    tap_ok (got == NULL && errno == EFBIG, "%zu bytes with max %zu: EFBIG", n, max);
  free (got);
}

int
main (void)
{
  check_bound (0, 100);
  check_bound (100, 100);
  check_bound (101, 100);
  check_bound (5000, 5000);
  check_bound (5001, 5000);
  check_bound (8192, 5000); /* was read whole: the buffer grew to 8192 past max */
  check_bound (4096, 4096); /* was EFBIG: a text of exactly max bytes */
  check_bound (70000, 65536);
  {
    int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    sp_closep (&fd);
    TAP_IS_INT (fd, -1, "sp_closep sets the fd to -1");
  }
  {
    int copy;
    {
      cleanup_close int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      copy = fd;
      sp_closep (&fd); /* closed early; the cleanup at the end of the scope must not close again */
      tap_ok (fcntl (copy, F_GETFD) < 0 && errno == EBADF, "closed early");
      copy = open ("/dev/null", O_RDONLY | O_CLOEXEC); /* may reuse the number */
    }
    tap_ok (fcntl (copy, F_GETFD) >= 0, "the scope's cleanup left a reused fd number alone");
    close (copy);
  }
  return tap_done ();
}
