/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pool.h: the writer threads that create small files while the main thread reads the
 * next tar entries (creating inodes is what costs most on a real file system). One
 * queue per writer; all files of one directory go to the same writer. The main thread
 * waits for the writers (sp_pool_barrier) before anything that reads or removes what
 * they may still be writing, so the result is the same as writing in order. */
#ifndef SPROUT_POOL_H
#define SPROUT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "error.h"
#include "import/pathset.h"

struct sp_pool;

/* A directory fd shared by the main thread's one-entry parent cache and the files
 * queued in that directory; closed when the last holder lets go. */
struct sp_pdir {
  int fd;
  int refs;
};

/* A new holder of fd (owned from now on), with one reference. */
struct sp_pdir *sp_pdir_new (int fd);

/* One more reference. */
void sp_pdir_ref (struct sp_pdir *d);

/* Drop a reference, closing and freeing at the last; harmless on NULL. */
void sp_pdir_unref (struct sp_pdir *d);

/* One file to write: base under pdir, with data, mode and mtime. */
struct sp_job {
  struct sp_job *next;
  struct sp_pdir *pdir; /* the parent directory (a reference) */
  char *base;
  char *path; /* for errors */
  mode_t perm;
  struct timespec mtime;
  char *data;
  size_t size;
};

/* Free a job and what it holds; its pdir reference is dropped. */
void sp_job_free (struct sp_job *j);

/* Start the writers: as many as there are CPUs, at most 4; $SPROUT_UNPACK_THREADS
 * overrides. NULL when one thread is all there is (write in the calling thread). */
struct sp_pool *sp_pool_new (void);

/* Stop the writers (queued jobs are dropped) and free the pool; harmless on NULL. */
void sp_pool_free (struct sp_pool *p);

/* Wait until every queued file is written. 0, or -1 with *err naming the first file
 * that failed (once one failed, every later barrier fails too). 0 on NULL. */
int sp_pool_barrier (struct sp_pool *p, sp_error_t *err);

/* Does path, or a directory above it, have a file queued since the last barrier? */
bool sp_pool_conflicts (struct sp_pool *p, const char *path);

/* Queue j (taken over, also on failure) on the writer dir_hash picks, waiting while
 * the queues are full. 0, or -1 with *err when a write already failed. */
int sp_pool_submit (struct sp_pool *p, struct sp_job *j, uint64_t dir_hash, sp_error_t *err);

#endif
