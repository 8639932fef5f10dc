/* layer.c: see layer.h. One pass per layer: blob -> sha256 (compressed) -> decoder
 * -> sha256 (diff_id) -> libarchive's tar reader -> fd-relative writes under the
 * root. Nothing holds a layer in memory: two 1 MiB buffers carry the stream. */
#include "config.h"
#include "import/layer.h"
#include "import/digest.h"
#include "inroot.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define BUF_SIZE (1u << 20)
#define POOL_MAX_THREADS 4
#define POOL_SMALL_FILE (1u << 20)      /* bigger files are streamed by the main thread */
#define POOL_MAX_BYTES (16u << 20)      /* file data queued for the writers at most */
#define POOL_MAX_JOBS 1024
#define POOL_FD_RESERVE 48              /* fds left to the main thread (cache, archive, walks) */
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct sp_dirmode {
  char *path;
  mode_t mode;
  struct timespec mtime;
  size_t seq;
};

/* ---- a set of strings (the paths one layer wrote, for opaque directories) ---- */
struct sp_pathset {
  char **slot;
  size_t cap, n;
};

static uint64_t
hash_str (const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return h;
}

static void pathset_add (struct sp_pathset *ps, const char *s);

static void
pathset_grow (struct sp_pathset *ps)
{
  struct sp_pathset bigger = { xcalloc (ps->cap ? ps->cap * 2 : 1024, sizeof (char *)), ps->cap ? ps->cap * 2 : 1024, 0 };
  for (size_t i = 0; i < ps->cap; i++)
    if (ps->slot[i] != NULL)
      {
        pathset_add (&bigger, ps->slot[i]);
        free (ps->slot[i]);
      }
  free (ps->slot);
  *ps = bigger;
}

static void
pathset_add (struct sp_pathset *ps, const char *s)
{
  size_t i;

  if (ps->n * 2 >= ps->cap)
    pathset_grow (ps);
  for (i = hash_str (s) & (ps->cap - 1); ps->slot[i] != NULL; i = (i + 1) & (ps->cap - 1))
    if (strcmp (ps->slot[i], s) == 0)
      return;
  ps->slot[i] = xstrdup (s);
  ps->n++;
}

static bool
pathset_has (const struct sp_pathset *ps, const char *s)
{
  if (ps->cap == 0)
    return false;
  for (size_t i = hash_str (s) & (ps->cap - 1); ps->slot[i] != NULL; i = (i + 1) & (ps->cap - 1))
    if (strcmp (ps->slot[i], s) == 0)
      return true;
  return false;
}

static void
pathset_clear (struct sp_pathset *ps)
{
  for (size_t i = 0; i < ps->cap; i++)
    free (ps->slot[i]);
  free (ps->slot);
  memset (ps, 0, sizeof (*ps));
}

/* ---- writer threads for small files ---- */

/* A directory fd shared by the main thread's cache and the queued jobs in it. */
struct pdir {
  int fd;
  int refs;
};

static void
pdir_unref (struct pdir *d)
{
  if (d != NULL && __atomic_sub_fetch (&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
    {
      close (d->fd);
      free (d);
    }
}

struct job {
  struct job *next;
  struct pdir *pdir;  /* the parent directory */
  char *base;
  char *path;       /* for errors */
  mode_t perm;
  struct timespec mtime;
  char *data;
  size_t size;
};

/* One queue per writer; a directory's files all go to the same writer, because
 * creating files in one directory serialises on its lock anyway (writers spinning on
 * it only burn CPU the others could use). */
struct wq {
  struct job *head, *tail;
  pthread_cond_t have_work;
};

struct worker {
  struct sp_pool *pool;
  int idx;
};

struct sp_pool {
  pthread_mutex_t mu;
  pthread_cond_t space, idle;
  struct wq q[POOL_MAX_THREADS];
  struct worker w[POOL_MAX_THREADS];
  size_t pending, queued_bytes;
  size_t max_jobs;         /* queued files at most: each may hold its directory's fd */
  bool stop;
  int err_errno;
  char *err_path;          /* the first job that failed */
  pthread_t threads[POOL_MAX_THREADS];
  int n;
  struct sp_pathset inflight;   /* paths queued since the last barrier (main thread only) */
};

static void
job_free (struct job *j)
{
  pdir_unref (j->pdir);
  free (j->base);
  free (j->path);
  free (j->data);
  free (j);
}

static int
job_run (struct job *j)
{
  struct timespec times[2] = { j->mtime, j->mtime };
  size_t off = 0;
  int fd = openat (j->pdir->fd, j->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0)
    return -1;
  while (off < j->size)
    {
      ssize_t w = write (fd, j->data + off, j->size - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        goto fail;
      off += (size_t) w;
    }
  if (fchmod (fd, j->perm) < 0 || futimens (fd, times) < 0)
    goto fail;
  return close (fd);
fail:
  {
    int e = errno;
    close (fd);
    errno = e;
    return -1;
  }
}

static void *
pool_worker (void *arg)
{
  struct sp_pool *p = ((struct worker *) arg)->pool;
  struct wq *q = &p->q[((struct worker *) arg)->idx];

  for (;;)
    {
      struct job *j;
      bool skip;
      int r = 0, e = 0;

      pthread_mutex_lock (&p->mu);
      while (!p->stop && q->head == NULL)
        pthread_cond_wait (&q->have_work, &p->mu);
      if (q->head == NULL)
        {
          pthread_mutex_unlock (&p->mu);
          return NULL;
        }
      j = q->head;
      q->head = j->next;
      if (q->head == NULL)
        q->tail = NULL;
      skip = p->err_path != NULL;  /* after a failure the import is lost anyway */
      pthread_mutex_unlock (&p->mu);

      if (!skip)
        {
          r = job_run (j);
          e = errno;
        }
      pthread_mutex_lock (&p->mu);
      if (r < 0 && p->err_path == NULL)
        {
          p->err_errno = e;
          p->err_path = j->path;
          j->path = NULL;
        }
      p->pending--;
      p->queued_bytes -= j->size;
      pthread_cond_signal (&p->space);
      if (p->pending == 0)
        pthread_cond_broadcast (&p->idle);
      pthread_mutex_unlock (&p->mu);
      job_free (j);
    }
}

static int
pool_threads_wanted (void)
{
  const char *v = getenv ("SPROUT_UNPACK_THREADS");
  long n = v != NULL && *v ? strtol (v, NULL, 10) : sysconf (_SC_NPROCESSORS_ONLN);

  return n < 1 ? 1 : n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int) n;
}

/* How many files may wait in the queues: each queued file keeps its directory's fd
 * open (one per directory, shared) and each writer opens one more, so under a soft fd
 * limit of 1024 (runuser, Slurm tasks) a queue of 1024 files in as many directories
 * would run out of descriptors. */
static size_t
pool_max_jobs (int threads)
{
  struct rlimit rl;
  rlim_t room;

  if (getrlimit (RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
    return POOL_MAX_JOBS;
  room = rl.rlim_cur > POOL_FD_RESERVE + (rlim_t) threads ? rl.rlim_cur - POOL_FD_RESERVE - (rlim_t) threads : 0;
  room /= 2;
  return room < 4 ? 4 : room > POOL_MAX_JOBS ? POOL_MAX_JOBS : (size_t) room;
}

static struct sp_pool *
pool_new (void)
{
  int n = pool_threads_wanted ();
  struct sp_pool *p;

  if (n < 2)
    return NULL;
  p = xcalloc (1, sizeof (*p));
  p->max_jobs = pool_max_jobs (n);
  pthread_mutex_init (&p->mu, NULL);
  pthread_cond_init (&p->space, NULL);
  pthread_cond_init (&p->idle, NULL);
  for (int i = 0; i < n; i++)
    pthread_cond_init (&p->q[i].have_work, NULL);
  for (int i = 0; i < n; i++)
    {
      p->w[p->n] = (struct worker) { p, p->n };
      if (pthread_create (&p->threads[p->n], NULL, pool_worker, &p->w[p->n]) == 0)
        p->n++;
    }
  if (p->n == 0)
    {
      free (p);
      return NULL;
    }
  return p;
}

/* Wait until every queued file is written. -1 with *err if one failed. */
static int
pool_barrier (struct sp_pool *p, sp_error_t *err)
{
  int r = 0;

  if (p == NULL)
    return 0;
  pthread_mutex_lock (&p->mu);
  while (p->pending > 0)
    pthread_cond_wait (&p->idle, &p->mu);
  if (p->err_path != NULL)
    r = sp_error_make (err, p->err_errno, "%s", p->err_path);
  pthread_mutex_unlock (&p->mu);
  pathset_clear (&p->inflight);
  return r;
}

/* Does path, or a directory above it, have a file still queued? */
static bool
pool_conflicts (struct sp_pool *p, const char *path)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);

  if (p == NULL || p->inflight.n == 0)
    return false;
  if (len >= sizeof (buf))
    return true;
  memcpy (buf, path, len + 1);
  for (;;)
    {
      char *slash;
      if (pathset_has (&p->inflight, buf))
        return true;
      slash = strrchr (buf, '/');
      if (slash == NULL)
        return false;
      *slash = '\0';
    }
}

static int
pool_submit (struct sp_pool *p, struct job *j, uint64_t dir_hash, sp_error_t *err)
{
  struct wq *q = &p->q[dir_hash % (uint64_t) p->n];

  pathset_add (&p->inflight, j->path);
  pthread_mutex_lock (&p->mu);
  while (p->pending > 0 && (p->queued_bytes + j->size > POOL_MAX_BYTES || p->pending >= p->max_jobs))
    pthread_cond_wait (&p->space, &p->mu);
  if (p->err_path != NULL)
    {
      int r = sp_error_make (err, p->err_errno, "%s", p->err_path);
      pthread_mutex_unlock (&p->mu);
      job_free (j);
      return r;
    }
  j->next = NULL;
  if (q->tail)
    q->tail->next = j;
  else
    q->head = j;
  q->tail = j;
  p->pending++;
  p->queued_bytes += j->size;
  pthread_cond_signal (&q->have_work);
  pthread_mutex_unlock (&p->mu);
  return 0;
}

static void
pool_free (struct sp_pool *p)
{
  if (p == NULL)
    return;
  pthread_mutex_lock (&p->mu);
  p->stop = true;
  for (int i = 0; i < p->n; i++)
    pthread_cond_broadcast (&p->q[i].have_work);
  pthread_mutex_unlock (&p->mu);
  for (int i = 0; i < p->n; i++)
    pthread_join (p->threads[i], NULL);
  for (int i = 0; i < POOL_MAX_THREADS; i++)
    while (p->q[i].head != NULL)
      {
        struct job *j = p->q[i].head;
        p->q[i].head = j->next;
        job_free (j);
      }
  free (p->err_path);
  pathset_clear (&p->inflight);
  pthread_mutex_destroy (&p->mu);
  for (int i = 0; i < POOL_MAX_THREADS; i++)
    if (i < p->n)
      pthread_cond_destroy (&p->q[i].have_work);
  pthread_cond_destroy (&p->space);
  pthread_cond_destroy (&p->idle);
  free (p);
}

/* ---- the unpack state ---- */

void
sp_unpack_init (struct sp_unpack *u, int rootfd)
{
  memset (u, 0, sizeof (*u));
  u->rootfd = rootfd;
  u->cached_parent_fd = -1;
  u->layer_paths = xcalloc (1, sizeof (*u->layer_paths));
  u->inbuf = xmalloc (BUF_SIZE);
  u->outbuf = xmalloc (BUF_SIZE);
  u->pool = pool_new ();
}

static void
forget_parent (struct sp_unpack *u)
{
  pdir_unref (u->cached_pdir);
  u->cached_pdir = NULL;
  u->cached_parent_fd = -1;
  free (u->cached_parent);
  u->cached_parent = NULL;
}

void
sp_unpack_free (struct sp_unpack *u)
{
  pool_free (u->pool);
  u->pool = NULL;
  forget_parent (u);
  for (size_t i = 0; i < u->n_dirmodes; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  if (u->layer_paths != NULL)
    pathset_clear (u->layer_paths);
  free (u->layer_paths);
  free (u->inbuf);
  free (u->outbuf);
  memset (u, 0, sizeof (*u));
  u->cached_parent_fd = -1;
}

/* The directory fd for parent (creating missing directories 0755, as tar does). The
 * fd belongs to the one-entry cache: do not close it. The cache never goes stale:
 * an entry that replaces or removes a component of the cached path has a shorter
 * parent path, so the lookup after it misses and resolves afresh. -1 with errno. */
static int
parent_fd (struct sp_unpack *u, const char *parent)
{
  int fd;

  if (u->cached_parent != NULL && strcmp (u->cached_parent, parent) == 0)
    return u->cached_parent_fd;
  forget_parent (u);
  fd = sp_mkdirs_in_root (u->rootfd, parent, 0755);
  if (fd < 0)
    return -1;
  u->cached_parent = xstrdup (parent);
  u->cached_parent_fd = fd;
  u->cached_pdir = xmalloc (sizeof (*u->cached_pdir));
  u->cached_pdir->fd = fd;
  u->cached_pdir->refs = 1;
  return fd;
}

/* Make room for a new entry called base under pfd: whatever is there goes, except a
 * directory when a directory is coming. Returns 1 if a directory was kept. */
static int
clear_slot (struct sp_unpack *u, int pfd, const char *base, bool want_dir, sp_error_t *err, const char *path)
{
  struct stat st;

  if (fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : sp_error_make (err, errno, "%s", path);
  if (want_dir && S_ISDIR (st.st_mode))
    return 1;
  /* a removal: files still queued may live below what goes */
  if (pool_barrier (u->pool, err) < 0)
    return -1;
  if ((S_ISDIR (st.st_mode) ? sp_rmtree_at (pfd, base) : unlinkat (pfd, base, 0)) < 0 && errno != ENOENT)
    return sp_error_make (err, errno, "%s", path);
  return 0;
}

static void
record_dir (struct sp_unpack *u, const char *path, mode_t mode, struct timespec mtime)
{
  if (u->n_dirmodes == u->cap_dirmodes)
    {
      u->cap_dirmodes = u->cap_dirmodes ? u->cap_dirmodes * 2 : 256;
      u->dirs = realloc (u->dirs, u->cap_dirmodes * sizeof (*u->dirs));
      if (u->dirs == NULL)
        abort ();
    }
  u->dirs[u->n_dirmodes] = (struct sp_dirmode) { xstrdup (path), mode, mtime, u->n_dirmodes };
  u->n_dirmodes++;
}

static int
write_file (struct archive *a, struct archive_entry *e, int fd, sp_error_t *err, const char *path)
{
  const void *buf;
  size_t size;
  la_int64_t offset, end = 0;
  int r;

  while ((r = archive_read_data_block (a, &buf, &size, &offset)) == ARCHIVE_OK)
    {
      const char *p = buf;
      while (size > 0)
        {
          ssize_t w = pwrite (fd, p, size, offset);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return sp_error_make (err, errno, "%s", path);
          p += w;
          size -= (size_t) w;
          offset += w;
        }
      if (offset > end)
        end = offset;
    }
  /* a failure right after the last data byte is the missing padding of an umoci
   * layer (see sp_layer_apply); any other is the archive's error, reported by the caller */
  if (r != ARCHIVE_EOF && !(r == ARCHIVE_FATAL && end == archive_entry_size (e)))
    return -2;
  if (archive_entry_size (e) > end && ftruncate (fd, archive_entry_size (e)) < 0)
    return sp_error_make (err, errno, "%s", path);
  return 0;
}

/* Read a small file's data and hand it to the writers. */
static int
queue_file (struct sp_unpack *u, struct archive *a, struct archive_entry *e, int pfd, const char *base,
            const char *path, mode_t perm, struct timespec mt, sp_error_t *err)
{
  la_int64_t size = archive_entry_size (e), end = 0;
  struct job *j;
  const void *buf;
  size_t n;
  la_int64_t off;
  int r;

  j = xcalloc (1, sizeof (*j));
  j->size = (size_t) size;
  j->data = archive_entry_sparse_count (e) > 0 ? xcalloc (1, j->size + 1) : xmalloc (j->size + 1);
  while ((r = archive_read_data_block (a, &buf, &n, &off)) == ARCHIVE_OK)
    {
      if (off < 0 || off + (la_int64_t) n > size)
        {
          job_free (j);
          return sp_error_make (err, 0, "%s: data beyond the file's size", path);
        }
      memcpy (j->data + off, buf, n);
      if (off + (la_int64_t) n > end)
        end = off + (la_int64_t) n;
    }
  if (r != ARCHIVE_EOF && !(r == ARCHIVE_FATAL && end == size))
    {
      job_free (j);
      return -2;
    }
  (void) pfd;  /* it is the cached parent's: share that */
  j->pdir = u->cached_pdir;
  __atomic_add_fetch (&j->pdir->refs, 1, __ATOMIC_ACQ_REL);
  j->base = xstrdup (base);
  j->path = xstrdup (path);
  j->perm = perm;
  j->mtime = mt;
  return pool_submit (u->pool, j, hash_str (u->cached_parent), err);
}

static int
apply_whiteout (struct sp_unpack *u, int pfd, const char *parent, const char *base, sp_error_t *err)
{
  u->n_whiteouts++;
  if (strcmp (base, WH_OPAQUE) == 0)
    {
      /* opaque: everything lower layers put in parent goes; this layer's entries stay */
      int fd = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
      struct dirent *de;

      if (d == NULL)
        {
          if (fd >= 0)
            close (fd);
          return sp_error_make (err, errno, "%s", *parent ? parent : "/");
        }
      while ((de = readdir (d)) != NULL)
        {
          cleanup_free char *child = NULL;
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          child = *parent ? xasprintf ("%s/%s", parent, de->d_name) : xstrdup (de->d_name);
          if (pathset_has (u->layer_paths, child))
            continue;
          if (sp_rmtree_at (dirfd (d), de->d_name) < 0)
            {
              int e = errno;
              closedir (d);
              return sp_error_make (err, e, "%s", child);
            }
        }
      closedir (d);
      return 0;
    }
  base += strlen (WH_PREFIX);
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0 || strchr (base, '/'))
    return sp_error_make (err, 0, "%s/.wh.%s: invalid whiteout", parent, base);
  if (sp_rmtree_at (pfd, base) < 0)
    return sp_error_make (err, errno, "%s/%s", parent, base);
  return 0;
}

/* A clean path's directory (malloc'd; "" for the root) and, in *base, its last name. */
static char *
split_parent (const char *path, const char **base)
{
  char *parent = xstrdup (path);
  char *slash = strrchr (parent, '/');

  if (slash != NULL)
    {
      *slash = '\0';
      *base = path + (slash - parent) + 1;
    }
  else
    {
      parent[0] = '\0';
      *base = path;
    }
  return parent;
}

static int
apply_entry (struct sp_unpack *u, struct archive *a, struct archive_entry *e, sp_error_t *err)
{
  const char *raw = archive_entry_pathname (e);
  cleanup_free char *path = NULL;
  cleanup_free char *parent = NULL;
  const char *base;
  mode_t type = archive_entry_filetype (e);
  mode_t perm = archive_entry_perm (e) & 07777;
  struct timespec mt = { archive_entry_mtime (e), archive_entry_mtime_nsec (e) };
  struct timespec times[2] = { mt, mt };
  const char *hardlink = archive_entry_hardlink (e);
  int pfd, r;

  if (raw == NULL)
    return sp_error_make (err, 0, "entry with an unreadable name");
  path = xstrdup (raw);
  sp_clean_path (path);
  if (*path == '\0')
    return 0;  /* the root itself: it keeps the mode sprout gives it */
  parent = split_parent (path, &base);
  /* whiteouts and hard links read or remove what came before; anything else waits
   * only when its own path (or a directory above it) is still being written */
  if ((sp_has_prefix (base, WH_PREFIX) || hardlink != NULL || pool_conflicts (u->pool, path))
      && pool_barrier (u->pool, err) < 0)
    return -1;
  pfd = parent_fd (u, parent);
  if (pfd < 0 && errno == EEXIST)
    return sp_error_make (err, 0, "%s: a symlink on its way points to a missing path", path);
  if (pfd < 0)
    return sp_error_make (err, errno, "%s", path);

  if (sp_has_prefix (base, WH_PREFIX))
    return apply_whiteout (u, pfd, parent, base, err);
  pathset_add (u->layer_paths, path);

  if (hardlink != NULL)
    {
      cleanup_free char *target = xstrdup (hardlink);
      cleanup_free char *tparent = NULL;
      const char *tbase;
      int tfd;

      sp_clean_path (target);
      if (*target == '\0' || strcmp (target, path) == 0)
        return sp_error_make (err, 0, "%s: invalid hard link to \"%s\"", path, hardlink);
      tparent = split_parent (target, &tbase);
      if (clear_slot (u, pfd, base, false, err, path) < 0)
        return -1;
      tfd = sp_open_in_root (u->rootfd, tparent, O_RDONLY | O_DIRECTORY);
      if (tfd < 0)
        return sp_error_make (err, errno, "%s: hard link target \"%s\" is not inside the image", path, hardlink);
      r = linkat (tfd, tbase, pfd, base, 0);
      close (tfd);
      if (r < 0)
        return sp_error_make (err, errno, "%s: hard link to \"%s\"", path, hardlink);
      u->n_links++;
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      r = clear_slot (u, pfd, base, true, err, path);
      if (r < 0)
        return -1;
      if (r == 0 && mkdirat (pfd, base, 0700) < 0)
        return sp_error_make (err, errno, "%s", path);
      record_dir (u, path, perm, mt);
      u->n_dirs++;
      return 0;

    case AE_IFREG:
      {
        cleanup_close int fd = -1;
        if (clear_slot (u, pfd, base, false, err, path) < 0)
          return -1;
        if (u->pool != NULL && archive_entry_size (e) <= (la_int64_t) POOL_SMALL_FILE)
          {
            r = queue_file (u, a, e, pfd, base, path, perm, mt, err);
            if (r == 0)
              u->n_files++;
            return r;
          }
        fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return sp_error_make (err, errno, "%s", path);
        r = write_file (a, e, fd, err, path);
        if (r < 0)
          return r;
        if (fchmod (fd, perm) < 0 || futimens (fd, times) < 0)
          return sp_error_make (err, errno, "%s", path);
        u->n_files++;
        return 0;
      }

    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        if (target == NULL)
          return sp_error_make (err, 0, "%s: symlink without a target", path);
        if (clear_slot (u, pfd, base, false, err, path) < 0)
          return -1;
        if (symlinkat (target, pfd, base) < 0)
          return sp_error_make (err, errno, "%s", path);
        utimensat (pfd, base, times, AT_SYMLINK_NOFOLLOW);
        u->n_symlinks++;
        return 0;
      }

    default:
      /* device nodes, fifos, sockets: a rootless user cannot make them; the runtime binds /dev */
      u->n_skipped++;
      return 0;
    }
}

/* ---- the stream: blob -> digest -> decoder -> digest -> libarchive ---- */

struct pipeline {
  struct sp_unpack *u;
  struct sp_reader *r;
  struct sp_decoder *dec;   /* NULL for an uncompressed layer */
  struct sp_digest cdig, udig;
  const uint8_t *in;
  size_t in_len;
  bool in_eof, done;
  uint64_t c_bytes, u_bytes;
  sp_error_t err;
};

/* The next block of uncompressed tar: 0 at the end, -1 with p->err. */
static ssize_t
pipeline_next (struct pipeline *p, const void **buf)
{
  for (;;)
    {
      ssize_t n;

      if (p->in_len == 0 && !p->in_eof)
        {
          n = sp_reader_read (p->r, p->u->inbuf, BUF_SIZE, &p->err);
          if (n < 0)
            return -1;
          if (n == 0)
            p->in_eof = true;
          else
            {
              sp_digest_update (&p->cdig, p->u->inbuf, (size_t) n);
              p->c_bytes += (uint64_t) n;
              if (p->u->progress != NULL)
                p->u->progress (p->u->progress_ctx, (uint64_t) n);
              p->in = p->u->inbuf;
              p->in_len = (size_t) n;
            }
        }
      if (p->in_len == 0 && p->in_eof)
        {
          if (p->dec != NULL && !p->done && sp_decoder_finish (p->dec, &p->err) < 0)
            return -1;
          p->done = true;
          return 0;
        }
      if (p->dec == NULL)
        {
          n = (ssize_t) p->in_len;
          *buf = p->in;
          p->in_len = 0;
        }
      else
        {
          n = sp_decoder_run (p->dec, &p->in, &p->in_len, p->u->outbuf, BUF_SIZE, &p->err);
          if (n < 0)
            return -1;
          if (n == 0)
            continue;
          *buf = p->u->outbuf;
        }
      sp_digest_update (&p->udig, *buf, (size_t) n);
      p->u_bytes += (uint64_t) n;
      return n;
    }
}

static la_ssize_t
pipeline_read_cb (struct archive *a, void *ctx, const void **buf)
{
  struct pipeline *p = ctx;
  ssize_t n = pipeline_next (p, buf);

  if (n < 0)
    archive_set_error (a, p->err && p->err->errnum ? p->err->errnum : EIO, "%s",
                       p->err ? p->err->msg : "read error");
  return n;
}

int
sp_layer_apply (struct sp_unpack *u, struct sp_reader *r, const struct sp_layer *layer, const char *diff_id,
                const char *what, sp_error_t *err)
{
  struct pipeline p = { .u = u, .r = r };
  struct archive *a = NULL;
  struct archive_entry *e;
  char cgot[SP_DIGEST_LEN + 1], ugot[SP_DIGEST_LEN + 1];
  uint64_t skipped_before = u->n_skipped;
  int ret = -1, ar;

  pathset_clear (u->layer_paths);
  forget_parent (u);
  if (sp_digest_init (&p.cdig, err) < 0 || sp_digest_init (&p.udig, err) < 0)
    goto out;
  if (layer->comp != SP_COMP_NONE)
    {
      p.dec = sp_decoder_new (layer->comp, err);
      if (p.dec == NULL)
        goto out;
    }
  a = archive_read_new ();
  if (a == NULL)
    {
      sp_error_make (err, ENOMEM, "%s", what);
      goto out;
    }
  archive_read_support_format_tar (a);
  if (archive_read_open (a, &p, NULL, pipeline_read_cb, NULL) != ARCHIVE_OK)
    goto archive_failed;
  while ((ar = archive_read_next_header (a, &e)) != ARCHIVE_EOF)
    {
      int rr;
      if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
        {
          /* umoci insert writes layers that stop after the last entry's data, without
           * padding or end-of-archive blocks; the stream ended cleanly and the diff_id
           * check below still covers every byte, so that is the end */
          if (p.err == NULL && p.done)
            break;
          goto archive_failed;
        }
      rr = apply_entry (u, a, e, err);
      if (rr == -2)
        goto archive_failed;
      if (rr < 0)
        {
          sp_error_wrap (err, "%s", what);
          goto out;
        }
    }
  if (pool_barrier (u->pool, err) < 0)
    {
      sp_error_wrap (err, "%s", what);
      goto out;
    }
  /* past the tar's end marker: hash the rest so the digests cover every byte */
  for (;;)
    {
      const void *buf;
      ssize_t n = pipeline_next (&p, &buf);
      if (n < 0)
        {
          sp_error_make (err, 0, "%s: %s", what, p.err ? p.err->msg : "read error");
          goto out;
        }
      if (n == 0)
        break;
    }
  sp_digest_final (&p.cdig, cgot);
  sp_digest_final (&p.udig, ugot);
  if (layer->size >= 0 && (uint64_t) layer->size != p.c_bytes)
    {
      sp_error_make (err, 0, "%s: size is %llu, its descriptor says %lld", what, (unsigned long long) p.c_bytes,
                     (long long) layer->size);
      goto out;
    }
  if (layer->digest != NULL && strcmp (layer->digest, cgot) != 0)
    {
      sp_error_make (err, 0, "%s: digest mismatch (content hashes to %s)", what, cgot);
      goto out;
    }
  if (strcmp (diff_id, ugot) != 0)
    {
      sp_error_make (err, 0, "%s: uncompressed content does not match diff_id %s (it hashes to %s)", what,
                     diff_id, ugot);
      goto out;
    }
  if (u->verbose > 0 && u->n_skipped > skipped_before)
    fprintf (stderr, "sprout: %s: skipped %llu device nodes, fifos or sockets\n", what,
             (unsigned long long) (u->n_skipped - skipped_before));
  ret = 0;
  goto out;

archive_failed:
  if (p.err != NULL)
    sp_error_make (err, 0, "%s: %s", what, p.err->msg);
  else
    sp_error_make (err, 0, "%s: corrupt tar: %s", what,
                   archive_error_string (a) ? archive_error_string (a) : "read error");
out:
  if (ret < 0 && u->pool != NULL)
    {
      sp_error_t ignored = NULL;
      pool_barrier (u->pool, &ignored);  /* nothing may still write once we return */
      sp_error_free (&ignored);
    }
  if (a != NULL)
    archive_read_free (a);
  sp_decoder_free (p.dec);
  sp_digest_free (&p.cdig);
  sp_digest_free (&p.udig);
  sp_error_free (&p.err);
  forget_parent (u);
  pathset_clear (u->layer_paths);
  return ret;
}

static int
cmp_dir_path (const void *a, const void *b)
{
  const struct sp_dirmode *x = a, *y = b;
  int c = strcmp (x->path, y->path);
  return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static size_t
depth_of (const char *p)
{
  size_t d = 0;
  for (; *p; p++)
    d += *p == '/';
  return d;
}

static int
cmp_dir_depth (const void *a, const void *b)
{
  size_t x = depth_of (((const struct sp_dirmode *) a)->path), y = depth_of (((const struct sp_dirmode *) b)->path);
  return x > y ? -1 : x < y;
}

int
sp_unpack_finish (struct sp_unpack *u, sp_error_t *err)
{
  size_t n = 0;

  forget_parent (u);
  if (pool_barrier (u->pool, err) < 0)
    return -1;
  if (u->n_dirmodes == 0)
    return 0;
  /* the last layer's word on each directory counts; deepest first, so that a parent
   * without u+x does not lock us out of its children */
  qsort (u->dirs, u->n_dirmodes, sizeof (*u->dirs), cmp_dir_path);
  for (size_t i = 0; i < u->n_dirmodes; i++)
    {
      if (i + 1 < u->n_dirmodes && strcmp (u->dirs[i].path, u->dirs[i + 1].path) == 0)
        {
          free (u->dirs[i].path);
          continue;
        }
      u->dirs[n++] = u->dirs[i];
    }
  u->n_dirmodes = n;
  qsort (u->dirs, u->n_dirmodes, sizeof (*u->dirs), cmp_dir_depth);
  for (size_t i = 0; i < u->n_dirmodes; i++)
    {
      cleanup_free char *parent = xstrdup (u->dirs[i].path);
      char *slash = strrchr (parent, '/');
      const char *base = slash ? u->dirs[i].path + (slash - parent) + 1 : u->dirs[i].path;
      cleanup_close int pfd = -1;
      cleanup_close int fd = -1;
      struct timespec times[2] = { u->dirs[i].mtime, u->dirs[i].mtime };

      if (slash)
        *slash = '\0';
      else
        parent[0] = '\0';
      pfd = sp_open_in_root (u->rootfd, parent, O_RDONLY | O_DIRECTORY);
      if (pfd < 0)
        continue;  /* removed by a later layer */
      fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        continue;  /* replaced by a file or a symlink later */
      if (fchmod (fd, u->dirs[i].mode) < 0 || futimens (fd, times) < 0)
        return sp_error_make (err, errno, "%s", u->dirs[i].path);
    }
  return 0;
}
