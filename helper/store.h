/* store.h: the image store. Resolves an image reference (OCI layout, oci-archive,
 * docker-archive, OCI bundle, plain directory), verifies and unpacks it into the
 * per-user node-local cache, and lists, removes and prunes cache entries. */
#ifndef SPROUT_STORE_H
#define SPROUT_STORE_H

#include <stdbool.h>
#include "error.h"
#include "image.h"

struct sp_store_opts {
  const char *cache_dir;  /* NULL: $SPROUT_CACHE_DIR, else /var/tmp/sprout-$UID */
  int verbose;            /* 0 quiet about details, 1+ more */
  bool progress;          /* draw a progress bar on stderr (caller checks isatty) */
};

/* Make sure the image named by ref is unpacked in the cache (importing it when it
 * is not there yet: verified, atomic, one unpack per node under a lock) and fill
 * *img. Relative paths are taken against the current directory. */
int sp_image_get (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err);

/* Free what sp_image_get filled and drop its hold on the cache entry. */
void sp_image_release (struct sp_image *img);

#endif
