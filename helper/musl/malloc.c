/* SPDX-License-Identifier: GPL-2.0-or-later */
/* malloc.c: the allocator of sprout when it is linked against musl (configure.ac).
 *
 * musl's mallocng keeps each size class in its own groups of slots, mapped apart and
 * unmapped when empty, with metadata on pages of their own: a short-lived program that
 * makes a few hundred small allocations of many sizes touches a fresh page for most new
 * sizes. Each first touch of a page is a fault, and on a virtual machine with shadow page
 * tables a fault costs 6-25 us: mallocng's first allocation alone took ~90 us of a 3.8 ms
 * start on the test VM. sprout allocates little and briefly (a `run` execs within
 * milliseconds; `start` and the listings allocate a bounded amount), so this allocator
 * packs every block into one growing region instead, in the order they are asked for,
 * and reuses freed blocks of the same size class. It is single-threaded: sprout starts
 * no threads, and the keeper that shares its memory never allocates (keeper.c).
 *
 * Blocks carry their size class in a 16-byte header; classes are powers of two from 16
 * bytes to 64 KiB, larger blocks are mapped and unmapped on their own. Sizes are checked
 * for overflow; memory comes from mmap in 1 MiB steps (more for one big block). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define ALIGN 16
#define HEADER 16
#define MIN_SHIFT 4  /* 16 bytes */
#define MAX_SHIFT 16 /* 64 KiB */
#define N_CLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define CHUNK (1024 * 1024)
#define BIG_CLASS 0xff

struct header {
  size_t size;       /* the usable size: the class's, or a big block's mapped size */
  unsigned char cls; /* class index, or BIG_CLASS */
  unsigned char pad[ALIGN - sizeof (size_t) - 1];
};

struct free_block {
  struct free_block *next;
};

static char *arena_next, *arena_end;
static struct free_block *free_lists[N_CLASSES];

void *malloc (size_t n);
void *calloc (size_t m, size_t n);
void *realloc (void *p, size_t n);
void free (void *p);
void *aligned_alloc (size_t align, size_t n);
int posix_memalign (void **res, size_t align, size_t n);
void *memalign (size_t align, size_t n);
size_t malloc_usable_size (void *p);

static struct header *
header_of (void *p)
{
  return (struct header *) ((char *) p - HEADER);
}

static int
class_of (size_t n)
{
  int c = 0;

  while (((size_t) 1 << (c + MIN_SHIFT)) < n)
    c++;
  return c;
}

static void *
big_alloc (size_t n)
{
  size_t len;
  struct header *h;

  if (n > SIZE_MAX - HEADER - 4095)
    {
      errno = ENOMEM;
      return NULL;
    }
  len = (n + HEADER + 4095) & ~(size_t) 4095;
  h = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (h == MAP_FAILED)
    {
      errno = ENOMEM;
      return NULL;
    }
  h->size = len - HEADER;
  h->cls = BIG_CLASS;
  return (char *) h + HEADER;
}

/* malloc's work under another name: GCC turns malloc followed by memset into calloc,
 * which inside calloc itself would recurse */
static void *
block_alloc (size_t n)
{
  size_t size;
  int c;
  struct header *h;

  if (n > ((size_t) 1 << MAX_SHIFT))
    return big_alloc (n);
  c = class_of (n == 0 ? 1 : n);
  if (free_lists[c] != NULL)
    {
      struct free_block *b = free_lists[c];
      free_lists[c] = b->next;
      return b;
    }
  size = (size_t) 1 << (c + MIN_SHIFT);
  if ((size_t) (arena_end - arena_next) < size + HEADER)
    {
      /* a new region; what was left of the old one is dropped (at most 64 KiB) */
      char *r = mmap (NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (r == MAP_FAILED)
        {
          errno = ENOMEM;
          return NULL;
        }
      arena_next = r;
      arena_end = r + CHUNK;
    }
  h = (struct header *) arena_next;
  arena_next += size + HEADER;
  h->size = size;
  h->cls = (unsigned char) c;
  return (char *) h + HEADER;
}

void *
malloc (size_t n)
{
  return block_alloc (n);
}

void
free (void *p)
{
  struct header *h;
  struct free_block *b = p;

  if (p == NULL)
    return;
  h = header_of (p);
  if (h->cls == BIG_CLASS)
    {
      munmap (h, h->size + HEADER);
      return;
    }
  b->next = free_lists[h->cls];
  free_lists[h->cls] = b;
}

void *
calloc (size_t m, size_t n)
{
  void *p;

  if (n != 0 && m > SIZE_MAX / n)
    {
      errno = ENOMEM;
      return NULL;
    }
  p = block_alloc (m * n);
  if (p != NULL)
    memset (p, 0, m * n);
  return p;
}

void *
realloc (void *p, size_t n)
{
  void *q;
  size_t old;

  if (p == NULL)
    return malloc (n);
  old = header_of (p)->size;
  if (n <= old)
    return p;
  q = malloc (n);
  if (q == NULL)
    return NULL;
  memcpy (q, p, old < n ? old : n);
  free (p);
  return q;
}

size_t
malloc_usable_size (void *p)
{
  return p == NULL ? 0 : header_of (p)->size;
}

/* Blocks are 16-byte aligned; sprout asks for no more (these exist so that nothing
 * pulls musl's own malloc in beside this one). */
void *
aligned_alloc (size_t align, size_t n)
{
  if (align > ALIGN || (align & (align - 1)) != 0)
    {
      errno = EINVAL;
      return NULL;
    }
  return malloc (n);
}

void *
memalign (size_t align, size_t n)
{
  return aligned_alloc (align, n);
}

int
posix_memalign (void **res, size_t align, size_t n)
{
  void *p;

  if (align < sizeof (void *) || align > ALIGN || (align & (align - 1)) != 0)
    return EINVAL;
  p = malloc (n);
  if (p == NULL)
    return ENOMEM;
  *res = p;
  return 0;
}
