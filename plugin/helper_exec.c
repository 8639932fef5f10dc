/* SPDX-License-Identifier: GPL-2.0-or-later */
/* helper_exec.c: the launch of `sprout start` from slurmstepd (see helper_exec.h).
 *
 * The child is made as posix_spawn makes its own: clone(CLONE_VM | CLONE_VFORK) on a
 * stack of its own. A fork of slurmstepd would copy its page tables and make every page
 * the daemon writes afterwards fault (3-4 ms of a step on a virtual machine); a child
 * that shares memory costs neither, and the calling thread sleeps until it has exec'd.
 * slurmstepd is multithreaded, so the child runs only async-signal-safe code (raw
 * system calls for the ids: glibc's setuid would signal the daemon's threads) and
 * everything it needs is prepared before the clone; all signals are blocked across it
 * and the child resets every handler before unblocking.
 * Between the two processes: fd 0 of the helper is a keep-alive pipe (EOF ends
 * it), fd 1 carries NUL-terminated records (cwd=, env=, remap_root=, ready),
 * fd 2 is a memfd whose text is shown to the user only when the helper fails. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper_exec.h"
#include "syscalls.h"
#include "util.h"

#ifndef SYS_pidfd_send_signal
# define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
# define P_PIDFD 3
#endif

/* Records and error output larger than this are a broken helper, not data. */
#define MAX_RECORDS (1 << 20)
#define MAX_ERRTEXT 4096

void
sp_helper_init (struct sp_helper *h)
{
  memset (h, 0, sizeof (*h));
  h->pid = -1;
  h->pidfd = h->keepalive_fd = h->userns_fd = h->mntns_fd = -1;
}

/* In the child: write "sprout: error: <what>: <strerror>" on fd 2 and exit 125. */
static void __attribute__ ((noreturn)) child_fail (const char *what, int e)
{
  static const char prefix[] = "sprout: error: ";
  const char *why = strerrordesc_np (e);

  (void) !write (STDERR_FILENO, prefix, sizeof (prefix) - 1);
  (void) !write (STDERR_FILENO, what, strlen (what));
  if (why != NULL)
    {
      (void) !write (STDERR_FILENO, ": ", 2);
      (void) !write (STDERR_FILENO, why, strlen (why));
    }
  (void) !write (STDERR_FILENO, "\n", 1);
  _exit (125);
}

/* The child after the clone: async-signal-safe only; never returns. */
static void __attribute__ ((noreturn))
child_exec (const struct sp_helper_launch *l, int in_fd, int out_fd, int err_fd, int max_fd, const sigset_t *empty)
{
  struct sigaction dfl;

  if (dup2 (err_fd, STDERR_FILENO) < 0)
    _exit (125);
  if (dup2 (in_fd, STDIN_FILENO) < 0 || dup2 (out_fd, STDOUT_FILENO) < 0)
    child_fail ("cannot set up the helper's standard fds", errno);
  if (sp_close_range (3, ~0U, 0) < 0)
    for (int fd = 3; fd <= max_fd; fd++)
      close (fd);

  /* slurmstepd blocks and ignores signals its tasks must not inherit */
  memset (&dfl, 0, sizeof (dfl));
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      (void) sigaction (s, &dfl, NULL);
  (void) sigprocmask (SIG_SETMASK, empty, NULL);

  /* the stepd runs with euid = user and saved uid 0: regain root only to drop it for good */
  if (syscall (SYS_setresuid, -1, 0, -1) == 0)
    {
      if (syscall (SYS_setgroups, (size_t) l->ngids, l->gids) < 0)
        child_fail ("cannot set the job's supplementary groups", errno);
    }
  else if (geteuid () != l->uid)
    child_fail ("cannot switch to the job user", errno);
  if (syscall (SYS_setresgid, l->gid, l->gid, l->gid) < 0)
    child_fail ("cannot set the job's group id", errno);
  if (syscall (SYS_setresuid, l->uid, l->uid, l->uid) < 0)
    child_fail ("cannot set the job's user id", errno);
  if (l->uid != 0 && syscall (SYS_setresuid, -1, 0, -1) == 0)
    child_fail ("root privileges could be regained after dropping them", EPERM);

  if (l->cwd != NULL && chdir (l->cwd) < 0)
    child_fail ("cannot enter the step's working directory", errno);
  execve (l->path, l->argv, l->envp);
  {
    /* name the helper: the admin must see which path is wrong */
    static const char what[] = "cannot execute the helper ";
    char buf[PATH_MAX + sizeof (what)];
    size_t n = strlen (l->path);
    if (n > PATH_MAX)
      n = PATH_MAX;
    memcpy (buf, what, sizeof (what) - 1);
    memcpy (buf + sizeof (what) - 1, l->path, n);
    buf[sizeof (what) - 1 + n] = '\0';
    child_fail (buf, errno);
  }
}

struct child_args {
  const struct sp_helper_launch *l;
  int in_fd, out_fd, err_fd, max_fd;
  const sigset_t *empty;
};

static int
child_main (void *arg)
{
  const struct child_args *a = arg;
  child_exec (a->l, a->in_fd, a->out_fd, a->err_fd, a->max_fd, a->empty);
}

#define CHILD_STACK (64 * 1024)

/* Run FN(ARG) in a child made as posix_spawn makes one (see the top of this file):
 * shared memory, its own stack, the caller asleep until FN execs or exits, every
 * signal blocked across the clone. FN must only make async-signal-safe calls. The
 * child's pid, or -1 with errno. */
static pid_t
spawn_child (int (*fn) (void *), void *arg)
{
  sigset_t all, old;
  char *stack = mmap (NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t pid;
  int e;

  if (stack == MAP_FAILED)
    return -1;
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  pid = clone (fn, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
  e = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  munmap (stack, CHILD_STACK);
  errno = e;
  return pid;
}

/* Move fd out of 0..2 (slurmstepd may run with a standard fd closed). */
static int
fd_above_stdio (int *fd)
{
  int nfd;

  if (*fd > STDERR_FILENO)
    return 0;
  nfd = fcntl (*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (nfd < 0)
    return -1;
  close (*fd);
  *fd = nfd;
  return 0;
}

/* The helper's one "sprout: error: " line without the prefix, else its last line. */
static char *
error_from_output (int err_fd)
{
  char buf[MAX_ERRTEXT + 1];
  ssize_t n = pread (err_fd, buf, MAX_ERRTEXT, 0);
  char *line = NULL, *save = NULL, *found = NULL, *last = NULL;

  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  for (line = strtok_r (buf, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    {
      if (found == NULL && sp_has_prefix (line, "sprout: error: "))
        found = line + strlen ("sprout: error: ");
      if (*line != '\0')
        last = line;
    }
  return found != NULL ? strdup (found) : last != NULL ? strdup (last) : NULL;
}

/* Parse the NUL-terminated records; true when the last one is `ready`. */
static int
parse_records (const char *buf, size_t len, struct sp_helper *h, bool *ready, sp_error_t *err)
{
  size_t n_env = 0;

  *ready = false;
  for (size_t off = 0; off < len;)
    {
      const char *rec = buf + off;
      size_t rlen = strnlen (rec, len - off);

      if (off + rlen == len)
        return sp_error_make (err, 0, "the helper's output ends in an unterminated record");
      off += rlen + 1;
      *ready = false;
      if (strcmp (rec, "ready") == 0)
        *ready = true;
      else if (sp_has_prefix (rec, "cwd="))
        {
          free (h->cwd);
          if ((h->cwd = strdup (rec + 4)) == NULL)
            return sp_error_make (err, errno, "out of memory");
        }
      else if (sp_has_prefix (rec, "slurm_proxy="))
        {
          free (h->proxy_dir);
          if ((h->proxy_dir = strdup (rec + 12)) == NULL)
            return sp_error_make (err, errno, "out of memory");
        }
      else if (sp_has_prefix (rec, "remap_root="))
        h->remap_root = strcmp (rec + 11, "1") == 0;
      else if (sp_has_prefix (rec, "env="))
        {
          char **nv;
          if (strchr (rec + 4, '=') == NULL)
            return sp_error_make (err, 0, "the helper sent a malformed env record '%s'", rec);
          nv = realloc (h->env, (n_env + 2) * sizeof (char *));
          if (nv == NULL)
            return sp_error_make (err, errno, "out of memory");
          h->env = nv;
          if ((nv[n_env] = strdup (rec + 4)) == NULL)
            return sp_error_make (err, errno, "out of memory");
          nv[++n_env] = NULL;
        }
      /* other records: from a newer helper; ignored */
    }
  return 0;
}

/* Wait for the helper to exit, up to timeout_ms (< 0: forever); its status or -1. */
static int
reap (struct sp_helper *h, int timeout_ms)
{
  int status = -1;

  if (h->pid < 0)
    return -1;
  if (h->pidfd >= 0 && timeout_ms >= 0)
    {
      struct pollfd p = { .fd = h->pidfd, .events = POLLIN };
      int r;
      do
        r = poll (&p, 1, timeout_ms);
      while (r < 0 && errno == EINTR);
      if (r == 0)
        syscall (SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
    }
  else if (timeout_ms >= 0)
    {
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      for (int waited = 0; waited < timeout_ms; waited += 10)
        {
          pid_t r = waitpid (h->pid, &status, WNOHANG);
          if (r == h->pid || (r < 0 && errno != EINTR))
            {
              h->pid = -1;
              return r == -1 ? -1 : status;
            }
          nanosleep (&ts, NULL);
        }
      kill (h->pid, SIGKILL);
    }
  if (h->pidfd >= 0)
    {
      siginfo_t si;
      memset (&si, 0, sizeof (si));
      while (waitid ((idtype_t) P_PIDFD, (id_t) h->pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
      /* ECHILD: slurmstepd's own wait for any child reaped it first */
      if (si.si_pid != 0)
        status = si.si_code == CLD_EXITED ? W_EXITCODE (si.si_status, 0) : si.si_status;
    }
  else
    while (waitpid (h->pid, &status, 0) < 0 && errno == EINTR)
      ;
  h->pid = -1;
  return status;
}

void
sp_helper_stop (struct sp_helper *h, int timeout_ms)
{
  sp_closep (&h->keepalive_fd);
  sp_closep (&h->userns_fd);
  sp_closep (&h->mntns_fd);
  if (h->pid > 0)
    reap (h, timeout_ms);
  sp_closep (&h->pidfd);
  free (h->cwd);
  free (h->proxy_dir);
  sp_strv_free (h->env);
  sp_helper_init (h);
}

struct remove_args {
  const char *dir;
  uid_t uid;
  gid_t gid;
};

/* Remove every entry of the directory DFD (no subdirectories expected), with raw
 * getdents64: this runs in a child that shares slurmstepd's memory (no malloc). */
static void
remove_entries_raw (int dfd)
{
  char buf[4096] __attribute__ ((aligned (8)));
  long n;

  while ((n = syscall (SYS_getdents64, dfd, buf, sizeof (buf))) > 0)
    for (long off = 0; off < n;)
      {
        struct dirent64 *e = (struct dirent64 *) (buf + off);
        if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
          unlinkat (dfd, e->d_name, 0);
        off += e->d_reclen;
      }
}

static int
remove_main (void *arg)
{
  const struct remove_args *a = arg;
  int dfd, bfd;

  /* as the user, never root: the directory is the user's, in a world-writable /tmp */
  if (syscall (SYS_setgroups, 1, &a->gid) < 0 || syscall (SYS_setresgid, a->gid, a->gid, a->gid) < 0
      || syscall (SYS_setresuid, a->uid, a->uid, a->uid) < 0)
    _exit (1);
  if ((dfd = open (a->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    _exit (0);
  if ((bfd = openat (dfd, "bin", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
    {
      remove_entries_raw (bfd);
      close (bfd);
    }
  unlinkat (dfd, "bin", AT_REMOVEDIR);
  unlinkat (dfd, "sock", 0);
  close (dfd);
  rmdir (a->dir);
  _exit (0);
}

void
sp_helper_remove_proxy_dir (const char *dir, uid_t uid, gid_t gid)
{
  static const char prefix[] = "/tmp/sprout-slurm.";
  struct remove_args a = { .dir = dir, .uid = uid, .gid = gid };
  struct stat st;
  pid_t pid;

  /* only the name sprout start makes: /tmp/sprout-slurm.XXXXXX, nothing below it */
  if (dir == NULL || strncmp (dir, prefix, sizeof (prefix) - 1) != 0 || strchr (dir + sizeof (prefix) - 1, '/') != NULL
      || strstr (dir, "..") != NULL)
    return;
  /* gone already when the proxy saw the keep-alive end (outside Slurm, or a holder
   * that outlived the step's SIGKILL) */
  if (lstat (dir, &st) < 0 && errno == ENOENT)
    return;
  pid = spawn_child (remove_main, &a);
  while (pid > 0 && waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

static int
open_ns (pid_t pid, const char *ns, int *out, sp_error_t *err)
{
  char path[64];

  snprintf (path, sizeof (path), "/proc/%d/ns/%s", (int) pid, ns);
  *out = open (path, O_RDONLY | O_CLOEXEC);
  if (*out < 0)
    return sp_error_make (err, errno, "cannot open the container's %s namespace (%s)", ns, path);
  return 0;
}

int
sp_helper_start (const struct sp_helper_launch *l, struct sp_helper *h, sp_error_t *err)
{
  cleanup_close int in_r = -1, in_w = -1, out_r = -1, out_w = -1, err_fd = -1;
  cleanup_free char *records = NULL;
  int fds[2], max_fd = 65535, status;
  size_t len = 0;
  bool ready = false;
  struct rlimit rl;
  sigset_t empty;

  sp_helper_init (h);
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return sp_error_make (err, errno, "cannot create a pipe");
  in_r = fds[0], in_w = fds[1];
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return sp_error_make (err, errno, "cannot create a pipe");
  out_r = fds[0], out_w = fds[1];
  err_fd = memfd_create ("sprout-helper-stderr", MFD_CLOEXEC);
  if (err_fd < 0)
    return sp_error_make (err, errno, "cannot create a memfd for the helper's errors");
  if (fd_above_stdio (&in_r) < 0 || fd_above_stdio (&out_w) < 0 || fd_above_stdio (&err_fd) < 0)
    return sp_error_make (err, errno, "cannot move fds above 2");
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t) INT_MAX)
    max_fd = (int) rl.rlim_cur;
  sigemptyset (&empty);

  {
    struct child_args a = {
      .l = l, .in_fd = in_r, .out_fd = out_w, .err_fd = err_fd, .max_fd = max_fd, .empty = &empty
    };
    h->pid = spawn_child (child_main, &a);
    if (h->pid < 0)
      {
        h->pid = -1;
        return sp_error_make (err, errno, "cannot start the helper");
      }
  }

  h->pidfd = sp_pidfd_open (h->pid);
  if (h->pidfd >= 0)
    sp_set_cloexec (h->pidfd, true);
  sp_closep (&in_r);
  in_r = -1;
  sp_closep (&out_w);
  out_w = -1;
  h->keepalive_fd = steal_fd (&in_w);

  records = sp_read_to_eof (out_r, MAX_RECORDS, &len);
  if (records == NULL)
    sp_error_make (err, errno, "cannot read the helper's output");
  else if (parse_records (records, len, h, &ready, err) < 0)
    ;
  else if (!ready)
    {
      /* no `ready`: the helper failed and says why on its stderr */
      cleanup_free char *why = NULL;
      sp_closep (&h->keepalive_fd);
      h->keepalive_fd = -1;
      status = reap (h, 10000);
      why = error_from_output (err_fd);
      if (status >= 0 && WIFSIGNALED (status))
        sp_error_make (err, 0, "the helper %s was killed by signal %d%s%s", l->path, WTERMSIG (status),
                       why != NULL ? ": " : "", why != NULL ? why : "");
      else if (why != NULL)
        sp_error_make (err, 0, "%s", why);
      else
        sp_error_make (err, 0, "the helper %s exited with status %d without preparing the container", l->path,
                       status >= 0 && WIFEXITED (status) ? WEXITSTATUS (status) : -1);
    }
  else
    {
      /* the holder must still be alive: its namespaces are what the tasks join */
      siginfo_t si;
      memset (&si, 0, sizeof (si));
      if (waitid (P_PID, (id_t) h->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
        sp_error_make (err, 0, "the helper %s exited right after it reported ready", l->path);
      else if (open_ns (h->pid, "user", &h->userns_fd, err) == 0 && open_ns (h->pid, "mnt", &h->mntns_fd, err) == 0)
        return 0;
    }
  sp_helper_stop (h, 10000);
  return -1;
}
