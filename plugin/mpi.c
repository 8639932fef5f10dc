/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mpi.c: make Slurm's mpi/pmix server reachable from inside the container.
 *
 * Slurm 22.05's mpi/pmix plugin starts a PMIx server in slurmstepd before the
 * SPANK user_init hook (mgr.c: mpi_g_slurmstepd_prefork, then _fork_all_tasks ->
 * spank_user). The server keeps two host directories its clients must see at the
 * same paths (the task environment names them: PMIX_SERVER_TMPDIR, PMIX_SYSTEM_TMPDIR,
 * PMIX_DSTORE_*_BASE_PATH, and the PMIX_NSDIR job key):
 *   - <SlurmdSpoolDir>/pmix.<job>.<step>: rendezvous files and the shared-memory
 *     data store; the plugin exports it into slurmstepd's own environment as
 *     PMIX_SERVER_TMPDIR once the server is up;
 *   - <base>/spmix_appdir_<uid>_<job>.<step>, base being the job's SLURM_PMIX_TMPDIR,
 *     else mpi.conf PMIxCliTmpDirBase, else slurm.conf TmpFS (default /tmp).
 * The client connects over loopback TCP (the network namespace is the host's) and
 * proves its identity with the uid it runs as, which the user namespace keeps. PMI-2
 * needs nothing here: its socket is the task's inherited PMI_FD. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "mpi.h"
#include "util.h"

/* The last value of key (case-insensitive, as Slurm reads it) in a slurm.conf-style
 * file; malloc'd, or NULL when the file or the key is absent. */
static char *
conf_value (const char *path, const char *key)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  FILE *f;
  char *line = NULL, *value = NULL;
  size_t cap = 0, klen = strlen (key);

  if (fd < 0 || (f = fdopen (fd, "r")) == NULL)
    return NULL;
  fd = -1;
  while (getline (&line, &cap, f) > 0)
    {
      char *p = line, *hash = strchr (line, '#');

      if (hash != NULL)
        *hash = '\0';
      while (*p != '\0')
        {
          size_t n;

          while (isspace ((unsigned char) *p))
            p++;
          n = strcspn (p, " \t\r\n");
          if (n > klen && strncasecmp (p, key, klen) == 0 && p[klen] == '=')
            {
              const char *v = p + klen + 1;
              size_t vn = n - klen - 1;

              if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
                v++, vn -= 2;
              free (value);
              value = strndup (v, vn);
            }
          p += n;
        }
    }
  free (line);
  fclose (f);
  return value;
}

/* slurm.conf's path in slurmstepd, and a file next to it. */
static char *
conf_path (const char *file)
{
  const char *conf = getenv ("SLURM_CONF");
  const char *slash;
  char *path = NULL;

  if (conf == NULL || (slash = strrchr (conf, '/')) == NULL)
    conf = "/etc/slurm/slurm.conf", slash = conf + strlen ("/etc/slurm");
  if (asprintf (&path, "%.*s/%s", (int) (slash - conf), conf, file) < 0)
    return NULL;
  return path;
}

/* Expand %n (node name) and %h (host name) the way slurmd expands TmpFS. */
static char *
expand_node (const char *tmpl, const char *node)
{
  char host[256] = "";
  size_t cap = strlen (tmpl) + 1, len = 0;
  char *out;

  gethostname (host, sizeof (host) - 1);
  cap += 2 * (strlen (node) + strlen (host)) * 4;
  if ((out = malloc (cap)) == NULL)
    return NULL;
  for (const char *p = tmpl; *p != '\0' && len + 1 < cap; p++)
    {
      const char *add = NULL;

      if (p[0] == '%' && p[1] == 'n')
        add = node;
      else if (p[0] == '%' && p[1] == 'h')
        add = host;
      if (add == NULL)
        {
          out[len++] = *p;
          continue;
        }
      p++;
      len += (size_t) snprintf (out + len, cap - len, "%s", add);
      if (len >= cap)
        len = cap - 1;
    }
  out[len] = '\0';
  return out;
}

/* The job's value of name (S_JOB_ENV), malloc'd, or NULL. */
static char *
job_env (spank_t sp, const char *name)
{
  char buf[4096];

  if (spank_getenv (sp, name, buf, sizeof (buf)) != ESPANK_SUCCESS)
    return NULL;
  return strdup (buf);
}

/* Strip trailing slashes (but keep "/"). */
static void
strip_slashes (char *p)
{
  size_t n = strlen (p);

  while (n > 1 && p[n - 1] == '/')
    p[--n] = '\0';
}

/* True if path is a real directory (not a symlink) owned by uid or root. */
static bool
is_own_dir (const char *path, uid_t uid)
{
  cleanup_close int fd = open (path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;

  return fd >= 0 && fstat (fd, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_uid == uid || st.st_uid == 0);
}

/* Append "dir:dir:rw" to *mounts unless dir is already a destination there. */
static int
mounts_add (char ***mounts, const char *dir, sp_error_t *err)
{
  size_t n = sp_strv_len (*mounts);
  char **v, *entry;

  if (strchr (dir, ':') != NULL || strchr (dir, ',') != NULL)
    return sp_error_make (err, 0, "mpi/pmix directory %s has a ':' or ',' in its path", dir);
  if (asprintf (&entry, "%s:%s:rw", dir, dir) < 0)
    return sp_error_make (err, ENOMEM, "mpi/pmix mounts");
  for (size_t i = 0; i < n; i++)
    if (strcmp ((*mounts)[i], entry) == 0)
      {
        free (entry);
        return 0;
      }
  if ((v = realloc (*mounts, (n + 2) * sizeof (char *))) == NULL)
    {
      free (entry);
      return sp_error_make (err, ENOMEM, "mpi/pmix mounts");
    }
  v[n] = entry;
  v[n + 1] = NULL;
  *mounts = v;
  return 0;
}

int
sp_mpi_mounts (spank_t sp, uid_t uid, const char *node, char ***mounts, sp_error_t *err)
{
  cleanup_free char *lib = NULL, *want = NULL, *base = NULL, *cli = NULL, *path = NULL;
  uint32_t job = 0, step = 0;
  const char *srv = getenv ("PMIX_SERVER_TMPDIR");
  const char *slash;

  if (srv == NULL || *srv != '/' || spank_get_item (sp, S_JOB_ID, &job) != ESPANK_SUCCESS
      || spank_get_item (sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
    return 0;
  /* only this step's server directory: slurmstepd's environment is ours to trust, but
   * a stale value (another mpi plugin, an inherited variable) must not be bound */
  if ((lib = strdup (srv)) == NULL || asprintf (&want, "pmix.%u.%u", job, step) < 0)
    return sp_error_make (err, ENOMEM, "mpi/pmix mounts");
  strip_slashes (lib);
  slash = strrchr (lib, '/');
  if (strcmp (slash + 1, want) != 0 || !is_own_dir (lib, uid))
    return 0;
  if (mounts_add (mounts, lib, err) < 0)
    return -1;

  base = job_env (sp, "SLURM_PMIX_TMPDIR");
  if (base == NULL && (path = conf_path ("mpi.conf")) != NULL)
    base = conf_value (path, "PMIxCliTmpDirBase");
  free (path);
  path = NULL;
  if (base == NULL && (path = conf_path ("slurm.conf")) != NULL)
    {
      cleanup_free char *tmpfs = conf_value (path, "TmpFS");
      if (tmpfs != NULL)
        base = expand_node (tmpfs, node);
    }
  if (base == NULL && (base = strdup ("/tmp")) == NULL)
    return sp_error_make (err, ENOMEM, "mpi/pmix mounts");
  strip_slashes (base);
  if (asprintf (&cli, "%s/spmix_appdir_%u_%u.%u", strcmp (base, "/") == 0 ? "" : base, (unsigned) uid, job, step) < 0)
    return sp_error_make (err, ENOMEM, "mpi/pmix mounts");
  /* Slurm makes it before user_init; without it the clients get an NSDIR they cannot
   * use inside, as on the host when it is missing: say so in the node's log */
  if (!is_own_dir (cli, uid))
    {
      slurm_info ("sprout: mpi/pmix client directory %s not found; not bound into the container", cli);
      return 0;
    }
  return mounts_add (mounts, cli, err);
}
