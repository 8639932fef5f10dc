/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decompress.c: see decompress.h. One decoder object wraps the three codecs so the
 * layer pipeline (layer.c) treats them alike. */
#include "config.h"
#include "import/decompress.h"
#include "util.h"

#include <string.h>
#include <zstd.h>
#ifdef HAVE_ISAL
# include <isa-l/igzip_lib.h>
#else
# include <zlib.h>
#endif

struct sp_decoder {
  enum sp_compression comp;
  bool started;    /* AUTO: sniffed; gzip/zstd: at least one byte seen */
  bool member_end; /* the current gzip member / zstd frame is complete */
  ZSTD_DStream *zs;
#ifdef HAVE_ISAL
  struct inflate_state *is;
#else
  z_stream *z;
#endif
};

const char *
sp_compression_name (enum sp_compression c)
{
  switch (c)
    {
    case SP_COMP_NONE:
      return "none";
    case SP_COMP_GZIP:
      return "gzip";
    case SP_COMP_ZSTD:
      return "zstd";
    default:
      return "auto";
    }
}

enum sp_compression
sp_compression_sniff (const uint8_t *buf, size_t len)
{
  if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
    return SP_COMP_GZIP;
  if (len >= 4 && buf[0] == 0x28 && buf[1] == 0xb5 && buf[2] == 0x2f && buf[3] == 0xfd)
    return SP_COMP_ZSTD;
  return SP_COMP_NONE;
}

static int
decoder_setup (struct sp_decoder *d, sp_error_t *err)
{
  switch (d->comp)
    {
    case SP_COMP_ZSTD:
      d->zs = ZSTD_createDStream ();
      if (d->zs == NULL || ZSTD_isError (ZSTD_initDStream (d->zs)))
        return sp_error_make (err, 0, "zstd: cannot create decoder");
      break;
    case SP_COMP_GZIP:
#ifdef HAVE_ISAL
      d->is = xmalloc (sizeof (*d->is));
      isal_inflate_init (d->is);
      d->is->crc_flag = ISAL_GZIP;
#else
      d->z = xcalloc (1, sizeof (*d->z));
      if (inflateInit2 (d->z, 16 + MAX_WBITS) != Z_OK)
        return sp_error_make (err, 0, "gzip: cannot create decoder");
#endif
      break;
    default:
      break;
    }
  return 0;
}

struct sp_decoder *
sp_decoder_new (enum sp_compression c, sp_error_t *err)
{
  struct sp_decoder *d = xcalloc (1, sizeof (*d));

  d->comp = c;
  if (c != SP_COMP_AUTO && decoder_setup (d, err) < 0)
    {
      sp_decoder_free (d);
      return NULL;
    }
  return d;
}

static ssize_t
run_zstd (struct sp_decoder *d, const uint8_t **in, size_t *in_len, uint8_t *out, size_t out_cap, sp_error_t *err)
{
  ZSTD_inBuffer ib = { *in, *in_len, 0 };
  ZSTD_outBuffer ob = { out, out_cap, 0 };
  size_t r = ZSTD_decompressStream (d->zs, &ob, &ib);

  *in += ib.pos;
  *in_len -= ib.pos;
  if (ZSTD_isError (r))
    return sp_error_make (err, 0, "zstd: corrupt data: %s", ZSTD_getErrorName (r));
  if (ib.pos > 0 || ob.pos > 0)
    d->member_end = (r == 0);
  return (ssize_t) ob.pos;
}

#ifdef HAVE_ISAL
static ssize_t
run_gzip (struct sp_decoder *d, const uint8_t **in, size_t *in_len, uint8_t *out, size_t out_cap, sp_error_t *err)
{
  struct inflate_state *s = d->is;
  int r;

  if (d->member_end)
    {
      if (*in_len == 0)
        return 0;
      /* another gzip member follows (pigz and friends write several) */
      isal_inflate_reset (s);
      s->crc_flag = ISAL_GZIP;
      d->member_end = false;
    }
  s->next_in = (uint8_t *) *in;
  s->avail_in = (uint32_t) (*in_len > UINT32_MAX ? UINT32_MAX : *in_len);
  s->next_out = out;
  s->avail_out = (uint32_t) (out_cap > UINT32_MAX ? UINT32_MAX : out_cap);
  r = isal_inflate (s);
  *in_len -= (size_t) (s->next_in - *in);
  *in = s->next_in;
  if (r < 0)
    return sp_error_make (err, 0, "gzip: corrupt data (igzip error %d)", r);
  if (s->block_state == ISAL_BLOCK_FINISH)
    d->member_end = true;
  return (ssize_t) (s->next_out - out);
}
#else
static ssize_t
run_gzip (struct sp_decoder *d, const uint8_t **in, size_t *in_len, uint8_t *out, size_t out_cap, sp_error_t *err)
{
  z_stream *z = d->z;
  int r;

  if (d->member_end)
    {
      if (*in_len == 0)
        return 0;
      inflateReset (z);
      d->member_end = false;
    }
  z->next_in = (Bytef *) *in;
  z->avail_in = (uInt) (*in_len > UINT32_MAX ? UINT32_MAX : *in_len);
  z->next_out = out;
  z->avail_out = (uInt) (out_cap > UINT32_MAX ? UINT32_MAX : out_cap);
  r = inflate (z, Z_NO_FLUSH);
  *in_len -= (size_t) (z->next_in - *in);
  *in = z->next_in;
  if (r == Z_STREAM_END)
    d->member_end = true;
  else if (r != Z_OK && r != Z_BUF_ERROR)
    return sp_error_make (err, 0, "gzip: corrupt data: %s", z->msg ? z->msg : "inflate failed");
  return (ssize_t) (z->next_out - out);
}
#endif

ssize_t
sp_decoder_run (struct sp_decoder *d, const uint8_t **in, size_t *in_len, uint8_t *out, size_t out_cap, sp_error_t *err)
{
  if (d->comp == SP_COMP_AUTO)
    {
      if (*in_len == 0)
        return 0;
      d->comp = sp_compression_sniff (*in, *in_len);
      if (decoder_setup (d, err) < 0)
        return -1;
    }
  if (*in_len > 0)
    d->started = true;
  switch (d->comp)
    {
    case SP_COMP_GZIP:
      return run_gzip (d, in, in_len, out, out_cap, err);
    case SP_COMP_ZSTD:
      return run_zstd (d, in, in_len, out, out_cap, err);
    default:
      {
        size_t n = *in_len < out_cap ? *in_len : out_cap;
        memcpy (out, *in, n);
        *in += n;
        *in_len -= n;
        return (ssize_t) n;
      }
    }
}

int
sp_decoder_finish (struct sp_decoder *d, sp_error_t *err)
{
  if (d->comp == SP_COMP_NONE || d->comp == SP_COMP_AUTO)
    return 0;
  if (!d->started)
    return sp_error_make (err, 0, "%s: empty stream", sp_compression_name (d->comp));
  if (!d->member_end)
    return sp_error_make (err, 0, "%s: unexpected end of data (truncated)", sp_compression_name (d->comp));
  return 0;
}

void
sp_decoder_free (struct sp_decoder *d)
{
  if (d == NULL)
    return;
  if (d->zs != NULL)
    ZSTD_freeDStream (d->zs);
#ifdef HAVE_ISAL
  free (d->is);
#else
  if (d->z != NULL)
    {
      inflateEnd (d->z);
      free (d->z);
    }
#endif
  free (d);
}
