/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_malloc.c: the allocator sprout uses when it is linked against musl
 * (helper/musl/malloc.c), compiled here under other names so that it does not replace
 * this test's own malloc: blocks aligned and apart, reuse, realloc keeping content,
 * calloc zeroing reused blocks, overflow refused, big blocks, and a random workload
 * whose every block is checked byte for byte. */
#define malloc t_malloc
#define calloc t_calloc
#define realloc t_realloc
#define free t_free
#define aligned_alloc t_aligned_alloc
#define posix_memalign t_posix_memalign
#define memalign t_memalign
#define malloc_usable_size t_malloc_usable_size
#include "../../helper/musl/malloc.c"
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef aligned_alloc
#undef posix_memalign
#undef memalign
#undef malloc_usable_size

#include <stdbool.h>
#include <stdlib.h>
#include "tap.h"

#define N_SLOTS 512

static bool
all (const unsigned char *p, size_t n, unsigned char v)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != v)
      return false;
  return true;
}

int
main (void)
{
  static unsigned char *slot[N_SLOTS];
  static size_t len[N_SLOTS];
  bool aligned = true, apart = true, intact = true;
  unsigned char *a, *b, *c;
  void *m;
  size_t sizes[] = { 0, 1, 15, 16, 17, 100, 4095, 4096, 65535, 65536, 65537, 300000 };

  /* every size: 16-byte aligned, usable for all its bytes, not overlapping the others */
  for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++)
    {
      slot[i] = t_malloc (sizes[i]);
      len[i] = sizes[i];
      aligned = aligned && slot[i] != NULL && ((uintptr_t) slot[i] % 16) == 0
                && t_malloc_usable_size (slot[i]) >= sizes[i];
      memset (slot[i], (int) i + 1, sizes[i]);
    }
  for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++)
    apart = apart && all (slot[i], len[i], (unsigned char) (i + 1));
  tap_ok (aligned, "blocks of 0 B to 300 KB are 16-byte aligned and as large as asked");
  tap_ok (apart, "each block keeps its own bytes (no two overlap)");
  for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++)
    {
      t_free (slot[i]);
      slot[i] = NULL;
    }

  /* a freed block serves the next request of its class */
  a = t_malloc (40);
  t_free (a);
  b = t_malloc (60);
  tap_ok (a == b, "a freed block is reused for the next request of its size class");

  /* realloc: the same block while it fits, a copy when it grows */
  memcpy (b, "sprout", 7);
  tap_ok (t_realloc (b, 10) == b, "realloc to a smaller size keeps the block");
  c = t_realloc (b, 5000);
  tap_ok (c != NULL && strcmp ((char *) c, "sprout") == 0, "realloc to a larger size keeps the content");
  c = t_realloc (c, 200000);
  tap_ok (c != NULL && strcmp ((char *) c, "sprout") == 0, "realloc into a big block keeps the content");
  t_free (c);
  tap_ok (t_realloc (NULL, 8) != NULL, "realloc (NULL, n) allocates");

  /* calloc: zeroed even when it reuses a dirty block; overflow refused */
  a = t_malloc (256);
  memset (a, 0xAA, 256);
  t_free (a);
  b = t_calloc (32, 8);
  tap_ok (b == a && all (b, 256, 0), "calloc zeroes a reused block");
  errno = 0;
  tap_ok (t_calloc (SIZE_MAX / 2, 4) == NULL && errno == ENOMEM, "calloc refuses a size that overflows");
  errno = 0;
  tap_ok (t_malloc (SIZE_MAX - 8) == NULL && errno == ENOMEM, "malloc refuses a size it cannot map");

  /* alignment requests */
  tap_ok (t_posix_memalign (&m, 16, 100) == 0 && ((uintptr_t) m % 16) == 0, "posix_memalign (16) works");
  tap_ok (t_posix_memalign (&m, 64, 100) == EINVAL,
          "posix_memalign (64) says EINVAL (sprout asks for no more than 16)");
  errno = 0;
  tap_ok (t_aligned_alloc (32, 64) == NULL && errno == EINVAL, "aligned_alloc (32) says EINVAL");

  /* a random workload: every live block is checked against its fill before it goes */
  srand (7);
  for (int op = 0; op < 200000; op++)
    {
      int i = rand () % N_SLOTS;
      unsigned char fill = (unsigned char) (i * 7 + 1);

      if (slot[i] != NULL)
        {
          intact = intact && all (slot[i], len[i], fill);
          if (rand () % 3 == 0)
            {
              size_t n = (size_t) (rand () % 9000);
              unsigned char *r = t_realloc (slot[i], n);
              size_t keep = len[i] < n ? len[i] : n;
              intact = intact && r != NULL && all (r, keep, fill);
              memset (r, fill, n);
              slot[i] = r;
              len[i] = n;
              continue;
            }
          t_free (slot[i]);
          slot[i] = NULL;
          continue;
        }
      len[i] = (size_t) (rand () % (rand () % 50 == 0 ? 100000 : 2000));
      slot[i] = t_malloc (len[i]);
      if (slot[i] == NULL)
        {
          intact = false;
          break;
        }
      memset (slot[i], fill, len[i]);
    }
  tap_ok (intact, "200000 random malloc/realloc/free: every block kept its bytes");
  return tap_done ();
}
