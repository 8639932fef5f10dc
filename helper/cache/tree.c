/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tree.c: removing and measuring directory trees fd-relatively (see tree.h). Kept
 * apart from layer.c so that `sprout` links it without the import stack. */
#include "config.h"
#include "cache/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
sp_rmtree_at (int dfd, const char *name)
{
  DIR *d;
  struct dirent *de;
  int fd, saved;

  if (unlinkat (dfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -1;
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES && fchmodat (dfd, name, 0700, 0) == 0)
    fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  fchmod (fd, 0700); /* a read-only directory of the image: we own it, so we may */
  d = fdopendir (fd);
  if (d == NULL)
    {
      saved = errno;
      close (fd);
      errno = saved;
      return -1;
    }
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (sp_rmtree_at (dirfd (d), de->d_name) < 0)
        {
          saved = errno;
          closedir (d);
          errno = saved;
          return -1;
        }
    }
  closedir (d);
  if (unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return -1;
  return 0;
}

uint64_t
sp_du_at (int dfd)
{
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  uint64_t total = 0;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      total += (uint64_t) st.st_blocks * 512;
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            {
              total += sp_du_at (sub);
              close (sub);
            }
        }
    }
  closedir (d);
  return total;
}
