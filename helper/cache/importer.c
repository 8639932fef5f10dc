/* SPDX-License-Identifier: GPL-2.0-or-later */
/* importer.c: finding and running the importer, sprout-import (store.h), which holds
 * the import stack (libarchive, libcrypto, decompressors, jansson) that `sprout` does
 * not link. */
#include "config.h"
#include "cache/cache.h"
#include "cache/store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMPORTER_NAME "sprout-import"

char *
sp_find_libexec (const char *name)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  char *p;
  int saved;

  if (n > 0)
    {
      self[n] = '\0';
      if ((p = strrchr (self, '/')) != NULL)
        {
          char *cand = xasprintf ("%.*s/%s", (int) (p - self), self, name);
          if (access (cand, X_OK) == 0)
            return cand;
          free (cand);
        }
    }
  p = xasprintf ("%s/sprout/%s", SPROUT_LIBEXECDIR, name);
  if (access (p, X_OK) == 0)
    return p;
  saved = errno;
  free (p);
  errno = saved;
  return NULL;
}

char *
sp_importer_path (sp_error_t *err)
{
  char *p = sp_find_libexec (IMPORTER_NAME);

  if (p == NULL)
    sp_error_make (err, errno, "cannot run the image importer %s", SPROUT_LIBEXECDIR "/sprout/" IMPORTER_NAME);
  return p;
}

/* Run `sprout-import [--cache-dir DIR] [-v...] [-q] VERB ARG` with our stderr (its
 * one error line is the user's), /dev/null as stdin, and its stdout captured into
 * *out (up to a few kB) when out is not NULL. quiet_errors sends its stderr to
 * /dev/null. Returns its exit status (0 on success), or -1 with *err when it could
 * not run or died of a signal. */
int
sp_run_importer (const struct sp_store_opts *opts, const char *cache_path, const char *verb, const char *arg,
                 bool quiet_errors, char **out, sp_error_t *err)
{
  cleanup_free char *exe = sp_importer_path (err);
  cleanup_free char *parent = NULL;
  char *argv[16];
  int argc = 0, pipefd[2] = { -1, -1 }, status, r;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  struct sigaction dfl, old_chld;
  sigset_t none, all;
  char buf[4096];
  size_t len = 0;
  pid_t pid;

  if (exe == NULL)
    return -1;
  parent = xasprintf ("--parent=%ld", (long) getpid ());
  argv[argc++] = exe;
  argv[argc++] = parent;
  if (cache_path != NULL)
    {
      argv[argc++] = (char *) "--cache-dir";
      argv[argc++] = (char *) cache_path;
    }
  for (int i = 0; opts != NULL && i < opts->verbose && i < 4; i++)
    argv[argc++] = (char *) "--verbose";
  if (opts == NULL || !opts->progress)
    argv[argc++] = (char *) "--no-progress"; /* it draws one when its stderr is a tty */
  argv[argc++] = (char *) verb;
  argv[argc++] = (char *) "--";
  argv[argc++] = (char *) arg;
  argv[argc] = NULL;

  if (out != NULL && pipe2 (pipefd, O_CLOEXEC) < 0)
    return sp_error_make (err, errno, "cannot run the image importer");
  /* an inherited SIGCHLD = SIG_IGN would reap it for us (waitpid: ECHILD) */
  memset (&dfl, 0, sizeof (dfl));
  dfl.sa_handler = SIG_DFL;
  sigaction (SIGCHLD, &dfl, &old_chld);
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (out != NULL)
    posix_spawn_file_actions_adddup2 (&fa, pipefd[1], STDOUT_FILENO);
  else
    posix_spawn_file_actions_addopen (&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (quiet_errors)
    posix_spawn_file_actions_addopen (&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  /* the importer starts with default signal handling and nothing blocked */
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  r = posix_spawn (&pid, exe, &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (pipefd[1] >= 0)
    close (pipefd[1]);
  if (r != 0)
    {
      if (pipefd[0] >= 0)
        close (pipefd[0]);
      sigaction (SIGCHLD, &old_chld, NULL);
      return sp_error_make (err, r, "cannot run the image importer %s", exe);
    }
  if (out != NULL)
    {
      for (;;)
        {
          ssize_t n = read (pipefd[0], buf + len, sizeof (buf) - 1 - len);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          len += (size_t) n;
          if (len == sizeof (buf) - 1)
            {
              char sink[512];
              ssize_t m;
              while ((m = read (pipefd[0], sink, sizeof (sink))) > 0 || (m < 0 && errno == EINTR))
                ;
              break;
            }
        }
      close (pipefd[0]);
      buf[len] = '\0';
    }
  while ((r = (int) waitpid (pid, &status, 0)) < 0 && errno == EINTR)
    ;
  {
    int e = errno;
    sigaction (SIGCHLD, &old_chld, NULL);
    if (r < 0)
      return sp_error_make (err, e, "waiting for the image importer");
  }
  if (WIFSIGNALED (status))
    return sp_error_make (err, 0, "the image importer %s was killed by signal %d (%s)", exe, WTERMSIG (status),
                          strsignal (WTERMSIG (status)));
  if (out != NULL)
    *out = xstrdup (buf);
  return WEXITSTATUS (status);
}

bool
sp_importer_digest_line (const char *out, char hex[65])
{
  size_t n = strcspn (out, "\n");

  if (n != 71 || strncmp (out, "sha256:", 7) != 0 || strspn (out + 7, "0123456789abcdef") != 64)
    return false;
  memcpy (hex, out + 7, 64);
  hex[64] = '\0';
  return true;
}
