/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_digest.c: sha256 streaming and digest-string validation. */
#include "config.h"
#include <string.h>
#include "import/digest.h"
#include "tap.h"

int
main (void)
{
  struct sp_digest d;
  sp_error_t err = NULL;
  char out[SP_DIGEST_LEN + 1], out2[SP_DIGEST_LEN + 1];
  static const char abc_sha[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

  TAP_IS_INT (sp_digest_init (&d, &err), 0, "init");
  sp_digest_update (&d, "a", 1);
  sp_digest_update (&d, "bc", 2);
  sp_digest_final (&d, out);
  tap_ok (strcmp (out, abc_sha) == 0, "streamed sha256 of \"abc\" in two pieces: %s", out);
  sp_digest_buf ("abc", 3, out2);
  tap_ok (strcmp (out2, abc_sha) == 0, "one-shot sha256 agrees");
  sp_digest_buf ("", 0, out2);
  tap_ok (strcmp (out2, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
          "sha256 of nothing");
  tap_ok (sp_digest_valid (abc_sha), "a valid digest");
  tap_ok (!sp_digest_valid ("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
          "upper-case hex is refused");
  tap_ok (!sp_digest_valid ("sha256:ba7816bf"), "a short digest is refused");
  tap_ok (!sp_digest_valid ("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "another algorithm is refused");
  tap_ok (!sp_digest_valid ("sha256:../../../../etc/passwd000000000000000000000000000000000000000000"),
          "path characters are refused");
  tap_ok (!sp_digest_valid (NULL), "NULL is refused");
  tap_ok (sp_digest_hex (abc_sha) == abc_sha + 7, "hex part");
  sp_digest_free (&d);
  return tap_done ();
}
