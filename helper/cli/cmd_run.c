/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_run.c: `sprout run` and `sprout start`.
 *
 * `sprout run [OPTIONS] IMAGE [COMMAND [ARG...]]` builds the container in this
 * process and execs the command in place: no parent is left behind, so signals,
 * the pid and the exit status are the command's own. 125: sprout failed before
 * the command started; 126: not executable; 127: not found in the container.
 *
 * `sprout start [OPTIONS] IMAGE` is the SPANK plugin's half. Protocol (a contract
 * with plugin/; also in sprout(1)):
 *   The plugin forks, becomes the job user for good and execs `sprout start` with
 *   fd 0 = read end of a keep-alive pipe (the plugin holds the write end),
 *   fd 1 = a pipe the plugin reads, fd 2 = captured error output.
 *   This process does what `run` does up to (not including) the exec, in its own
 *   pid: it becomes the namespace holder, so the plugin opens /proc/PID/ns/user
 *   and /proc/PID/ns/mnt of the pid it forked. On success it writes to fd 1 a
 *   sequence of NUL-terminated records, then closes fd 1:
 *     cwd=<working directory inside the container>
 *     env=NAME=VALUE    one per variable the task must set: the image's Env, then
 *                       --env (never a name of envrules.h: HOME, USER, SLURM_*...)
 *     remap_root=0|1
 *     slurm_proxy=DIR   with --slurm-proxy: the proxy's private directory
 *     ready             always last; anything else means failure
 *   It then blocks until fd 0 reaches EOF, or SIGTERM, SIGHUP or SIGINT arrives,
 *   and exits 0. On failure: one "sprout: error: ..." line on fd 2, exit 125,
 *   no "ready" record.
 *   Each task then does: setns(user fd), setns(mnt fd), chdir(cwd), setenv for
 *   each env record, sp_privs_drop_for_exec(remap_root), and Slurm execs it.
 *   With --slurm-proxy it first forks the Slurm commands proxy (proxy.h),
 *   still on the host, and appends the proxy's bin directory to the env PATH record.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/container.h"
#include "runtime/env.h"
#include "envrules.h"
#include "error.h"
#include "runtime/keeper.h"
#include "privs.h"
#include "proxy/proxy.h"
#include "cache/store.h"
#include "syscalls.h"
#include "util.h"

extern char **environ;

struct run_args {
  struct sp_run_opts opts;
  const char *image;
  char **command; /* argv after IMAGE (may be empty) */
  int n_command;
  bool slurm_proxy;       /* start --slurm-proxy: Slurm's commands inside (proxy.h) */
  bool use_entrypoint;    /* --entrypoint: the image's Entrypoint before COMMAND */
  const char *entrypoint; /* --entrypoint=PROG: PROG replaces the image's Entrypoint */
  char **env;             /* --env, NULL-terminated */
  size_t n_env;
};

static void
run_args_free (struct run_args *a)
{
  for (size_t i = 0; i < a->opts.n_mounts; i++)
    {
      free (a->opts.mounts[i].src);
      free (a->opts.mounts[i].dst);
    }
  free (a->opts.mounts);
  free (a->env); /* strings belong to argv */
}

static void
usage (FILE *f, bool start)
{
  if (start)
    fprintf (f, "Usage: sprout start [OPTIONS] IMAGE\n\n"
                "Prepare a container for IMAGE and hold it until standard input closes\n"
                "(used by the SPANK plugin; the protocol is in sprout(1)).\n\n");
  else
    fprintf (f, "Usage: sprout run [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
                "Run COMMAND (default: the image's Entrypoint and Cmd) inside IMAGE in a\n"
                "rootless container that shares the host's network, processes and IPC.\n\n");
  fprintf (f, "Options:\n"
              "  -m, --mount SRC:DST[:ro|rw]  bind host path SRC at DST (absolute) inside\n"
              "  -w, --workdir DIR            working directory inside the container\n"
              "  -e, --env NAME=VALUE         set a variable (after the image's Env)\n"
              "      --remap-root             map the user to root inside\n"
              "      --writable               writable root (changes vanish at exit)\n"
              "      --no-home                do not bind $HOME\n"
              "      --cache-dir DIR          image cache\n");
  if (start)
    fprintf (f, "      --slurm-proxy            Slurm's commands inside, run on the host\n"
                "                               (a proxy; its directory ends PATH)\n");
  if (!start)
    fprintf (f, "      --entrypoint[=PROG]      run COMMAND through the image's Entrypoint\n"
                "                               (or PROG)\n");
  fprintf (f, "  -h, --help                   show this help\n");
}

/* Parse and check one --mount SRC:DST[:ro|rw]. */
static int
parse_mount (const char *arg, struct sp_mount_spec *m, sp_error_t *err)
{
  cleanup_free char *copy = xstrdup (arg);
  char *colon = strchr (copy, ':'), *dst, *mode;
  size_t l;

  if (colon == NULL || colon == copy)
    return sp_error_make (err, 0, "--mount %s: expected SRC:DST[:ro|rw]", arg);
  for (const char *p = arg; *p; p++)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      return sp_error_make (err, 0, "--mount: control character 0x%02x at offset %zu of the spec", (unsigned) *p,
                            (size_t) (p - arg));
  *colon = '\0';
  dst = colon + 1;
  m->ro = false;
  mode = strrchr (dst, ':');
  if (mode != NULL)
    {
      if (strcmp (mode, ":ro") == 0)
        m->ro = true;
      else if (strcmp (mode, ":rw") != 0)
        return sp_error_make (err, 0, "--mount %s: unknown mode '%s' (ro or rw)", arg, mode + 1);
      *mode = '\0';
    }
  if (dst[0] != '/')
    return sp_error_make (err, 0, "--mount %s: destination '%s' must be an absolute path", arg, dst);
  for (const char *p = dst; (p = strstr (p, "..")) != NULL; p += 2)
    if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
      return sp_error_make (err, 0, "--mount %s: destination must not contain '..'", arg);
  while ((l = strlen (dst)) > 1 && dst[l - 1] == '/')
    dst[l - 1] = '\0';
  if (strcmp (dst, "/") == 0)
    return sp_error_make (err, 0, "--mount %s: cannot mount over the container's root", arg);
  /* /proc and /sys are the kernel's: a bind there could hide or fake what tools trust */
  static const char *const kernel_dirs[] = { "/proc", "/sys" };
  for (size_t i = 0; i < sizeof (kernel_dirs) / sizeof (kernel_dirs[0]); i++)
    {
      size_t kl = strlen (kernel_dirs[i]);
      if (strncmp (dst, kernel_dirs[i], kl) == 0 && (dst[kl] == '/' || dst[kl] == '\0'))
        return sp_error_make (err, 0, "--mount %s: destination %s is inside %s", arg, dst, kernel_dirs[i]);
    }
  m->src = realpath (copy, NULL);
  if (m->src == NULL)
    return sp_error_make (err, errno, "--mount %s: source %s", arg, copy);
  m->dst = xstrdup (dst);
  return 0;
}

/* Parse the options shared by run and start; returns 0, 1 after --help, -1 on error. */
static int
parse_args (struct sp_global *g, int argc, char **argv, bool start, struct run_args *a, sp_error_t *err)
{
  enum { OPT_REMAP = 256, OPT_WRITABLE, OPT_NOHOME, OPT_CACHE, OPT_ENTRYPOINT, OPT_SLURM_PROXY };
  static const struct option longopts[] = {
    { "mount", required_argument, NULL, 'm' },
    { "workdir", required_argument, NULL, 'w' },
    { "env", required_argument, NULL, 'e' },
    { "remap-root", no_argument, NULL, OPT_REMAP },
    { "writable", no_argument, NULL, OPT_WRITABLE },
    { "no-home", no_argument, NULL, OPT_NOHOME },
    { "cache-dir", required_argument, NULL, OPT_CACHE },
    { "entrypoint", optional_argument, NULL, OPT_ENTRYPOINT },
    { "slurm-proxy", no_argument, NULL, OPT_SLURM_PROXY },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  memset (a, 0, sizeof (*a));
  a->opts.mount_home = true;
  a->env = xcalloc ((size_t) argc + 1, sizeof (char *));
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+m:w:e:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'm':
        a->opts.mounts = xrealloc (a->opts.mounts, (a->opts.n_mounts + 1) * sizeof (*a->opts.mounts));
        memset (&a->opts.mounts[a->opts.n_mounts], 0, sizeof (*a->opts.mounts));
        if (parse_mount (optarg, &a->opts.mounts[a->opts.n_mounts], err) < 0)
          return -1;
        a->opts.n_mounts++;
        break;
      case 'w':
        if (optarg[0] != '/')
          return sp_error_make (err, 0, "--workdir %s: must be an absolute path", optarg);
        a->opts.workdir = optarg;
        break;
      case 'e':
        if (sp_env_check_arg (optarg, err) < 0)
          return -1;
        a->env[a->n_env++] = optarg;
        break;
      case OPT_REMAP:
        a->opts.remap_root = true;
        break;
      case OPT_WRITABLE:
        a->opts.writable = true;
        break;
      case OPT_NOHOME:
        a->opts.mount_home = false;
        break;
      case OPT_CACHE:
        g->cache_dir = optarg;
        break;
      case OPT_ENTRYPOINT:
        if (start)
          return sp_error_make (err, 0, "start: --entrypoint does not apply (the plugin runs the task)");
        a->use_entrypoint = true;
        a->entrypoint = optarg;
        break;
      case OPT_SLURM_PROXY:
        if (!start)
          return sp_error_make (err, 0, "run: --slurm-proxy is for start (the plugin's steps)");
        a->slurm_proxy = true;
        break;
      case 'h':
        usage (stdout, start);
        return 1;
      default:
        if (optopt != 0 && optopt < 256)
          return sp_error_make (err, 0, "%s: unknown option -%c; see sprout %s --help", argv[0], optopt, argv[0]);
        return sp_error_make (err, 0, "%s: unknown option %s or missing value; see sprout %s --help", argv[0],
                              argv[optind - 1], argv[0]);
      }
  a->opts.env = a->env;
  a->opts.cache_dir = g->cache_dir;
  if (optind >= argc)
    return sp_error_make (err, 0, "%s: missing IMAGE; see sprout %s --help", argv[0], argv[0]);
  a->image = argv[optind++];
  a->command = argv + optind;
  a->n_command = argc - optind;
  if (start && a->n_command > 0)
    return sp_error_make (err, 0, "start: unexpected argument '%s' after IMAGE", a->command[0]);
  return 0;
}

/* Make sure fds 0, 1 and 2 are open (on /dev/null when they were not), so that no
 * descriptor sprout opens can land there and survive the exec. */
static int
std_fds_open (sp_error_t *err)
{
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl (fd, F_GETFD) < 0 && errno == EBADF)
      {
        int n = open ("/dev/null", O_RDWR);
        if (n < 0)
          return sp_error_make (err, errno, "cannot open /dev/null");
        if (n != fd)
          {
            close (n);
            return sp_error_make (err, EBADF, "cannot fill file descriptor %d", fd);
          }
      }
  return 0;
}

/* The command to run: COMMAND (after the Entrypoint with --entrypoint), else the image's
 * Entrypoint + Cmd, as docker run does. */
static char **
build_argv (const struct run_args *a, const struct sp_image *img, sp_error_t *err)
{
  char *const *ep = img->entrypoint;
  char *one[2] = { (char *) a->entrypoint, NULL };
  char *const *tail;
  size_t n_tail, n_ep, n = 0;
  char **v;

  if (a->entrypoint != NULL)
    ep = one;
  if (a->n_command > 0)
    {
      tail = a->command;
      n_tail = (size_t) a->n_command;
      if (!a->use_entrypoint)
        ep = NULL;
    }
  else
    {
      tail = img->cmd;
      n_tail = sp_strv_len (img->cmd);
    }
  n_ep = sp_strv_len (ep);
  if (n_ep + n_tail == 0)
    {
      sp_error_make (err, 0, "%s: the image has no Entrypoint or Cmd; give a COMMAND", a->image);
      return NULL;
    }
  v = xcalloc (n_ep + n_tail + 1, sizeof (char *));
  for (size_t i = 0; i < n_ep; i++)
    v[n++] = ep[i];
  for (size_t i = 0; i < n_tail; i++)
    v[n++] = tail[i];
  v[n] = NULL;
  return v;
}

static int
get_image (struct sp_global *g, const struct run_args *a, struct sp_image *img, sp_error_t *err)
{
  struct sp_store_opts so = {
    .cache_dir = g->cache_dir,
    .verbose = g->verbose,
    .progress = !g->quiet && isatty (STDERR_FILENO),
  };
  return sp_image_get (&so, a->image, img, err);
}

int
cmd_run (struct sp_global *g, int argc, char **argv)
{
  struct run_args a;
  struct sp_image img = { .hold_fd = -1 };
  cleanup_error sp_error_t err = NULL;
  cleanup_free char **cmd = NULL;
  cleanup_free char *cwd = NULL;
  char **sets = NULL, **envp = NULL;
  int r, e, keeper_fd = -1, status = SP_EXIT_FAILURE;

  r = parse_args (g, argc, argv, false, &a, &err);
  if (r != 0)
    {
      status = r < 0 ? SP_EXIT_FAILURE : 0;
      goto out;
    }
  if (std_fds_open (&err) < 0)
    goto out;
  if (get_image (g, &a, &img, &err) < 0)
    goto out;
  cmd = build_argv (&a, &img, &err);
  if (cmd == NULL)
    goto out;
  sets = sp_env_overrides (img.env, a.opts.env);
  envp = sp_env_apply (environ, sets);
  if (sp_container_enter (&img, &a.opts, &cwd, &err) < 0)
    goto out;
  /* The entry's lock goes with the other fds. A bind of the cached tree is our root from
   * now on, which rm and prune see in /proc (inuse.c); an overlay names its lower tree
   * nowhere they could read, so with --writable a keeper holds the lock until the command
   * ends (started after the unshare, which a process sharing its memory could not do). */
  if (a.opts.writable)
    keeper_fd = sp_keeper_start (img.hold_fd);
  if (chdir (cwd) < 0)
    {
      sp_error_make (&err, errno, "working directory %s", cwd);
      goto out;
    }
  /* nothing of ours may leak into the container (CVE-2024-21626 came from a leaked fd);
   * the keeper's pipe is close-on-exec: the keeper waits for the exec to close it */
  if (sp_close_fds_from (3, &keeper_fd, keeper_fd >= 0 ? 1 : 0) < 0)
    {
      sp_error_make (&err, errno, "cannot close inherited file descriptors");
      goto out;
    }
  img.hold_fd = -1; /* closed with the others */
  if (sp_privs_drop_for_exec (a.opts.remap_root, &err) < 0)
    goto out;
  sp_container_exec (cmd[0], cmd, envp);
  e = errno;
  if (e == ENOENT)
    {
      status = SP_EXIT_NOTFOUND;
      if (strchr (cmd[0], '/') != NULL)
        sp_error_make (&err, 0, "%s: not found in the container (or its interpreter is missing)", cmd[0]);
      else
        sp_error_make (&err, 0, "%s: command not found in the container", cmd[0]);
    }
  else
    {
      status = SP_EXIT_NOEXEC;
      sp_error_make (&err, e, "%s: cannot execute", cmd[0]);
    }

out:
  if (err != NULL)
    sp_error_print ("sprout", err);
  sp_strv_free (sets);
  sp_strv_free (envp);
  sp_image_release (&img);
  run_args_free (&a);
  return status;
}

/* sets with dir appended to its PATH (a default PATH when the image has none), so that
 * the image's own tools win over the proxy's commands. */
static char **
path_append (char **sets, const char *dir)
{
  size_t n = 0;

  for (; sets[n] != NULL; n++)
    if (strncmp (sets[n], "PATH=", 5) == 0)
      {
        char *v = xasprintf ("%s%s%s", sets[n], sets[n][5] != '\0' ? ":" : "", dir);
        free (sets[n]);
        sets[n] = v;
        return sets;
      }
  sets = xrealloc (sets, (n + 2) * sizeof (char *));
  sets[n] = xasprintf ("PATH=%s:%s", SP_CONTAINER_DEFAULT_PATH, dir);
  sets[n + 1] = NULL;
  return sets;
}

static void
holder_signal (int sig)
{
  (void) sig;
  _exit (0);
}

/* Append the record S (with its NUL) to the buffer *BUF of length *LEN. */
static void
record_add (char **buf, size_t *len, const char *s)
{
  size_t l = strlen (s) + 1;
  *buf = xrealloc (*buf, *len + l);
  memcpy (*buf + *len, s, l);
  *len += l;
}

int
cmd_start (struct sp_global *g, int argc, char **argv)
{
  struct run_args a;
  struct sp_image img = { .hold_fd = -1 };
  cleanup_error sp_error_t err = NULL;
  cleanup_free char *cwd = NULL;
  cleanup_free char *out = NULL;
  size_t out_len = 0;
  char **sets = NULL;
  struct sigaction sa;
  char buf[256];
  struct sp_proxy proxy = { .pid = -1, .tmpfd = -1, .dirfd = -1 };
  int r, status = SP_EXIT_FAILURE;

  r = parse_args (g, argc, argv, true, &a, &err);
  if (r != 0)
    {
      status = r < 0 ? SP_EXIT_FAILURE : 0;
      goto fail;
    }
  if (std_fds_open (&err) < 0)
    goto fail;
  if (get_image (g, &a, &img, &err) < 0)
    goto fail;
  sets = sp_env_overrides (img.env, a.opts.env);
  if (a.slurm_proxy)
    {
      /* forked here, before unshare: the proxy stays in the host's namespaces */
      r = sp_proxy_start (STDIN_FILENO, &proxy, &err);
      if (r < 0)
        goto fail;
      if (r == 0)
        sets = path_append (sets, proxy.bindir);
    }
  if (sp_container_enter (&img, &a.opts, &cwd, &err) < 0)
    goto fail;
  if (chdir (cwd) < 0)
    {
      sp_error_make (&err, errno, "working directory %s", cwd);
      goto fail;
    }
  /* the tasks (same user) must be able to open the namespaces in /proc/PID/ns even if the
   * binary is unreadable, which would make this process non-dumpable */
  if (prctl (PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
    {
      sp_error_make (&err, errno, "cannot make the holder's namespaces joinable");
      goto fail;
    }
  /* keep only the protocol's fds and the hold on the cache entry */
  if (sp_close_fds_from (3, &img.hold_fd, img.hold_fd >= 0 ? 1 : 0) < 0)
    {
      sp_error_make (&err, errno, "cannot close inherited file descriptors");
      goto fail;
    }
  proxy.tmpfd = proxy.dirfd = -1; /* closed with the others */

  memset (&sa, 0, sizeof (sa));
  sa.sa_handler = holder_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  {
    cleanup_free char *rec = xasprintf ("cwd=%s", cwd);
    record_add (&out, &out_len, rec);
  }
  for (size_t i = 0; sets[i] != NULL; i++)
    {
      cleanup_free char *rec = xasprintf ("env=%s", sets[i]);
      record_add (&out, &out_len, rec);
    }
  record_add (&out, &out_len, a.opts.remap_root ? "remap_root=1" : "remap_root=0");
  if (proxy.pid > 0)
    {
      /* the plugin removes the directory if the step's end kills the proxy first */
      cleanup_free char *rec = xasprintf ("slurm_proxy=%s", proxy.dir);
      record_add (&out, &out_len, rec);
    }
  record_add (&out, &out_len, "ready");
  if (sp_write_all (STDOUT_FILENO, out, out_len) < 0)
    {
      sp_error_make (&err, errno, "cannot report to the plugin on standard output");
      goto fail;
    }
  close (STDOUT_FILENO);

  /* hold the namespaces until the plugin closes its end */
  for (;;)
    {
      struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
      ssize_t n;

      if (poll (&pfd, 1, -1) < 0 && errno != EINTR)
        break;
      n = read (STDIN_FILENO, buf, sizeof (buf));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        break;
    }
  status = 0;

fail:
  if (err != NULL)
    sp_error_print ("sprout", err);
  /* on failure the proxy goes now, not when the plugin closes the keep-alive; on the
   * keep-alive's end it removes its directory and exits, and the holder waits for that,
   * so that the plugin finds the directory gone and needs no cleanup of its own */
  if (status != 0 && proxy.pid > 0)
    sp_proxy_stop (&proxy);
  else if (proxy.pid > 0)
    while (waitpid (proxy.pid, NULL, 0) < 0 && errno == EINTR)
      ;
  sp_proxy_clear (&proxy);
  sp_strv_free (sets);
  sp_image_release (&img);
  run_args_free (&a);
  return status;
}
