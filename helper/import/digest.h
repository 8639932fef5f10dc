/* SPDX-License-Identifier: GPL-2.0-or-later */
/* digest.h: streaming sha256 (OpenSSL EVP) and OCI digest strings "sha256:<64 hex>". */
#ifndef SPROUT_DIGEST_H
#define SPROUT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define SP_DIGEST_LEN 71 /* strlen ("sha256:") + 64 */

struct sp_digest {
  void *ctx; /* EVP_MD_CTX */
};

/* Start a sha256. 0 or -1 with *err. */
int sp_digest_init (struct sp_digest *d, sp_error_t *err);

/* Feed len bytes. */
void sp_digest_update (struct sp_digest *d, const void *buf, size_t len);

/* Finish: write "sha256:<hex>" (SP_DIGEST_LEN + 1 bytes) into out and free the context. */
void sp_digest_final (struct sp_digest *d, char out[SP_DIGEST_LEN + 1]);

/* Free the context without a result; harmless after final or on a zeroed struct. */
void sp_digest_free (struct sp_digest *d);

/* sha256 of a buffer as "sha256:<hex>". */
void sp_digest_buf (const void *buf, size_t len, char out[SP_DIGEST_LEN + 1]);

/* True if s is "sha256:" followed by exactly 64 lowercase hex digits. */
bool sp_digest_valid (const char *s);

/* The hex part of a valid digest (s + 7), or NULL when s is not valid. */
const char *sp_digest_hex (const char *s);

#endif
