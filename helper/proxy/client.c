/* SPDX-License-Identifier: GPL-2.0-or-later */
/* client.c: the program sprout-slurm-client, Slurm's commands inside a container (see proxy.h).
 *
 * Linked statically (it runs in any image, whatever its libc; no NSS is used) and
 * reached under the Slurm command names (srun, sbatch, squeue...) through the
 * proxy's bin directory at the end of the container's PATH. It sends its name,
 * argv, environment, working directory and fds 0, 1, 2 to the proxy's socket
 * (DIR/sock for DIR/bin/sprout-slurm-client, found from /proc/self/exe), relays
 * SP_PROXY_RELAYED_SIGNALS (proxy.h says which and why), and ends as the host's
 * command ended: with its exit status, or killed by the same signal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "proxy/proxy.h"

extern char **environ;

static int sigpipe_fds[2] = { -1, -1 };
static const int relayed[] = { SP_PROXY_RELAYED_SIGNALS };

static void
on_signal (int sig)
{
  int32_t s = sig;
  int e = errno;
  (void) !write (sigpipe_fds[1], &s, sizeof (s));
  errno = e;
}

/* "sprout: error: NAME: WHAT[: strerror]" and exit 125, sprout's own failure status. */
static int __attribute__ ((noreturn)) fail (const char *name, const char *what, int errnum)
{
  sp_error_t err = NULL;

  sp_error_make (&err, errnum, "%s: %s", name, what);
  sp_error_die ("sprout", &err, 125);
}

static int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

/* Append s with its NUL to the growing buffer. */
static void
add (char **buf, size_t *len, size_t *cap, const char *s, const char *name)
{
  size_t l = strlen (s) + 1;
  if (*len + l > *cap)
    {
      *cap = (*len + l) * 2;
      if ((*buf = realloc (*buf, *cap)) == NULL)
        fail (name, "out of memory", 0);
    }
  memcpy (*buf + *len, s, l);
  *len += l;
}

int
main (int argc, char **argv)
{
  const char *name = argc > 0 && argv[0] != NULL ? argv[0] : "sprout-slurm-client";
  char self[PATH_MAX], cwd[PATH_MAX], num[32], *slash;
  const char *base;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char *buf = NULL;
  size_t len = 0, cap = 0;
  ssize_t n;
  int sock;
  struct sp_proxy_reply reply;
  size_t got = 0;

  /* a closed standard fd is passed on as /dev/null (it cannot be sent as it is) */
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl (fd, F_GETFD) < 0 && errno == EBADF && open ("/dev/null", O_RDWR) != fd)
      return 125;
  /* const: with C23's qualifier-preserving strrchr (glibc 2.43) a char * would discard it */
  if ((base = strrchr (name, '/')) != NULL)
    name = base + 1;
  if (strcmp (name, "sprout-slurm-client") == 0)
    fail (name, "run it as a Slurm command (srun, sbatch, ...) inside a sprout container", 0);
  /* the socket is DIR/sock for this program at DIR/bin/sprout-slurm-client */
  n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  if (n <= 0)
    fail (name, "cannot find the Slurm proxy (readlink /proc/self/exe)", errno);
  self[n] = '\0';
  for (int i = 0; i < 2; i++)
    if ((slash = strrchr (self, '/')) != NULL)
      *slash = '\0';
  if (snprintf (addr.sun_path, sizeof (addr.sun_path), "%s/sock", self) >= (int) sizeof (addr.sun_path))
    fail (name, "the Slurm proxy's socket path is too long", 0);
  if (getcwd (cwd, sizeof (cwd)) == NULL)
    fail (name, "cannot read the working directory", errno);

  add (&buf, &len, &cap, name, name);
  add (&buf, &len, &cap, cwd, name);
  snprintf (num, sizeof (num), "%d", argc);
  add (&buf, &len, &cap, num, name);
  for (int i = 0; i < argc; i++)
    add (&buf, &len, &cap, i == 0 ? name : argv[i], name);
  for (char **e = environ; e != NULL && *e != NULL; e++)
    add (&buf, &len, &cap, *e, name);
  if (len > SP_PROXY_MAX_REQUEST)
    fail (name, "arguments and environment too large for the Slurm proxy", E2BIG);

  /* signals arriving from now on are queued and relayed once connected */
  if (pipe (sigpipe_fds) < 0)
    fail (name, "pipe", errno);
  for (size_t i = 0; i < sizeof (relayed) / sizeof (relayed[0]); i++)
    {
      struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
      sigemptyset (&sa.sa_mask);
      sigaction (relayed[i], &sa, NULL);
    }
  signal (SIGPIPE, SIG_IGN);

  if ((sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
    fail (name, "socket", errno);
  if (connect (sock, (struct sockaddr *) &addr, sizeof (addr)) < 0)
    {
      char what[PATH_MAX + 64];
      snprintf (what, sizeof (what), "cannot reach the Slurm proxy at %s", addr.sun_path);
      fail (name, what, errno);
    }
  {
    struct sp_proxy_hdr h = { .magic = SP_PROXY_MAGIC, .len = (uint32_t) len };
    int fds[3] = { 0, 1, 2 };
    union {
      char b[CMSG_SPACE (sizeof (fds))];
      struct cmsghdr align;
    } u;
    struct iovec iov = { .iov_base = &h, .iov_len = sizeof (h) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof (u.b) };
    struct cmsghdr *c = CMSG_FIRSTHDR (&msg);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN (sizeof (fds));
    memcpy (CMSG_DATA (c), fds, sizeof (fds));
    while ((n = sendmsg (sock, &msg, 0)) < 0 && errno == EINTR)
      ;
    if (n != (ssize_t) sizeof (h) || write_all (sock, buf, len) < 0)
      fail (name, "cannot send the command to the Slurm proxy", errno);
  }
  free (buf);

  for (;;)
    {
      struct pollfd pfd[2] = { { .fd = sock, .events = POLLIN }, { .fd = sigpipe_fds[0], .events = POLLIN } };

      if (poll (pfd, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          fail (name, "poll", errno);
        }
      if (pfd[1].revents & POLLIN)
        {
          int32_t sig;
          if (read (sigpipe_fds[0], &sig, sizeof (sig)) == (ssize_t) sizeof (sig))
            (void) !write_all (sock, &sig, sizeof (sig));
        }
      if (pfd[0].revents)
        {
          n = read (sock, (char *) &reply + got, sizeof (reply) - got);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            fail (name, "the Slurm proxy went away before the command ended", n < 0 ? errno : 0);
          got += (size_t) n;
          if (got == sizeof (reply))
            break;
        }
    }
  if (reply.kind == SP_PROXY_SIGNALED)
    {
      sigset_t s;
      signal (reply.value, SIG_DFL);
      sigemptyset (&s);
      sigaddset (&s, reply.value);
      sigprocmask (SIG_UNBLOCK, &s, NULL);
      raise (reply.value);
      return 128 + reply.value;
    }
  return reply.value;
}
