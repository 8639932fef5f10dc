/* SPDX-License-Identifier: GPL-2.0-or-later */
/* proxy.c: the Slurm commands proxy of a containerized step (see proxy.h).
 *
 * Processes: the proxy (forked by `sprout start` before it unshares) accepts
 * connections; each connection gets a handler process, which runs the command as
 * its child and waits for it (pidfd) while relaying the client's signals. The
 * command gets the client's fds 0-2, argv, cwd and environment (the host's PATH;
 * LD_* variables of the image dropped: they name the image's libraries). No
 * privilege is involved: the proxy is the job user in the host's namespaces, as
 * the batch script itself would be without --container. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proxy/proxy.h"
#include "cache/store.h"
#include "syscalls.h"
#include "util.h"


#define CLIENT_NAME "sprout-slurm-client"
#define HOST_PATH_DEFAULT "/usr/local/bin:/usr/bin:/bin"

const char *const sp_proxy_commands[] = {
  "srun",    "sbatch", "salloc", "scancel",  "squeue",  "scontrol", "sacct",    "sinfo", "sstat",
  "sattach", "sprio",  "sshare", "sacctmgr", "sreport", "sbcast",   "strigger", "sdiag", NULL,
};

static volatile sig_atomic_t got_signal;

static void
on_signal (int sig)
{
  got_signal = sig;
}

static void
on_sigchld (int sig)
{
  (void) sig;
}

/* Path of the client program: next to this sprout binary first, else in libexecdir. */
static char *
find_client (void)
{
  return sp_find_libexec (CLIENT_NAME);
}

/* Copy the file at src into dirfd/name (mode 0755, created exclusively). */
static int
copy_file (const char *src, int dirfd, const char *name, sp_error_t *err)
{
  cleanup_close int in = open (src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  cleanup_close int out = -1;
  char buf[65536];
  ssize_t n;

  if (in < 0)
    return sp_error_make (err, errno, "cannot open %s", src);
  out = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
  if (out < 0)
    return sp_error_make (err, errno, "cannot create the proxy's copy of %s", src);
  while ((n = read (in, buf, sizeof (buf))) != 0)
    {
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return sp_error_make (err, errno, "cannot read %s", src);
        }
      if (sp_write_all (out, buf, (size_t) n) < 0)
        return sp_error_make (err, errno, "cannot copy %s", src);
    }
  return 0;
}

/* Remove the entries sp_proxy_start created in the directory dfd (best effort). */
static void
remove_entries (int dfd)
{
  int bfd = openat (dfd, "bin", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (bfd >= 0)
    {
      for (const char *const *c = sp_proxy_commands; *c != NULL; c++)
        unlinkat (bfd, *c, 0);
      unlinkat (bfd, CLIENT_NAME, 0);
      close (bfd);
      unlinkat (dfd, "bin", AT_REMOVEDIR);
    }
  unlinkat (dfd, "sock", 0);
}

/* Remove what sp_proxy_start created under dir (best effort; names are ours). */
static void
remove_dir (const char *dir)
{
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (dfd < 0)
    return;
  remove_entries (dfd);
  close (dfd);
  rmdir (dir);
}

/* The full path of command name on path, or NULL. */
static char *
search_path (const char *path, const char *name)
{
  cleanup_free char *copy = xstrdup (path);
  char *save = NULL;

  for (char *d = strtok_r (copy, ":", &save); d != NULL; d = strtok_r (NULL, ":", &save))
    {
      char *cand;
      if (d[0] != '/')
        continue;
      cand = xasprintf ("%s/%s", d, name);
      if (access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

/* Print "sprout: error: <fmt...>" on fd (the client's stderr), through error.h. */
static void __attribute__ ((format (printf, 3, 4))) fd_error (int fd, int errnum, const char *fmt, ...)
{
  cleanup_error sp_error_t err = NULL;
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  sp_error_make (&err, errnum, "%s", msg != NULL ? msg : "out of memory");
  sp_error_print_fd (fd, "sprout", err);
}

/* Receive the header and the three fds; 0 or -1. */
static int
recv_header (int sock, struct sp_proxy_hdr *h, int fds[3])
{
  union {
    char buf[CMSG_SPACE (3 * sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = h, .iov_len = sizeof (*h) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof (u.buf) };
  struct cmsghdr *c;
  ssize_t n;

  fds[0] = fds[1] = fds[2] = -1;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  for (c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN (3 * sizeof (int)))
      memcpy (fds, CMSG_DATA (c), 3 * sizeof (int));
  if (n != (ssize_t) sizeof (*h) || h->magic != SP_PROXY_MAGIC || h->len > SP_PROXY_MAX_REQUEST || fds[0] < 0
      || fds[1] < 0 || fds[2] < 0 || (msg.msg_flags & MSG_CTRUNC))
    return -1;
  return 0;
}

/* In the command's process: take the client's fds, cwd and environment, exec. */
static void __attribute__ ((noreturn))
exec_command (const char *path, char **argv, char **envp, const char *cwd, const int fds[3])
{
  sigset_t none;
  int keep[3];

  sigemptyset (&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* move the fds above 2 first so that dup2 cannot clobber one still needed */
  for (int i = 0; i < 3; i++)
    if ((keep[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
      _exit (125);
  for (int i = 0; i < 3; i++)
    if (dup2 (keep[i], i) < 0)
      _exit (125);
  sp_close_fds_from (3, NULL, 0);
  if (chdir (cwd) < 0)
    {
      fd_error (2, errno, "%s: cannot enter %s on the host", argv[0], cwd);
      _exit (125);
    }
  execve (path, argv, envp);
  {
    int e = errno;
    fd_error (2, e, "%s: cannot execute %s on the host", argv[0], path);
    _exit (e == ENOENT ? 127 : 126);
  }
}

/* Tell the client the command did not run: a line on its stderr, then exit status. */
static void __attribute__ ((noreturn)) refuse (int sock, int errfd, int status, sp_error_t err)
{
  struct sp_proxy_reply reply = { SP_PROXY_EXITED, status };

  sp_error_print_fd (errfd, "sprout", err);
  (void) !sp_write_all (sock, &reply, sizeof (reply));
  _exit (0);
}

/* The command's environment: the job's host PATH, then the client's variables but its
 * PATH (the container's) and LD_* (they name the image's libraries). */
static char **
command_env (const struct sp_proxy_request *req, const char *host_path)
{
  char **envp = xcalloc (req->n_env + 2, sizeof (char *));
  size_t n = 0;

  envp[n++] = xasprintf ("PATH=%s", host_path);
  for (size_t i = 0; i < req->n_env; i++)
    if (!sp_has_prefix (req->env[i], "PATH=") && !sp_has_prefix (req->env[i], "LD_"))
      envp[n++] = req->env[i];
  envp[n] = NULL;
  return envp;
}

/* Run the command as a child with the client's fds and wait for it, relaying the signals
 * the client sends on *sock (-1 once the client is gone); how it ended. */
static struct sp_proxy_reply
run_command (int *sock, const char *path, const struct sp_proxy_request *req, char **envp, int fds[3])
{
  static const int relayed[] = { SP_PROXY_RELAYED_SIGNALS };
  sigset_t block, none;
  pid_t pid;
  int pidfd, status;

  sigemptyset (&none);
  /* SIGTERM/SIGHUP/SIGINT to the handler (the step ends) go on to the command */
  sigemptyset (&block);
  sigaddset (&block, SIGTERM);
  sigaddset (&block, SIGHUP);
  sigaddset (&block, SIGINT);
  sigprocmask (SIG_BLOCK, &block, NULL);
  pid = fork ();
  if (pid < 0)
    _exit (1);
  if (pid == 0)
    {
      close (*sock);
      exec_command (path, req->argv, envp, req->cwd, fds);
    }
  for (int i = 0; i < 3; i++)
    close (fds[i]);
  pidfd = sp_pidfd_open (pid);
  if (pidfd < 0)
    _exit (1);
  for (;;)
    {
      struct pollfd pfd[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = *sock, .events = POLLIN } };
      int r = ppoll (pfd, *sock >= 0 ? 2 : 1, NULL, &none);

      if (got_signal)
        {
          kill (pid, got_signal);
          got_signal = 0;
        }
      if (r < 0)
        continue;
      if (pfd[0].revents)
        break;
      if (*sock >= 0 && pfd[1].revents)
        {
          int32_t sig;
          ssize_t n = read (*sock, &sig, sizeof (sig));

          if (n == (ssize_t) sizeof (sig))
            {
              for (size_t i = 0; i < sizeof (relayed) / sizeof (relayed[0]); i++)
                if (sig == relayed[i])
                  kill (pid, sig);
            }
          else if (n == 0 || (n < 0 && errno != EINTR))
            {
              /* the client is gone: so is the container that ran it */
              kill (pid, SIGTERM);
              close (*sock);
              *sock = -1;
            }
        }
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED (status))
    return (struct sp_proxy_reply) { SP_PROXY_SIGNALED, WTERMSIG (status) };
  return (struct sp_proxy_reply) { SP_PROXY_EXITED, WEXITSTATUS (status) };
}

/* One connection: read and check the request, run the command, reply. */
static int __attribute__ ((noreturn)) handle (int sock, const char *host_path)
{
  struct sp_proxy_hdr h;
  struct sp_proxy_request req;
  cleanup_error sp_error_t err = NULL;
  cleanup_free char *buf = NULL, *path = NULL;
  cleanup_free char **envp = NULL;
  struct sp_proxy_reply reply;
  bool known = false;
  int fds[3];

  if (recv_header (sock, &h, fds) < 0)
    _exit (1);
  buf = xmalloc ((size_t) h.len + 1);
  if (sp_read_all (sock, buf, h.len) != (ssize_t) h.len)
    _exit (1);
  if (sp_proxy_request_parse (buf, h.len, &req, &err) < 0)
    {
      sp_error_wrap (&err, "the Slurm proxy refused a request");
      refuse (sock, fds[2], 125, err);
    }
  for (const char *const *c = sp_proxy_commands; *c != NULL; c++)
    if (strcmp (*c, req.name) == 0)
      known = true;
  if (!known)
    {
      sp_error_make (&err, 0, "%s: not a Slurm command the container's proxy runs", req.name);
      refuse (sock, fds[2], 127, err);
    }
  if ((path = search_path (host_path, req.name)) == NULL)
    {
      sp_error_make (&err, 0, "%s: command not found on the host (PATH=%s)", req.name, host_path);
      refuse (sock, fds[2], 127, err);
    }
  envp = command_env (&req, host_path);
  reply = run_command (&sock, path, &req, envp, fds);
  if (sock >= 0)
    (void) !sp_write_all (sock, &reply, sizeof (reply));
  _exit (0);
}

/* The proxy process: accept until keepalive EOF or a terminating signal, then clean up. */
static void __attribute__ ((noreturn)) serve (int keepalive_fd, int lfd, const char *dir)
{
  const char *hp = getenv ("SPROUT_HOST_PATH");
  cleanup_free char *host_path = xstrdup (hp != NULL && *hp != '\0' ? hp : HOST_PATH_DEFAULT);
  struct sigaction sa;
  sigset_t block, none;
  int keep[2] = { keepalive_fd, lfd };
  int devnull;

  /* the plugin reads fd 1 to EOF and fd 2 on failure: this process must not hold them */
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0)
    {
      dup2 (devnull, STDOUT_FILENO);
      dup2 (devnull, STDERR_FILENO);
      close (devnull);
    }
  sp_close_fds_from (3, keep, 2);
  memset (&sa, 0, sizeof (sa));
  sigemptyset (&sa.sa_mask);
  sa.sa_handler = on_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  sa.sa_handler = on_sigchld;
  sigaction (SIGCHLD, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&none);
  sigemptyset (&block);
  sigaddset (&block, SIGTERM);
  sigaddset (&block, SIGHUP);
  sigaddset (&block, SIGINT);
  sigaddset (&block, SIGCHLD);
  sigprocmask (SIG_BLOCK, &block, NULL);

  while (!got_signal)
    {
      struct pollfd pfd[2] = { { .fd = keepalive_fd, .events = POLLIN }, { .fd = lfd, .events = POLLIN } };
      int r = ppoll (pfd, 2, NULL, &none);

      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
      if (r < 0)
        continue;
      if (pfd[0].revents)
        {
          char b[64];
          ssize_t n = read (keepalive_fd, b, sizeof (b));
          if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            break;
        }
      if (pfd[1].revents & POLLIN)
        {
          int c = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
          pid_t pid;

          if (c < 0)
            continue;
          pid = fork ();
          if (pid == 0)
            {
              close (lfd);
              close (keepalive_fd);
              got_signal = 0;
              sigprocmask (SIG_SETMASK, &none, NULL);
              handle (c, host_path);
            }
          close (c);
        }
    }
  close (lfd);
  remove_dir (dir);
  /* commands still running keep their handlers (and clients) until they end */
  _exit (0);
}

int
sp_proxy_start (int keepalive_fd, struct sp_proxy *p, sp_error_t *err)
{
  cleanup_free char *client = find_client ();
  cleanup_close int dfd = -1, bfd = -1, lfd = -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char tmpl[] = "/tmp/sprout-slurm.XXXXXX";
  pid_t pid;

  p->pid = -1;
  p->dir = p->bindir = NULL;
  p->tmpfd = p->dirfd = -1;
  /* not installed: the container works, only without Slurm's commands (as before them) */
  if (client == NULL)
    return 1;
  if (mkdtemp (tmpl) == NULL)
    return sp_error_make (err, errno, "--slurm-proxy: cannot create a private directory in /tmp");
  p->dir = xstrdup (tmpl);
  p->bindir = xasprintf ("%s/bin", tmpl);
  if ((dfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 || mkdirat (dfd, "bin", 0700) < 0
      || (bfd = openat (dfd, "bin", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    {
      sp_error_make (err, errno, "--slurm-proxy: cannot set up %s", tmpl);
      goto fail;
    }
  if (copy_file (client, bfd, CLIENT_NAME, err) < 0)
    goto fail;
  for (const char *const *c = sp_proxy_commands; *c != NULL; c++)
    if (symlinkat (CLIENT_NAME, bfd, *c) < 0)
      {
        sp_error_make (err, errno, "--slurm-proxy: cannot link %s/bin/%s", tmpl, *c);
        goto fail;
      }
  if (snprintf (addr.sun_path, sizeof (addr.sun_path), "%s/sock", tmpl) >= (int) sizeof (addr.sun_path))
    {
      sp_error_make (err, ENAMETOOLONG, "--slurm-proxy: %s/sock", tmpl);
      goto fail;
    }
  if ((lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
      || bind (lfd, (struct sockaddr *) &addr, sizeof (addr)) < 0 || listen (lfd, 64) < 0)
    {
      sp_error_make (err, errno, "--slurm-proxy: cannot listen on %s", addr.sun_path);
      goto fail;
    }
  pid = fork ();
  if (pid < 0)
    {
      sp_error_make (err, errno, "--slurm-proxy: cannot fork");
      goto fail;
    }
  if (pid == 0)
    serve (keepalive_fd, lfd, p->dir);
  p->pid = pid;
  p->tmpfd = open ("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
  p->dirfd = sp_steal_fd (&dfd);
  return 0;

fail:
  remove_dir (tmpl);
  sp_proxy_clear (p);
  return -1;
}

void
sp_proxy_stop (struct sp_proxy *p)
{
  if (p->pid > 0)
    {
      kill (p->pid, SIGKILL);
      while (waitpid (p->pid, NULL, 0) < 0 && errno == EINTR)
        ;
      p->pid = -1;
    }
  if (p->dirfd >= 0)
    {
      int dfd = openat (p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0)
        {
          remove_entries (dfd);
          close (dfd);
        }
      if (p->tmpfd >= 0 && p->dir != NULL)
        unlinkat (p->tmpfd, p->dir + strlen ("/tmp/"), AT_REMOVEDIR);
    }
}

void
sp_proxy_clear (struct sp_proxy *p)
{
  free (p->dir);
  free (p->bindir);
  p->dir = p->bindir = NULL;
  sp_closep (&p->tmpfd);
  sp_closep (&p->dirfd);
}
