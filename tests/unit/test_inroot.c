/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_inroot.c: the in-root resolver (lib/inroot.c) against a tree with hostile
 * symlinks, once with openat2 and once with the walk (forced): every lookup must land
 * on the same inode, or fail with the same errno, both ways; and the lexical cleaner. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inroot.h"
#include "syscalls.h"
#include "tap.h"

static int rootfd = -1;
static char outside[] = "/tmp/sprout-test-inroot-out.XXXXXX";

static void
check_clean (const char *in, const char *want, int want_member)
{
  char p[256], q[256];
  int r;

  snprintf (p, sizeof (p), "%s", in);
  snprintf (q, sizeof (q), "%s", in);
  sp_clean_path (p);
  tap_ok (strcmp (p, want) == 0, "clean \"%s\" -> \"%s\" (got \"%s\")", in, want, p);
  r = sp_clean_member (q);
  tap_ok (r == want_member, "member \"%s\": %s", in, want_member == 0 ? "accepted" : "climbs above the top");
}

/* What opening path gives: the inode's number, or -errno. */
static long long
outcome (const char *path, int flags)
{
  struct stat st;
  int fd = sp_open_in_root (rootfd, path, flags);
  long long r;

  if (fd < 0)
    return -(long long) errno;
  r = fstat (fd, &st) == 0 ? (long long) st.st_ino : -9999;
  close (fd);
  return r;
}

/* The inode of want under the root ("" for the root), not following a last symlink. */
static long long
inode_of (const char *want)
{
  struct stat st;

  if (*want == '\0')
    return fstat (rootfd, &st) == 0 ? (long long) st.st_ino : -9999;
  return fstatat (rootfd, want, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (long long) st.st_ino : -9999;
}

struct lookup {
  const char *path;
  int flags;
  const char *want; /* where it must land, or NULL */
  int want_errno;   /* else how it must fail */
  const char *what;
};

static const struct lookup lookups[] = {
  { "a/b", O_RDONLY | O_DIRECTORY, "a/b", 0, "a plain path" },
  { "/a/b", O_RDONLY | O_DIRECTORY, "a/b", 0, "an absolute path starts at the root" },
  { "", O_RDONLY | O_DIRECTORY, "", 0, "\"\" is the root" },
  { "/", O_PATH, "", 0, "\"/\" is the root" },
  { "..", O_RDONLY | O_DIRECTORY, "", 0, "\"..\" at the root is the root" },
  { "../../a", O_RDONLY | O_DIRECTORY, "a", 0, "\"..\" never climbs out" },
  { "a/./b/.", O_RDONLY | O_DIRECTORY, "a/b", 0, "\".\" components" },
  { "l/a", O_RDONLY | O_DIRECTORY, "a", 0, "a symlink to / stays in the root" },
  { "l/l/l", O_PATH, "", 0, "symlinks to / all the way" },
  { "r/a/b", O_RDONLY | O_DIRECTORY, "a/b", 0, "a ../../.. symlink stays in the root" },
  { "a/abs/b", O_RDONLY | O_DIRECTORY, "a/b", 0, "an absolute symlink restarts at the root" },
  { "a/b/../../l/l/a/b", O_RDONLY | O_DIRECTORY, "a/b", 0, "symlinks and .. mixed" },
  { "a/up/a", O_RDONLY | O_DIRECTORY, "a", 0, "a ../.. symlink in a subdirectory stops at the root" },
  { "ld/b", O_RDONLY | O_DIRECTORY, "a/b", 0, "a relative symlink to a directory" },
  { "lf", O_RDONLY, "f", 0, "the last symlink is followed by default" },
  { "lf", O_PATH | O_NOFOLLOW, "lf", 0, "O_NOFOLLOW | O_PATH opens the last symlink itself" },
  { "lf", O_RDONLY | O_NOFOLLOW, NULL, ELOOP, "O_NOFOLLOW: a last symlink is ELOOP" },
  { "ld/b", O_PATH | O_NOFOLLOW, "a/b", 0, "O_NOFOLLOW touches the last component only" },
  { "esc", O_PATH, NULL, ENOENT, "a symlink to a host path resolves inside: missing" },
  { "esc/marker", O_RDONLY, NULL, ENOENT, "the host file behind it is never reached" },
  { "rel/marker", O_RDONLY, NULL, ENOENT, "nor through a relative symlink that climbs" },
  { "magic/x", O_RDONLY, NULL, ENOENT, "a /proc magic link is only text inside the root" },
  { "dangling", O_PATH, NULL, ENOENT, "a dangling symlink is ENOENT" },
  { "f/x", O_RDONLY, NULL, ENOTDIR, "a file on the way is ENOTDIR" },
  { "self/x", O_RDONLY, NULL, ELOOP, "a symlink loop is ELOOP" },
  { "c40", O_RDONLY, "f", 0, "40 symlinks in one lookup are followed" },
  { "c41", O_RDONLY, NULL, ELOOP, "41 are ELOOP" },
  { "missing/x", O_RDONLY, NULL, ENOENT, "a missing directory is ENOENT" },
};

static void
plant (void)
{
  char target[64], name[16];
  int ok = 1;
  int fd;

  ok &= mkdirat (rootfd, "a", 0755) == 0 && mkdirat (rootfd, "a/b", 0755) == 0;
  fd = openat (rootfd, "f", O_WRONLY | O_CREAT | O_EXCL, 0644);
  ok &= fd >= 0 && close (fd) == 0;
  ok &= symlinkat ("/", rootfd, "l") == 0;
  ok &= symlinkat ("../../../../..", rootfd, "r") == 0;
  ok &= symlinkat ("/a", rootfd, "a/abs") == 0;
  ok &= symlinkat ("../..", rootfd, "a/up") == 0;
  ok &= symlinkat ("self", rootfd, "self") == 0;
  ok &= symlinkat ("f", rootfd, "lf") == 0;
  ok &= symlinkat ("a", rootfd, "ld") == 0;
  ok &= symlinkat (outside, rootfd, "esc") == 0;
  snprintf (target, sizeof (target), "../../../..%s", outside);
  ok &= symlinkat (target, rootfd, "rel") == 0;
  snprintf (target, sizeof (target), "/proc/self/fd/%d", rootfd);
  ok &= symlinkat (target, rootfd, "magic") == 0;
  ok &= symlinkat ("/nowhere/x", rootfd, "dangling") == 0;
  /* c41 -> c40 -> ... -> c1 -> f: cN takes N links */
  ok &= symlinkat ("f", rootfd, "c1") == 0;
  for (int i = 2; i <= 41; i++)
    {
      snprintf (target, sizeof (target), "/c%d", i - 1);
      snprintf (name, sizeof (name), "c%d", i);
      ok &= symlinkat (target, rootfd, name) == 0;
    }
  tap_ok (ok, "hostile tree planted");
}

static void
test_lookups (const char *how, long long *got)
{
  for (size_t i = 0; i < sizeof (lookups) / sizeof (lookups[0]); i++)
    {
      const struct lookup *l = &lookups[i];
      long long want = l->want ? inode_of (l->want) : -(long long) l->want_errno;

      errno = 0;
      got[i] = outcome (l->path, l->flags);
      tap_ok (got[i] == want, "%s: %s (\"%s\": got %lld, want %lld)", how, l->what, l->path, got[i], want);
    }
}

/* sp_mkdirs_in_root: missing directories made inside, never through a dangling link. */
static void
test_mkdirs (const char *how, const char *sub)
{
  char path[128], want[128], host[128];
  struct stat st;
  int fd;

  snprintf (path, sizeof (path), "%s/x/y", sub);
  fd = sp_mkdirs_in_root (rootfd, path, 0755);
  tap_ok (fd >= 0 && fstatat (rootfd, path, &st, 0) == 0 && S_ISDIR (st.st_mode), "%s: mkdirs %s", how, path);
  if (fd >= 0)
    close (fd);
  snprintf (path, sizeof (path), "l/r/%s-2/z", sub);
  snprintf (want, sizeof (want), "%s-2/z", sub);
  fd = sp_mkdirs_in_root (rootfd, path, 0755);
  tap_ok (fd >= 0 && fstatat (rootfd, want, &st, 0) == 0 && S_ISDIR (st.st_mode),
          "%s: mkdirs through symlinks to / and ../.. creates inside the root", how);
  if (fd >= 0)
    close (fd);
  snprintf (path, sizeof (path), "esc/%s", sub);
  snprintf (host, sizeof (host), "%s/%s", outside, sub);
  errno = 0;
  fd = sp_mkdirs_in_root (rootfd, path, 0755);
  tap_ok (fd < 0 && errno == EEXIST && stat (host, &st) < 0,
          "%s: mkdirs through a symlink to a missing path is EEXIST, nothing made outside", how);
  errno = 0;
  tap_ok (sp_mkdirs_in_root (rootfd, "f/x", 0755) < 0 && errno == ENOTDIR, "%s: mkdirs below a file is ENOTDIR", how);
}

int
main (void)
{
  char tmpl[] = "/tmp/sprout-test-inroot.XXXXXX";
  size_t n = sizeof (lookups) / sizeof (lookups[0]);
  long long *with_openat2 = calloc (n, sizeof (long long)), *with_walk = calloc (n, sizeof (long long));
  char cmd[256];
  int same = 1;

  check_clean ("/etc/passwd", "etc/passwd", 0);
  check_clean ("./a/./b/", "a/b", 0);
  check_clean ("../../../etc/x", "etc/x", -1);
  check_clean ("a/../../b", "b", -1);
  check_clean ("a/b/../c", "a/c", 0);
  check_clean ("//a//b", "a/b", 0);
  check_clean (".", "", 0);
  check_clean ("..", "", -1);
  check_clean ("a/..", "", 0);

  if (mkdtemp (tmpl) == NULL || mkdtemp (outside) == NULL || with_openat2 == NULL || with_walk == NULL)
    return tap_ok (0, "mkdtemp"), tap_done ();
  snprintf (cmd, sizeof (cmd), "%s/marker", outside);
  close (open (cmd, O_WRONLY | O_CREAT, 0644));
  rootfd = open (tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
  plant ();

  {
    int probe = sp_openat2 (rootfd, ".", O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
    if (probe < 0 && errno == ENOSYS)
      printf ("# this kernel has no openat2: both passes are the walk\n");
    if (probe >= 0)
      close (probe);
  }
  test_lookups ("openat2", with_openat2);
  test_mkdirs ("openat2", "m1");
  setenv ("SPROUT_FORCE_ENOSYS", "1", 1);
  test_lookups ("walk", with_walk);
  test_mkdirs ("walk", "m2");
  unsetenv ("SPROUT_FORCE_ENOSYS");
  for (size_t i = 0; i < n; i++)
    same &= with_openat2[i] == with_walk[i];
  tap_ok (same, "openat2 and the walk gave the same answer to every lookup");

  close (rootfd);
  snprintf (cmd, sizeof (cmd), "rm -rf '%s' '%s'", tmpl, outside);
  if (system (cmd) != 0)
    tap_ok (0, "cleanup");
  free (with_openat2);
  free (with_walk);
  return tap_done ();
}
