/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pathset.c: see pathset.h. Linear probing, grown at half full. */
#include "config.h"
#include "import/pathset.h"
#include "util.h"

#include <string.h>

uint64_t
sp_hash_str (const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  return h;
}

static void
pathset_grow (struct sp_pathset *ps)
{
  size_t cap = ps->cap ? ps->cap * 2 : 1024;
  struct sp_pathset bigger = { xcalloc (cap, sizeof (char *)), cap, 0 };

  for (size_t i = 0; i < ps->cap; i++)
    if (ps->slot[i] != NULL)
      {
        sp_pathset_add (&bigger, ps->slot[i]);
        free (ps->slot[i]);
      }
  free (ps->slot);
  *ps = bigger;
}

void
sp_pathset_add (struct sp_pathset *ps, const char *s)
{
  size_t i;

  if (ps->n * 2 >= ps->cap)
    pathset_grow (ps);
  for (i = sp_hash_str (s) & (ps->cap - 1); ps->slot[i] != NULL; i = (i + 1) & (ps->cap - 1))
    if (strcmp (ps->slot[i], s) == 0)
      return;
  ps->slot[i] = xstrdup (s);
  ps->n++;
}

bool
sp_pathset_has (const struct sp_pathset *ps, const char *s)
{
  if (ps->cap == 0)
    return false;
  for (size_t i = sp_hash_str (s) & (ps->cap - 1); ps->slot[i] != NULL; i = (i + 1) & (ps->cap - 1))
    if (strcmp (ps->slot[i], s) == 0)
      return true;
  return false;
}

void
sp_pathset_clear (struct sp_pathset *ps)
{
  for (size_t i = 0; i < ps->cap; i++)
    free (ps->slot[i]);
  free (ps->slot);
  memset (ps, 0, sizeof (*ps));
}
