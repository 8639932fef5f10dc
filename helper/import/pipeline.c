/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline.c: see pipeline.h. */
#include "config.h"
#include "import/pipeline.h"
#include "import/oci.h"
#include "import/source.h"

#include <archive.h>
#include <errno.h>
#include <string.h>

int
sp_pipeline_init (struct sp_pipeline *p, struct sp_reader *r, enum sp_compression comp, uint8_t *inbuf, uint8_t *outbuf,
                  sp_error_t *err)
{
  memset (p, 0, sizeof (*p));
  p->r = r;
  p->inbuf = inbuf;
  p->outbuf = outbuf;
  if (sp_digest_init (&p->cdig, err) < 0 || sp_digest_init (&p->udig, err) < 0)
    return -1;
  if (comp != SP_COMP_NONE)
    {
      p->dec = sp_decoder_new (comp, err);
      if (p->dec == NULL)
        return -1;
    }
  return 0;
}

ssize_t
sp_pipeline_next (struct sp_pipeline *p, const void **buf)
{
  for (;;)
    {
      ssize_t n;

      if (p->in_len == 0 && !p->in_eof)
        {
          n = sp_reader_read (p->r, p->inbuf, SP_PIPELINE_BUF, &p->err);
          if (n < 0)
            return -1;
          if (n == 0)
            p->in_eof = true;
          else
            {
              sp_digest_update (&p->cdig, p->inbuf, (size_t) n);
              p->c_bytes += (uint64_t) n;
              if (p->progress != NULL)
                p->progress (p->progress_ctx, (uint64_t) n);
              p->in = p->inbuf;
              p->in_len = (size_t) n;
            }
        }
      if (p->in_len == 0 && p->in_eof)
        {
          if (p->dec != NULL && !p->done && sp_decoder_finish (p->dec, &p->err) < 0)
            return -1;
          p->done = true;
          return 0;
        }
      if (p->dec == NULL)
        {
          n = (ssize_t) p->in_len;
          *buf = p->in;
          p->in_len = 0;
        }
      else
        {
          n = sp_decoder_run (p->dec, &p->in, &p->in_len, p->outbuf, SP_PIPELINE_BUF, &p->err);
          if (n < 0)
            return -1;
          if (n == 0)
            continue;
          *buf = p->outbuf;
        }
      sp_digest_update (&p->udig, *buf, (size_t) n);
      p->u_bytes += (uint64_t) n;
      return n;
    }
}

ssize_t
sp_pipeline_read_cb (struct archive *a, void *ctx, const void **buf)
{
  struct sp_pipeline *p = ctx;
  ssize_t n = sp_pipeline_next (p, buf);

  if (n < 0)
    archive_set_error (a, p->err && p->err->errnum ? p->err->errnum : EIO, "%s", p->err ? p->err->msg : "read error");
  return n;
}

bool
sp_pipeline_ended (const struct sp_pipeline *p)
{
  return p->err == NULL && p->done;
}

int
sp_pipeline_verify (struct sp_pipeline *p, const struct sp_layer *layer, const char *diff_id, const char *what,
                    sp_error_t *err)
{
  char cgot[SP_DIGEST_LEN + 1], ugot[SP_DIGEST_LEN + 1];

  /* past the tar's end marker: hash the rest so the digests cover every byte */
  for (;;)
    {
      const void *buf;
      ssize_t n = sp_pipeline_next (p, &buf);
      if (n < 0)
        return sp_error_make (err, 0, "%s: %s", what, p->err ? p->err->msg : "read error");
      if (n == 0)
        break;
    }
  sp_digest_final (&p->cdig, cgot);
  sp_digest_final (&p->udig, ugot);
  if (layer->size >= 0 && (uint64_t) layer->size != p->c_bytes)
    return sp_error_make (err, 0, "%s: size is %llu, its descriptor says %lld", what, (unsigned long long) p->c_bytes,
                          (long long) layer->size);
  if (layer->digest != NULL && strcmp (layer->digest, cgot) != 0)
    return sp_error_make (err, 0, "%s: digest mismatch (content hashes to %s)", what, cgot);
  if (strcmp (diff_id, ugot) != 0)
    return sp_error_make (err, 0, "%s: uncompressed content does not match diff_id %s (it hashes to %s)", what, diff_id,
                          ugot);
  return 0;
}

void
sp_pipeline_free (struct sp_pipeline *p)
{
  sp_decoder_free (p->dec);
  p->dec = NULL;
  sp_digest_free (&p->cdig);
  sp_digest_free (&p->udig);
  sp_error_free (&p->err);
}
