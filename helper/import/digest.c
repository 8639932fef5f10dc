/* SPDX-License-Identifier: GPL-2.0-or-later */
/* digest.c: see digest.h. */
#include "config.h"
#include "import/digest.h"

#include <openssl/evp.h>
#include <string.h>

int
sp_digest_init (struct sp_digest *d, sp_error_t *err)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();

  d->ctx = NULL;
  if (ctx == NULL || EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1)
    {
      EVP_MD_CTX_free (ctx);
      return sp_error_make (err, 0, "sha256: cannot initialise OpenSSL digest");
    }
  d->ctx = ctx;
  return 0;
}

void
sp_digest_update (struct sp_digest *d, const void *buf, size_t len)
{
  if (len > 0)
    EVP_DigestUpdate (d->ctx, buf, len);
}

static void
to_hex (const unsigned char *md, unsigned n, char out[SP_DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";

  memcpy (out, "sha256:", 7);
  for (unsigned i = 0; i < n && i < 32; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[8 + 2 * i] = hex[md[i] & 15];
    }
  out[SP_DIGEST_LEN] = '\0';
}

void
sp_digest_final (struct sp_digest *d, char out[SP_DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;

  EVP_DigestFinal_ex (d->ctx, md, &n);
  to_hex (md, n, out);
  sp_digest_free (d);
}

void
sp_digest_free (struct sp_digest *d)
{
  if (d->ctx != NULL)
    EVP_MD_CTX_free (d->ctx);
  d->ctx = NULL;
}

void
sp_digest_buf (const void *buf, size_t len, char out[SP_DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;

  EVP_Digest (buf, len, md, &n, EVP_sha256 (), NULL);
  to_hex (md, n, out);
}

bool
sp_digest_valid (const char *s)
{
  if (s == NULL || strncmp (s, "sha256:", 7) != 0 || strlen (s) != SP_DIGEST_LEN)
    return false;
  for (const char *p = s + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

const char *
sp_digest_hex (const char *s)
{
  return sp_digest_valid (s) ? s + 7 : NULL;
}
