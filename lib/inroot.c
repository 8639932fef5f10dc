/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inroot.c: see inroot.h. libc only: the plugin links lib/ too. */
#include "config.h"
#include "inroot.h"
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SYMLINKS 40 /* the kernel's own limit, so both ways agree */
#define EAGAIN_TRIES 8

/* The last component of the text left in *cur: true when only slashes follow it. */
static bool
is_last (const char *rest)
{
  while (*rest == '/')
    rest++;
  return *rest == '\0';
}

/* Replace *work with target + "/" + rest (rest points into *work). 0 or -1/ENOMEM. */
static int
splice_link (char **work, char **cur, const char *target, const char *rest)
{
  size_t tl = strlen (target), rl = strlen (rest);
  char *next = malloc (tl + rl + 2);

  if (next == NULL)
    return -1;
  memcpy (next, target, tl);
  next[tl] = '/';
  memcpy (next + tl + 1, rest, rl + 1);
  free (*work);
  *work = next;
  *cur = next;
  return 0;
}

/* The RESOLVE_IN_ROOT walk (see inroot.h). */
static int
walk_in_root (int rootfd, const char *path, int flags)
{
  size_t depth = 0, cap = 16;
  int links = 0, ret = -1, saved;
  int *stack = malloc (cap * sizeof (int));
  char *work = strdup (path), *cur = work;

  if (stack == NULL || work == NULL)
    {
      free (stack);
      free (work);
      errno = ENOMEM;
      return -1;
    }
  stack[0] = rootfd;
  while (*cur)
    {
      char *comp = cur, *slash = strchr (cur, '/');
      bool last;
      struct stat st;
      int fd;

      if (slash != NULL)
        {
          *slash = '\0';
          cur = slash + 1;
        }
      else
        cur = comp + strlen (comp);
      last = is_last (cur);
      if (*comp == '\0' || strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          if (depth > 0)
            close (stack[depth--]);
          continue;
        }
      if (last && (flags & O_NOFOLLOW))
        {
          ret = openat (stack[depth], comp, flags | O_CLOEXEC);
          goto out;
        }
      fd = openat (stack[depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || fstat (fd, &st) < 0)
        {
          if (fd >= 0)
            close (fd);
          goto out;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[4096];
          ssize_t n = readlinkat (fd, "", target, sizeof (target) - 1);

          close (fd);
          if (n < 0)
            goto out;
          if (++links > MAX_SYMLINKS)
            {
              errno = ELOOP;
              goto out;
            }
          target[n] = '\0';
          if (target[0] == '/')
            while (depth > 0)
              close (stack[depth--]);
          if (splice_link (&work, &cur, target, cur) < 0)
            goto out;
          continue;
        }
      if (last)
        {
          /* what was checked is what gets opened: a swap to a symlink since reads ELOOP */
          close (fd);
          ret = openat (stack[depth], comp, flags | O_NOFOLLOW | O_CLOEXEC);
          goto out;
        }
      if (!S_ISDIR (st.st_mode))
        {
          close (fd);
          errno = ENOTDIR;
          goto out;
        }
      if (depth + 1 >= cap)
        {
          int *bigger = realloc (stack, cap * 2 * sizeof (int));
          if (bigger == NULL)
            {
              close (fd);
              errno = ENOMEM;
              goto out;
            }
          stack = bigger;
          cap *= 2;
        }
      stack[++depth] = fd;
    }
  /* the path ended in the root, ".", ".." or a slash: open the directory reached */
  ret = openat (stack[depth], ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC);
out:
  saved = errno;
  while (depth > 0)
    close (stack[depth--]);
  free (stack);
  free (work);
  errno = saved;
  return ret;
}

int
sp_open_in_root (int rootfd, const char *path, int flags)
{
  static bool no_openat2; /* this kernel or its seccomp filter has refused it */
  int fd = -1;

  if (*path == '\0')
    path = "."; /* openat2 knows no empty path */
  if (no_openat2 || sp_force_enosys ())
    return walk_in_root (rootfd, path, flags);
  for (int tries = 0; tries < EAGAIN_TRIES; tries++)
    {
      fd = sp_openat2 (rootfd, path, (uint64_t) (flags | O_CLOEXEC), 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
      if (fd >= 0 || errno != EAGAIN)
        break;
    }
  if (fd >= 0)
    return fd;
  switch (errno)
    {
    case ENOSYS:
      no_openat2 = true;
      return walk_in_root (rootfd, path, flags);
    case EAGAIN: /* renames kept racing the lookup: the walk has no such race */
      return walk_in_root (rootfd, path, flags);
    case EPERM:
    case EINVAL:
      fd = walk_in_root (rootfd, path, flags);
      if (fd >= 0)
        no_openat2 = true; /* the open itself was fine: openat2 was refused */
      return fd;
    default:
      return -1;
    }
}

int
sp_mkdirs_in_root (int rootfd, const char *path, mode_t mode)
{
  char *parent;
  const char *base;
  char *slash;
  int fd, pfd, r, saved;

  fd = sp_open_in_root (rootfd, path, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT || *path == '\0')
    return fd;
  parent = strdup (path);
  if (parent == NULL)
    return -1;
  slash = strrchr (parent, '/');
  base = slash ? path + (slash - parent) + 1 : path;
  if (slash != NULL)
    *slash = '\0';
  else
    parent[0] = '\0';
  if (strcmp (base, ".") == 0 || strcmp (base, "..") == 0 || *base == '\0')
    {
      free (parent);
      errno = EINVAL; /* not clean: the caller's bug */
      return -1;
    }
  pfd = sp_mkdirs_in_root (rootfd, parent, mode);
  saved = errno;
  free (parent);
  if (pfd < 0)
    {
      errno = saved;
      return -1;
    }
  /* EEXIST here: created meanwhile, or a symlink to a missing path (the reopen says) */
  r = mkdirat (pfd, base, mode);
  saved = errno;
  close (pfd);
  if (r < 0 && saved != EEXIST)
    {
      errno = saved;
      return -1;
    }
  fd = sp_open_in_root (rootfd, path, O_PATH | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT && r < 0)
    errno = EEXIST; /* the name is there and leads nowhere: not made through */
  return fd;
}

/* sp_clean_path and sp_clean_member: at the top, ".." stays there (may_climb) or fails. */
static int
clean_path (char *p, bool may_climb)
{
  char *out = p, *in = p;

  while (*in)
    {
      char *seg = in;
      size_t n;

      while (*in && *in != '/')
        in++;
      n = (size_t) (in - seg);
      if (*in == '/')
        in++;
      if (n == 0 || (n == 1 && seg[0] == '.'))
        continue;
      if (n == 2 && seg[0] == '.' && seg[1] == '.')
        {
          char *q = out;
          if (out == p && !may_climb)
            return -1;
          while (q > p && q[-1] != '/')
            q--;
          out = q > p ? q - 1 : p; /* ".." at the top stays at the top */
          continue;
        }
      if (out != p)
        *out++ = '/';
      memmove (out, seg, n);
      out += n;
    }
  *out = '\0';
  return 0;
}

void
sp_clean_path (char *p)
{
  (void) clean_path (p, true);
}

int
sp_clean_member (char *p)
{
  return clean_path (p, false);
}
