/* mounts.c: mount targets resolved inside a root, mounts made through fds (see mounts.h). */
#include "config.h"
#include "runtime/mounts.h"
#include "syscalls.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_mount_setattr
# define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
# define MOUNT_ATTR_RDONLY 0x00000001
# define MOUNT_ATTR_NOSUID 0x00000002
# define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef AT_RECURSIVE
# define AT_RECURSIVE 0x8000
#endif

struct sp_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

/* Fallback without openat2: one component at a time, never following a symlink. */
static int
open_nofollow_walk (int rootfd, const char *path, int flags)
{
  cleanup_free char *copy = xstrdup (path);
  cleanup_close int cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  char *save = NULL, *c, *next;

  if (cur < 0)
    return -1;
  c = strtok_r (copy, "/", &save);
  if (c == NULL)
    return openat (rootfd, ".", flags | O_CLOEXEC);
  for (; c != NULL; c = next)
    {
      int fd;
      next = strtok_r (NULL, "/", &save);
      if (strcmp (c, "..") == 0)
        {
          errno = EXDEV;  /* never climb: targets are normalised before they get here */
          return -1;
        }
      if (next == NULL)
        {
          fd = openat (cur, c, flags | O_NOFOLLOW | O_CLOEXEC);
          if (fd >= 0 && (flags & O_PATH))
            {
              struct stat st;
              if (fstat (fd, &st) == 0 && S_ISLNK (st.st_mode))
                {
                  close (fd);
                  errno = ELOOP;  /* a symlink: refused on this path */
                  return -1;
                }
            }
          return fd;
        }
      fd = openat (cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          struct stat st;
          int e = errno;
          if (fstatat (cur, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
            e = ELOOP;  /* a symlink: refused on this path */
          errno = e;
          return -1;
        }
      close (cur);
      cur = fd;
    }
  return -1;
}

int
sp_open_in_root (int rootfd, const char *path, int flags)
{
  int fd = sp_openat2 (rootfd, path, (uint64_t) (flags | O_CLOEXEC), 0,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0 || errno != ENOSYS)
    return fd;
  return open_nofollow_walk (rootfd, path, flags);
}

static int
check_kind (int fd, const char *path, enum sp_target_kind kind, sp_error_t *err)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    return sp_error_make (err, errno, "mount target %s", path);
  if (kind == SP_TARGET_DIR && !S_ISDIR (st.st_mode))
    return sp_error_make (err, 0, "mount target %s: exists in the image and is not a directory", path);
  if (kind == SP_TARGET_FILE && S_ISDIR (st.st_mode))
    return sp_error_make (err, 0, "mount target %s: exists in the image and is a directory", path);
  return 0;
}

/* Create the last component NAME of PATH in the directory PARENT. */
static int
create_component (int parent, const char *name, const char *path, bool as_file, bool replace_link,
                  sp_error_t *err)
{
  for (int tries = 0; tries < 2; tries++)
    {
      int r;
      struct stat st;

      if (as_file)
        {
          r = openat (parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (r >= 0)
            close (r);
        }
      else
        r = mkdirat (parent, name, 0755);
      if (r >= 0)
        return 0;
      if (errno != EEXIST)
        return sp_error_make (err, errno, "cannot create mount target %s", path);
      /* it exists, yet resolving it failed: a symlink that points nowhere */
      if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK (st.st_mode))
        return 0;  /* created meanwhile: the caller reopens it */
      if (!replace_link)
        return sp_error_make (err, 0, "mount target %s: the image has a symlink to a missing path there", path);
      if (unlinkat (parent, name, 0) < 0)
        return sp_error_make (err, errno, "cannot replace the symlink at %s", path);
    }
  return sp_error_make (err, EEXIST, "cannot create mount target %s", path);
}

int
sp_target_open (int rootfd, const char *path, enum sp_target_kind kind, bool create,
                bool replace_link, sp_error_t *err)
{
  cleanup_free char *prefix = NULL;
  cleanup_close int cur = -1;
  int fd;
  size_t len = strlen (path), i = 0;

  fd = sp_open_in_root (rootfd, path, O_PATH);
  if (fd >= 0)
    {
      if (check_kind (fd, path, kind, err) < 0)
        {
          close (fd);
          return -1;
        }
      return fd;
    }
  /* without openat2 a symlink in the last place reads ELOOP: replaceable like a missing file */
  if (errno == ELOOP && replace_link)
    errno = ENOENT;
  if (errno != ENOENT || !create)
    {
      int e = errno;
      if (e == ELOOP)
        sp_error_make (err, e, "mount target %s: goes through a symlink that cannot be followed safely here", path);
      else
        sp_error_make (err, e, "mount target %s", path);
      errno = e;
      return -1;
    }

  /* create what is missing, one component at a time, each parent resolved in the root */
  prefix = xmalloc (len + 2);
  cur = sp_open_in_root (rootfd, "/", O_PATH | O_DIRECTORY);
  if (cur < 0)
    return sp_error_make (err, errno, "cannot open the container root");
  while (i < len)
    {
      size_t start, end;
      bool last;
      int next;

      while (i < len && path[i] == '/')
        i++;
      start = i;
      while (i < len && path[i] != '/')
        i++;
      end = i;
      if (end == start)
        break;
      while (i < len && path[i] == '/')
        i++;
      last = i >= len;
      memcpy (prefix, path, end);
      prefix[end] = '\0';
      next = sp_open_in_root (rootfd, prefix, O_PATH);
      if (next < 0 && (errno == ENOENT || (last && replace_link && errno == ELOOP)))
        {
          cleanup_free char *name = strndup (path + start, end - start);
          if (name == NULL)
            return sp_error_make (err, ENOMEM, "mount target %s", path);
          if (create_component (cur, name, path, last && kind == SP_TARGET_FILE, last && replace_link, err) < 0)
            return -1;
          next = sp_open_in_root (rootfd, prefix, O_PATH);
        }
      if (next < 0 && errno == ELOOP)
        return sp_error_make (err, errno, "mount target %s: goes through a symlink that cannot be followed safely here", path);
      if (next < 0)
        return sp_error_make (err, errno, "mount target %s", path);
      close (cur);
      cur = next;
    }
  if (check_kind (cur, path, kind, err) < 0)
    return -1;
  return steal_fd (&cur);
}

int
sp_mount_on_fd (const char *src, int targetfd, const char *fstype, unsigned long flags,
                const char *data)
{
  char target[40];

  snprintf (target, sizeof (target), "/proc/self/fd/%d", targetfd);
  return mount (src, target, fstype, flags, data);
}

int
sp_bind_fd (int srcfd, int targetfd, bool rec)
{
  char src[40];

  snprintf (src, sizeof (src), "/proc/self/fd/%d", srcfd);
  return sp_mount_on_fd (src, targetfd, NULL, MS_BIND | (rec ? MS_REC : 0), NULL);
}

int
sp_mount_set_ro (int mntfd, bool rec)
{
  struct sp_mount_attr attr = {
    .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
  };
  struct statvfs sv;
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  char target[40];

  if (!sp_force_enosys ()
      && syscall (SYS_mount_setattr, mntfd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0),
                  &attr, sizeof (attr)) == 0)
    return 0;
  if (!sp_force_enosys () && errno != ENOSYS)
    return -1;
  /* old kernel: remount the top mount only; a remount must repeat the locked flags */
  if (fstatvfs (mntfd, &sv) < 0)
    return -1;
  if (sv.f_flag & ST_NOEXEC)
    flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    flags |= MS_RELATIME;
  snprintf (target, sizeof (target), "/proc/self/fd/%d", mntfd);
  return mount (NULL, target, NULL, flags, NULL);
}
