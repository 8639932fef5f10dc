/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_error.c: the error convention: make, wrap, one-line print. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "error.h"
#include "tap.h"

int
main (void)
{
  sp_error_t err = NULL;

  TAP_IS_INT (sp_error_make (&err, ENOENT, "image %s", "py3.oci"), -1, "make returns -1");
  tap_ok (err != NULL && strcmp (err->msg, "image py3.oci: No such file or directory") == 0,
          "message names the thing, then strerror: %s", err ? err->msg : "(null)");
  sp_error_wrap (&err, "import");
  tap_ok (strcmp (err->msg, "import: image py3.oci: No such file or directory") == 0, "wrap prefixes context");
  TAP_IS_INT (err->errnum, ENOENT, "errno kept");
  sp_error_free (&err);
  tap_ok (err == NULL, "free clears the pointer");
  TAP_IS_INT (sp_error_wrap (&err, "nothing"), -1, "wrap of no error is harmless");
  return tap_done ();
}
