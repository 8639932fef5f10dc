/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pool.c: see pool.h. */
#include "config.h"
#include "import/pool.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_MAX_THREADS 4
#define POOL_MAX_BYTES (16u << 20) /* file data queued for the writers at most */
#define POOL_MAX_JOBS 1024
#define POOL_FD_RESERVE 48 /* fds left to the main thread (cache, archive, walks) */

void
sp_pdir_unref (struct sp_pdir *d)
{
  if (d != NULL && __atomic_sub_fetch (&d->refs, 1, __ATOMIC_ACQ_REL) == 0)
    {
      close (d->fd);
      free (d);
    }
}

struct sp_pdir *
sp_pdir_new (int fd)
{
  struct sp_pdir *d = xmalloc (sizeof (*d));

  d->fd = fd;
  d->refs = 1;
  return d;
}

void
sp_pdir_ref (struct sp_pdir *d)
{
  __atomic_add_fetch (&d->refs, 1, __ATOMIC_ACQ_REL);
}

/* One queue per writer; a directory's files all go to the same writer, because
 * creating files in one directory serialises on its lock anyway (writers spinning on
 * it only burn CPU the others could use). */
struct wq {
  struct sp_job *head, *tail;
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
  size_t max_jobs; /* queued files at most: each may hold its directory's fd */
  bool stop;
  int err_errno;
  char *err_path; /* the first job that failed */
  pthread_t threads[POOL_MAX_THREADS];
  int n;
  struct sp_pathset inflight; /* paths queued since the last barrier (main thread only) */
};

void
sp_job_free (struct sp_job *j)
{
  sp_pdir_unref (j->pdir);
  free (j->base);
  free (j->path);
  free (j->data);
  free (j);
}

/* Write one file. 0 or -1/errno (a writer thread has no sp_error_t: the pool keeps the
 * first errno and path, and sp_pool_barrier turns them into the error). */
static int
job_run (struct sp_job *j)
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
      struct sp_job *j;
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
      skip = p->err_path != NULL; /* after a failure the import is lost anyway */
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
      sp_job_free (j);
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

struct sp_pool *
sp_pool_new (void)
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
int
sp_pool_barrier (struct sp_pool *p, sp_error_t *err)
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
  sp_pathset_clear (&p->inflight);
  return r;
}

/* Does path, or a directory above it, have a file still queued? */
bool
sp_pool_conflicts (struct sp_pool *p, const char *path)
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
      if (sp_pathset_has (&p->inflight, buf))
        return true;
      slash = strrchr (buf, '/');
      if (slash == NULL)
        return false;
      *slash = '\0';
    }
}

int
sp_pool_submit (struct sp_pool *p, struct sp_job *j, uint64_t dir_hash, sp_error_t *err)
{
  struct wq *q = &p->q[dir_hash % (uint64_t) p->n];

  sp_pathset_add (&p->inflight, j->path);
  pthread_mutex_lock (&p->mu);
  while (p->pending > 0 && (p->queued_bytes + j->size > POOL_MAX_BYTES || p->pending >= p->max_jobs))
    pthread_cond_wait (&p->space, &p->mu);
  if (p->err_path != NULL)
    {
      int r = sp_error_make (err, p->err_errno, "%s", p->err_path);
      pthread_mutex_unlock (&p->mu);
      sp_job_free (j);
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

void
sp_pool_free (struct sp_pool *p)
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
        struct sp_job *j = p->q[i].head;
        p->q[i].head = j->next;
        sp_job_free (j);
      }
  free (p->err_path);
  sp_pathset_clear (&p->inflight);
  pthread_mutex_destroy (&p->mu);
  for (int i = 0; i < POOL_MAX_THREADS; i++)
    if (i < p->n)
      pthread_cond_destroy (&p->q[i].have_work);
  pthread_cond_destroy (&p->space);
  pthread_cond_destroy (&p->idle);
  free (p);
}
