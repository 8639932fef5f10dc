/* SPDX-License-Identifier: GPL-2.0-or-later */
/* container.c: the container runtime (see container.h).
 *
 * Layout of the work, all in the calling process (no fork, so `run` can exec in
 * place and `start` can be the namespace holder):
 *  1. read what is needed from the host view (ids, user entry, cwd, $HOME);
 *  2. unshare(USER|NS), write setgroups "deny" and the uid/gid maps (the kernel
 *     makes the copied mounts slaves of the host's);
 *  3. open an O_PATH fd on every host object to be mounted (image root, /proc,
 *     /sys, device nodes, /tmp, /etc files, $HOME, cwd, --mount sources): after
 *     this the host tree is never looked up by name again;
 *  4. decide whether a writable layer is needed: --writable, or a mount target
 *     missing from the image (a read-only bind cannot grow one). A cache entry
 *     (the user's own tree) gets the standard mount points (/proc, /sys, /dev,
 *     /tmp, /etc/{hosts,resolv.conf,passwd,group}, $HOME) added once as empty
 *     directories or files, so the usual run needs no overlay (it costs ~0.5 ms);
 *  5. mount a staging tmpfs over /tmp (only in this namespace; host paths are
 *     reached through the fds), holding the new root's mount point, the overlay's
 *     upper and work directories and the generated passwd and group files; once
 *     those are bound it is made unbindable, so that recursive binds of host
 *     trees that hold it (/tmp itself, --mount /:...) leave it out;
 *  6. mount the root (read-only bind of the image, or overlay), then everything
 *     onto targets resolved inside it (mounts.h), then make the root read-only;
 *  7. pivot_root(".", ".") in the new root and detach the old one (which takes the
 *     staging tmpfs out of sight; what is mounted from it stays alive).
 */
#include "config.h"
#include "runtime/container.h"
#include "runtime/mounts.h"
#include "runtime/passwd.h"
#include "runtime/user.h"
#include "envrules.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Where the staging tmpfs goes; any directory works since host objects are fds by then. */
#define STAGE_DIR "/tmp"
#define MAX_ETC_FILE (4 << 20)

enum plan_type {
  PLAN_BIND,   /* bind srcfd */
  PLAN_DEV,    /* the /dev tmpfs with host nodes, devpts and /dev/shm */
  PLAN_STAGED, /* bind a file generated in the staging tmpfs (name in staged) */
};

struct plan {
  enum plan_type type;
  const char *dst;
  int srcfd;
  enum sp_target_kind kind;
  bool rec, ro, replace_link;
  bool optional; /* skipped when the target cannot be created in a tree that is not the user's */
  bool is_cwd;
  bool persist; /* a standard mount point, may be added to a cache entry for good */
  const char *staged;
};

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define N_DEV_NODES (sizeof (dev_nodes) / sizeof (dev_nodes[0]))

struct build {
  const struct sp_image *img;
  const struct sp_run_opts *opts;
  uid_t uid;
  gid_t gid;
  char *cwd;  /* caller's cwd, or NULL */
  char *home; /* caller's home, or NULL */
  struct sp_user user;
  char *user_name, *user_gecos, *user_shell, *group_name;
  int rootfs_fd; /* the image's tree (host) */
  int dev_fds[N_DEV_NODES];
  int shm_fd;
  struct plan plan[64];
  size_t n_plan;
  bool cwd_bound;
  bool overlay;
  char *passwd_text, *group_text;
};

static void
build_free (struct build *b)
{
  free (b->cwd);
  free (b->home);
  free (b->user_name);
  free (b->user_gecos);
  free (b->user_shell);
  free (b->group_name);
  free (b->passwd_text);
  free (b->group_text);
  if (b->rootfs_fd >= 0)
    close (b->rootfs_fd);
  for (size_t i = 0; i < N_DEV_NODES; i++)
    if (b->dev_fds[i] >= 0)
      close (b->dev_fds[i]);
  if (b->shm_fd >= 0)
    close (b->shm_fd);
  for (size_t i = 0; i < b->n_plan; i++)
    {
      if (b->plan[i].srcfd >= 0)
        close (b->plan[i].srcfd);
    }
}

static int
write_file (const char *path, const char *text, sp_error_t *err)
{
  cleanup_close int fd = openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || sp_write_all (fd, text, strlen (text)) < 0)
    return sp_error_make (err, errno, "cannot write %s", path);
  return 0;
}

/* The sysctl that keeps this user from user namespaces, as "name=value: what", or NULL.
 * Each is a distribution's switch: Ubuntu 24.04 lets unshare succeed under AppArmor's
 * restriction and fails the uid_map write; Debian's older kernels refuse unshare. */
static char *
userns_blocker (void)
{
  static const struct {
    const char *path, *name, *blocks, *what;
  } sysctls[] = {
    { "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "kernel.apparmor_restrict_unprivileged_userns", "1",
      "AppArmor restricts unprivileged user namespaces; an admin sets it to 0 or gives sprout an AppArmor profile that "
      "allows userns" },
    { "/proc/sys/kernel/unprivileged_userns_clone", "kernel.unprivileged_userns_clone", "0",
      "unprivileged user namespaces are disabled; an admin sets it to 1" },
    { "/proc/sys/user/max_user_namespaces", "user.max_user_namespaces", "0",
      "user namespaces are disabled; an admin sets it above 0" },
  };

  for (size_t i = 0; i < sizeof (sysctls) / sizeof (sysctls[0]); i++)
    {
      cleanup_close int fd = openat (AT_FDCWD, sysctls[i].path, O_RDONLY | O_CLOEXEC);
      cleanup_free char *v = sp_read_text (fd, 64);

      if (v != NULL && strtol (v, NULL, 10) == strtol (sysctls[i].blocks, NULL, 10))
        return xasprintf ("%s=%s: %s", sysctls[i].name, sysctls[i].blocks, sysctls[i].what);
    }
  return NULL;
}

/* err for a user namespace the kernel refused (unshare or a map's write failed with e). */
static int
userns_refused (const char *what, int e, sp_error_t *err)
{
  cleanup_free char *why = NULL;

  if (e == EPERM || e == EACCES || e == ENOSPC || e == EUSERS)
    why = userns_blocker ();
  if (why != NULL)
    {
      sp_error_make (err, 0, "%s: %s (%s)", what, strerror (e), why);
      (*err)->errnum = e;
      return -1;
    }
  if (e == ENOSPC || e == EUSERS)
    return sp_error_make (err, e, "%s (the limit user.max_user_namespaces is reached)", what);
  if (e == EPERM)
    return sp_error_make (err, e, "%s (are unprivileged user namespaces enabled? see user.max_user_namespaces)", what);
  return sp_error_make (err, e, "%s", what);
}

/* Is PATH equal to DIR or below it? */
static bool
path_under (const char *path, const char *dir)
{
  size_t l = strlen (dir);
  if (l == 1 && dir[0] == '/')
    return true;
  return strncmp (path, dir, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

static int
user_lookup (struct build *b, sp_error_t *err)
{
  struct sp_user_entry e;
  const char *h;

  sp_user_lookup (b->uid, b->gid, b->opts->cache_dir, &e);
  if (e.name != NULL)
    {
      b->user_name = steal_pointer (&e.name);
      b->user_gecos = steal_pointer (&e.gecos);
      b->user_shell = e.shell[0] != '\0' ? steal_pointer (&e.shell) : xstrdup ("/bin/sh");
    }
  else
    {
      const char *u = getenv ("USER");
      b->user_name = u != NULL && *u && strchr (u, ':') == NULL && strchr (u, '\n') == NULL
                       ? xstrdup (u)
                       : xasprintf ("uid%lu", (unsigned long) b->uid);
      b->user_gecos = xstrdup ("");
      b->user_shell = xstrdup ("/bin/sh");
    }
  b->group_name = e.group != NULL ? steal_pointer (&e.group) : xstrdup (b->user_name);
  h = getenv ("HOME");
  if (h != NULL && h[0] == '/')
    b->home = xstrdup (h);
  else if (e.home != NULL && e.home[0] == '/')
    b->home = xstrdup (e.home);
  sp_user_entry_free (&e);
  if (b->home != NULL)
    {
      size_t l = strlen (b->home);
      while (l > 1 && b->home[l - 1] == '/')
        b->home[--l] = '\0';
    }
  b->cwd = getcwd (NULL, 0); /* NULL when it was removed: then it is not bound */
  (void) err;
  return 0;
}

static int
enter_userns (struct build *b, sp_error_t *err)
{
  char map[64];
  unsigned long inside_uid = b->opts->remap_root ? 0 : (unsigned long) b->uid;
  unsigned long inside_gid = b->opts->remap_root ? 0 : (unsigned long) b->gid;

  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    return userns_refused ("cannot create a user namespace", errno, err);
  if (write_file ("/proc/self/setgroups", "deny", err) < 0)
    return userns_refused ("cannot write /proc/self/setgroups", (*err)->errnum, err);
  snprintf (map, sizeof (map), "%lu %lu 1", inside_uid, (unsigned long) b->uid);
  if (write_file ("/proc/self/uid_map", map, err) < 0)
    return userns_refused ("cannot write /proc/self/uid_map", (*err)->errnum, err);
  snprintf (map, sizeof (map), "%lu %lu 1", inside_gid, (unsigned long) b->gid);
  if (write_file ("/proc/self/gid_map", map, err) < 0)
    return userns_refused ("cannot write /proc/self/gid_map", (*err)->errnum, err);
  /* No mount --make-rslave /: a mount namespace made together with a new user
   * namespace is less privileged, so the kernel has already reduced every shared
   * mount to a slave (mount_namespaces(7)): host mounts (late automounts) still
   * reach us, ours never reach the host. That saves a walk over every host mount. */
  return 0;
}

static struct plan *
plan_add (struct build *b, enum plan_type type, const char *dst, int srcfd, enum sp_target_kind kind)
{
  struct plan *p;

  if (b->n_plan >= sizeof (b->plan) / sizeof (b->plan[0]))
    return NULL;
  p = &b->plan[b->n_plan++];
  memset (p, 0, sizeof (*p));
  p->type = type;
  p->dst = dst;
  p->srcfd = srcfd;
  p->kind = kind;
  p->persist = true; /* make_plan clears it for the cwd and --mount targets */
  return p;
}

/* O_PATH fd on a host object, following symlinks as the host does. */
static int
open_host (const char *path, bool dir)
{
  /* openat, not open: musl's open follows O_CLOEXEC with an fcntl of its own (for
   * kernels older than 2.6.23), one more system call per file on every start */
  return openat (AT_FDCWD, path, O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
}

/* Does PATH hold anything in the image (an entry of a directory, or a non-directory)? */
static bool
image_has_content (int rootfd, const char *path)
{
  int fd = sp_open_in_root (rootfd, path, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
  DIR *d;
  struct dirent *de;
  bool found = false;

  if (fd < 0)
    return errno != ENOENT; /* missing: nothing hidden; anything else: keep away */
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return true;
    }
  while (!found && (de = readdir (d)) != NULL)
    found = strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0;
  closedir (d);
  return found;
}

/* Host directories that are visible at the same path inside. */
static bool
visible_as_is (const struct build *b, const char *path)
{
  static const char *const same[] = { "/proc", "/sys", "/tmp", "/dev/shm" };
  for (size_t i = 0; i < sizeof (same) / sizeof (same[0]); i++)
    if (path_under (path, same[i]))
      return true;
  return b->opts->mount_home && b->home != NULL && path_under (path, b->home);
}

static int
make_plan (struct build *b, sp_error_t *err)
{
  const struct sp_run_opts *o = b->opts;
  struct plan *p;
  int fd;
  static const char *const etc_files[] = { "/etc/hosts", "/etc/resolv.conf" };

  /* host objects first, while the host tree is still in place */
  fd = open_host ("/proc", true);
  if (fd < 0 || (p = plan_add (b, PLAN_BIND, "/proc", fd, SP_TARGET_DIR)) == NULL)
    return sp_error_make (err, errno, "/proc");
  p->rec = true;
  fd = open_host ("/sys", true);
  if (fd < 0 || (p = plan_add (b, PLAN_BIND, "/sys", fd, SP_TARGET_DIR)) == NULL)
    return sp_error_make (err, errno, "/sys");
  p->rec = p->ro = true;
  for (size_t i = 0; i < N_DEV_NODES; i++)
    {
      char path[32];
      snprintf (path, sizeof (path), "/dev/%s", dev_nodes[i]);
      b->dev_fds[i] = open_host (path, false);
      if (b->dev_fds[i] < 0)
        return sp_error_make (err, errno, "host device %s", path);
    }
  b->shm_fd = open_host ("/dev/shm", true); /* optional */
  plan_add (b, PLAN_DEV, "/dev", -1, SP_TARGET_DIR);
  fd = open_host ("/tmp", true);
  if (fd < 0 || (p = plan_add (b, PLAN_BIND, "/tmp", fd, SP_TARGET_DIR)) == NULL)
    return sp_error_make (err, errno, "/tmp");
  p->rec = true;
  for (size_t i = 0; i < 2; i++)
    {
      fd = openat (AT_FDCWD, etc_files[i], O_PATH | O_CLOEXEC);
      if (fd < 0)
        continue; /* the host has none: the image's stays */
      p = plan_add (b, PLAN_BIND, etc_files[i], fd, SP_TARGET_FILE);
      p->replace_link = p->optional = true;
    }
  p = plan_add (b, PLAN_STAGED, "/etc/passwd", -1, SP_TARGET_FILE);
  p->staged = "passwd";
  p->replace_link = p->optional = true;
  p = plan_add (b, PLAN_STAGED, "/etc/group", -1, SP_TARGET_FILE);
  p->staged = "group";
  p->replace_link = p->optional = true;

  if (o->mount_home && b->home != NULL && strcmp (b->home, "/") != 0 && (fd = open_host (b->home, true)) >= 0)
    {
      p = plan_add (b, PLAN_BIND, b->home, fd, SP_TARGET_DIR);
      p->rec = p->optional = true;
    }

  /* the current directory: bound unless already visible, or it would hide part of the image */
  if (b->cwd != NULL && strcmp (b->cwd, "/") != 0)
    {
      if (visible_as_is (b, b->cwd))
        b->cwd_bound = true;
      else if (!image_has_content (b->rootfs_fd, b->cwd) && (fd = open_host (b->cwd, true)) >= 0)
        {
          p = plan_add (b, PLAN_BIND, b->cwd, fd, SP_TARGET_DIR);
          p->rec = p->optional = p->is_cwd = true;
          p->persist = false;
          b->cwd_bound = true;
        }
    }

  for (size_t i = 0; i < o->n_mounts; i++)
    {
      struct stat st;
      fd = openat (AT_FDCWD, o->mounts[i].src, O_PATH | O_CLOEXEC);
      if (fd < 0)
        return sp_error_make (err, errno, "--mount %s", o->mounts[i].src);
      if (fstat (fd, &st) < 0)
        {
          close (fd);
          return sp_error_make (err, errno, "--mount %s", o->mounts[i].src);
        }
      p = plan_add (b, PLAN_BIND, o->mounts[i].dst, fd, S_ISDIR (st.st_mode) ? SP_TARGET_DIR : SP_TARGET_FILE);
      if (p == NULL)
        {
          close (fd);
          return sp_error_make (err, 0, "too many --mount options");
        }
      p->rec = true;
      p->ro = o->mounts[i].ro;
      p->persist = false;
    }
  return 0;
}

/* Is the target of plan entry I below the target of an earlier directory mount? */
static bool
plan_nested (const struct build *b, size_t i)
{
  for (size_t j = 0; j < i; j++)
    if (b->plan[j].kind == SP_TARGET_DIR && path_under (b->plan[i].dst, b->plan[j].dst))
      return true;
  return false;
}

/* Decide whether the root needs a writable layer to hold missing mount targets. */
static int
check_targets (struct build *b, sp_error_t *err)
{
  if (b->opts->writable)
    {
      b->overlay = true;
      return 0;
    }
  for (size_t i = 0; i < b->n_plan && !b->overlay; i++)
    {
      cleanup_error sp_error_t e = NULL;
      int fd;

      if (plan_nested (b, i))
        continue;
      fd = sp_target_open (b->rootfs_fd, b->plan[i].dst, b->plan[i].kind, false, b->plan[i].replace_link, &e);
      if (fd >= 0)
        {
          close (fd);
          continue;
        }
      if (errno == ENOENT)
        {
          /* A cache entry belongs to the user: give it the standard mount point
           * once (an empty directory or file, made inside the root), so that this
           * and later runs need no overlay. Anything else missing: overlay. */
          cleanup_error sp_error_t e2 = NULL;
          if (b->img->digest != NULL && b->plan[i].persist
              && (fd = sp_target_open (b->rootfs_fd, b->plan[i].dst, b->plan[i].kind, true, false, &e2)) >= 0)
            close (fd);
          else
            b->overlay = true;
        }
      else
        {
          *err = steal_pointer (&e);
          return -1;
        }
    }
  return 0;
}

static char *
read_image_file (int rootfd, const char *path)
{
  cleanup_close int fd = sp_open_in_root (rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  return sp_read_text (fd, MAX_ETC_FILE);
}

static int
make_etc_files (struct build *b)
{
  cleanup_free char *pw = read_image_file (b->rootfs_fd, "/etc/passwd");
  cleanup_free char *gr = read_image_file (b->rootfs_fd, "/etc/group");
  struct sp_user u = {
    .name = b->user_name,
    .uid = b->uid,
    .gid = b->gid,
    .gecos = b->user_gecos,
    .home = b->home ? b->home : "/",
    .shell = b->user_shell,
    .group = b->group_name,
  };

  if (b->opts->remap_root)
    {
      /* inside the user is root: the image's root entry stays, one is added if missing */
      u.name = "root";
      u.uid = 0;
      u.gid = 0;
      u.gecos = "root";
      u.home = "/root";
      u.shell = "/bin/sh";
      u.group = "root";
    }
  b->passwd_text = sp_passwd_merge (pw, &u, !b->opts->remap_root);
  b->group_text = sp_group_merge (gr, &u, !b->opts->remap_root);
  return 0;
}

static int
write_staged (int stagefd, const char *name, const char *text, sp_error_t *err)
{
  cleanup_close int fd = openat (stagefd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || sp_write_all (fd, text, strlen (text)) < 0)
    return sp_error_make (err, errno, "cannot write the container's %s file", name);
  return 0;
}

/* A tmpfs /dev: the host's device nodes bound over empty files, a devpts instance, the
 * usual links, the host's /dev/shm. The targets are named relative to the new tmpfs,
 * our working directory meanwhile (fresh, private to this mount namespace, holding only
 * what we make in it): no descriptor to open and close per node, one /proc lookup per
 * bind instead of two. The caller moves the working directory on (pivot_root). */
static int
setup_dev (struct build *b, int rootfd, int targetfd, sp_error_t *err)
{
  cleanup_close int devfd = -1;
  static const char *const links[][2] = {
    { "ptmx", "pts/ptmx" },          { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" },
    { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
  };
  char src[40];

  if (sp_mount_on_fd ("tmpfs", targetfd, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
    return sp_error_make (err, errno, "cannot mount a tmpfs on /dev");
  devfd = sp_open_in_root (rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (devfd < 0 || fchdir (devfd) < 0)
    return sp_error_make (err, errno, "/dev");
  for (size_t i = 0; i < N_DEV_NODES; i++)
    {
      snprintf (src, sizeof (src), "/proc/self/fd/%d", b->dev_fds[i]);
      if (mknodat (devfd, dev_nodes[i], S_IFREG | 0666, 0) < 0 || mount (src, dev_nodes[i], NULL, MS_BIND, NULL) < 0)
        return sp_error_make (err, errno, "cannot bind /dev/%s", dev_nodes[i]);
    }
  if (mkdirat (devfd, "pts", 0755) < 0
      || mount ("devpts", "pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    return sp_error_make (err, errno, "cannot mount a devpts instance on /dev/pts");
  for (size_t i = 0; i < sizeof (links) / sizeof (links[0]); i++)
    if (symlinkat (links[i][1], devfd, links[i][0]) < 0)
      return sp_error_make (err, errno, "cannot create /dev/%s", links[i][0]);
  if (b->shm_fd >= 0)
    {
      snprintf (src, sizeof (src), "/proc/self/fd/%d", b->shm_fd);
      if (mkdirat (devfd, "shm", 01777) < 0 || mount (src, "shm", NULL, MS_BIND | MS_REC, NULL) < 0)
        return sp_error_make (err, errno, "cannot bind /dev/shm");
    }
  return 0;
}

/* Make the mounts of the plan entries that are (STAGED) or are not (!STAGED) staged files. */
static int
do_mounts (struct build *b, int stagefd, int rootfd, bool staged_files, sp_error_t *err)
{
  for (size_t i = 0; i < b->n_plan; i++)
    {
      struct plan *p = &b->plan[i];
      cleanup_close int t = -1;
      cleanup_close int staged = -1;
      int srcfd = p->srcfd;

      if ((p->type == PLAN_STAGED) != staged_files)
        continue;
      t = sp_target_open (rootfd, p->dst, p->kind, true, p->replace_link, err);

      if (t < 0)
        {
          int e = *err != NULL ? (*err)->errnum : 0;
          if (p->optional && (e == EACCES || e == EPERM || e == EROFS))
            {
              /* an image tree owned by someone else (used in place): go without */
              sp_error_free (err);
              if (p->is_cwd)
                b->cwd_bound = false;
              continue;
            }
          if (e == EACCES || e == EPERM)
            sp_error_wrap (err,
                           "the image's directories are not writable by the user (import the image into the cache)");
          return -1;
        }
      switch (p->type)
        {
        case PLAN_DEV:
          if (setup_dev (b, rootfd, t, err) < 0)
            return -1;
          continue;
        case PLAN_STAGED:
          staged = openat (stagefd, p->staged, O_PATH | O_CLOEXEC);
          if (staged < 0)
            return sp_error_make (err, errno, "%s", p->dst);
          srcfd = staged;
          break;
        case PLAN_BIND:
          break;
        }
      if (sp_bind_fd (srcfd, t, p->rec) < 0)
        return sp_error_make (err, errno, "cannot mount %s", p->dst);
      if (p->ro)
        {
          /* the new mount's root: look the target up again, it now crosses into the mount */
          cleanup_close int m = sp_open_in_root (rootfd, p->dst, O_PATH);
          if (m < 0 || sp_mount_set_ro (m, p->rec) < 0)
            return sp_error_make (err, errno, "cannot make %s read-only", p->dst);
        }
    }
  return 0;
}

static int
mount_root (struct build *b, int stagefd, sp_error_t *err)
{
  cleanup_close int t = -1;

  if (mkdirat (stagefd, "root", 0755) < 0 || (t = openat (stagefd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return sp_error_make (err, errno, "cannot prepare the container root");
  if (b->overlay)
    {
      cleanup_close int up = -1;
      cleanup_close int wk = -1;
      cleanup_free char *data = NULL;

      if (mkdirat (stagefd, "upper", 0755) < 0 || mkdirat (stagefd, "work", 0755) < 0
          || (up = openat (stagefd, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0
          || (wk = openat (stagefd, "work", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return sp_error_make (err, errno, "cannot prepare the overlay's upper directory");
      data = xasprintf ("lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d", b->rootfs_fd,
                        up, wk);
      if (sp_mount_on_fd ("overlay", t, "overlay", MS_NOSUID | MS_NODEV, data) < 0)
        return sp_error_make (
          err, errno,
          "cannot mount an overlay on the image %s (needs Linux 5.11 or later for overlayfs in a user namespace)",
          b->img->rootfs);
      return 0;
    }
  if (sp_bind_fd (b->rootfs_fd, t, false) < 0)
    return sp_error_make (err, errno, "cannot bind the image %s", b->img->rootfs);
  return 0;
}

static char *
pick_workdir (const struct build *b)
{
  if (b->opts->workdir != NULL)
    return xstrdup (b->opts->workdir);
  if (b->cwd_bound)
    return xstrdup (b->cwd);
  if (b->img->workdir != NULL && b->img->workdir[0] == '/')
    return xstrdup (b->img->workdir);
  return xstrdup ("/");
}

int
sp_container_enter (const struct sp_image *img, const struct sp_run_opts *opts, char **cwd_out, sp_error_t *err)
{
  struct build b = { .img = img, .opts = opts, .rootfs_fd = -1, .shm_fd = -1 };
  cleanup_close int stagefd = -1;
  cleanup_close int rootfd = -1;
  int ret = -1;

  for (size_t i = 0; i < N_DEV_NODES; i++)
    b.dev_fds[i] = -1;
  b.uid = getuid ();
  b.gid = getgid ();
  if (user_lookup (&b, err) < 0 || enter_userns (&b, err) < 0)
    goto out;
  b.rootfs_fd = openat (AT_FDCWD, img->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (b.rootfs_fd < 0)
    {
      sp_error_make (err, errno, "image root %s", img->rootfs);
      goto out;
    }
  if (make_plan (&b, err) < 0 || check_targets (&b, err) < 0 || make_etc_files (&b) < 0)
    goto out;

  if (mount ("tmpfs", STAGE_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
    {
      sp_error_make (err, errno, "cannot mount the container's staging tmpfs");
      goto out;
    }
  stagefd = openat (AT_FDCWD, STAGE_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (stagefd < 0)
    {
      sp_error_make (err, errno, "cannot open the container's staging tmpfs");
      goto out;
    }
  if (write_staged (stagefd, "passwd", b.passwd_text, err) < 0 || write_staged (stagefd, "group", b.group_text, err) < 0
      || mount_root (&b, stagefd, err) < 0)
    goto out;
  rootfd = openat (stagefd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    {
      sp_error_make (err, errno, "cannot open the container root");
      goto out;
    }
  /* the generated files first; then the staging tmpfs becomes unbindable, so that
   * recursive binds of host trees holding it (/tmp, --mount /:...) leave it out */
  if (do_mounts (&b, stagefd, rootfd, true, err) < 0)
    goto out;
  if (mount (NULL, STAGE_DIR, NULL, MS_UNBINDABLE, NULL) < 0)
    {
      sp_error_make (err, errno, "cannot make the staging tmpfs unbindable");
      goto out;
    }
  if (do_mounts (&b, stagefd, rootfd, false, err) < 0)
    goto out;
  if (!opts->writable && sp_mount_set_ro (rootfd, false) < 0)
    {
      sp_error_make (err, errno, "cannot make the container root read-only");
      goto out;
    }

  if (fchdir (rootfd) < 0 || syscall (SYS_pivot_root, ".", ".") < 0)
    {
      sp_error_make (err, errno, "cannot pivot_root into the container");
      goto out;
    }
  /* the old root now sits on top of ".": detach it, staging tmpfs and all */
  if (umount2 (".", MNT_DETACH) < 0 || chdir ("/") < 0)
    {
      sp_error_make (err, errno, "cannot detach the host's root");
      goto out;
    }
  *cwd_out = pick_workdir (&b);
  ret = 0;
out:
  build_free (&b);
  return ret;
}

int
sp_container_exec (const char *file, char *const argv[], char *const envp[])
{
  const char *path, *p;
  bool saw_eacces = false;
  int last = ENOENT;
  size_t flen = strlen (file);

  if (*file == '\0')
    {
      errno = ENOENT;
      return -1;
    }
  if (strchr (file, '/') != NULL)
    {
      execve (file, argv, envp);
      return -1;
    }
  path = NULL;
  for (size_t i = 0; envp[i] != NULL; i++)
    if (strncmp (envp[i], "PATH=", 5) == 0)
      path = envp[i] + 5;
  if (path == NULL)
    path = SP_CONTAINER_DEFAULT_PATH;
  for (p = path;; p++)
    {
      const char *end = strchrnul (p, ':');
      size_t dlen = (size_t) (end - p);
      cleanup_free char *full = xmalloc (dlen + flen + 2);

      if (dlen == 0)
        memcpy (full, file, flen + 1); /* an empty entry means the current directory */
      else
        {
          memcpy (full, p, dlen);
          full[dlen] = '/';
          memcpy (full + dlen + 1, file, flen + 1);
        }
      execve (full, argv, envp);
      switch (errno)
        {
        case EACCES:
          saw_eacces = true;
          break;
        case ENOENT:
        case ENOTDIR:
        case ESTALE:
        case ENODEV:
        case ETIMEDOUT:
          break;
        default:
          last = errno;
          errno = last;
          return -1;
        }
      p = end;
      if (*end == '\0')
        break;
    }
  errno = saw_eacces ? EACCES : last;
  return -1;
}
