/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mounts.c: mount targets resolved inside a root, mounts made through fds (see mounts.h). */
#include "config.h"
#include "runtime/mounts.h"
#include "inroot.h"
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
create_component (int parent, const char *name, const char *path, bool as_file, bool replace_link, sp_error_t *err)
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
        return 0; /* created meanwhile: the caller reopens it */
      if (!replace_link)
        return sp_error_make (err, 0, "mount target %s: the image has a symlink to a missing path there", path);
      if (unlinkat (parent, name, 0) < 0)
        return sp_error_make (err, errno, "cannot replace the symlink at %s", path);
    }
  return sp_error_make (err, EEXIST, "cannot create mount target %s", path);
}

/* The message for errno e met on the way to mount target path. */
static int
target_error (sp_error_t *err, int e, const char *path)
{
  if (e == ELOOP)
    sp_error_make (err, e, "mount target %s: goes through a symlink that cannot be followed safely here", path);
  else if (e == EEXIST)
    sp_error_make (err, 0, "mount target %s: a symlink on its way points to a missing path", path);
  else
    sp_error_make (err, e, "mount target %s", path);
  errno = e;
  return -1;
}

int
sp_target_open (int rootfd, const char *path, enum sp_target_kind kind, bool create, bool replace_link, sp_error_t *err)
{
  cleanup_free char *parent = NULL;
  cleanup_close int pfd = -1;
  const char *name;
  char *slash;
  int fd;

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
  /* a symlink loop in the last place is replaceable like a missing file */
  if (errno == ELOOP && replace_link)
    errno = ENOENT;
  if (errno != ENOENT || !create)
    return target_error (err, errno, path);

  /* create what is missing: the directories on the way, then the target itself */
  parent = xstrdup (path);
  sp_clean_path (parent);
  slash = strrchr (parent, '/');
  name = slash ? slash + 1 : parent;
  if (*name == '\0')
    return target_error (err, ENOENT, path);
  if (slash != NULL)
    *slash = '\0';
  pfd = sp_mkdirs_in_root (rootfd, slash ? parent : "", 0755);
  if (pfd < 0)
    return target_error (err, errno, path);
  if (create_component (pfd, name, path, kind == SP_TARGET_FILE, replace_link, err) < 0)
    return -1;
  fd = sp_open_in_root (rootfd, path, O_PATH);
  if (fd < 0)
    return target_error (err, errno, path);
  if (check_kind (fd, path, kind, err) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

int
sp_mount_on_fd (const char *src, int targetfd, const char *fstype, unsigned long flags, const char *data)
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
      && syscall (SYS_mount_setattr, mntfd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof (attr)) == 0)
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
