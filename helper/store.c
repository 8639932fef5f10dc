/* store.c: the image store (see store.h). Placeholder: the real store replaces this. */
#include "config.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
sp_image_get (const struct sp_store_opts *opts, const char *ref, struct sp_image *img, sp_error_t *err)
{
  char *abs;
  struct stat st;

  (void) opts;
  memset (img, 0, sizeof (*img));
  img->hold_fd = -1;
  abs = realpath (ref, NULL);
  if (abs == NULL || stat (abs, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      free (abs);
      return sp_error_make (err, errno ? errno : ENOTDIR, "%s", ref);
    }
  img->ref = xstrdup (ref);
  img->rootfs = abs;
  img->env = xcalloc (1, sizeof (char *));
  return 0;
}

void
sp_image_release (struct sp_image *img)
{
  free (img->ref);
  free (img->digest);
  free (img->rootfs);
  free (img->workdir);
  sp_strv_free (img->env);
  sp_strv_free (img->entrypoint);
  sp_strv_free (img->cmd);
  if (img->hold_fd >= 0)
    close (img->hold_fd);
  memset (img, 0, sizeof (*img));
  img->hold_fd = -1;
}
