/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline.h: one layer's bytes on their way to the tar reader: blob -> sha256 of the
 * compressed bytes -> decoder -> sha256 of the tar (the diff_id) -> libarchive. Two
 * buffers of SP_PIPELINE_BUF bytes carry the stream; nothing holds a layer. */
#ifndef SPROUT_PIPELINE_H
#define SPROUT_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "import/decompress.h"
#include "import/digest.h"

#define SP_PIPELINE_BUF (1u << 20)

struct archive;
struct sp_reader;
struct sp_layer;

struct sp_pipeline {
  struct sp_reader *r;
  struct sp_decoder *dec; /* NULL for an uncompressed layer */
  struct sp_digest cdig, udig;
  uint8_t *inbuf, *outbuf;                      /* SP_PIPELINE_BUF bytes each, not owned */
  void (*progress) (void *ctx, uint64_t bytes); /* compressed bytes read, or NULL */
  void *progress_ctx;
  const uint8_t *in;
  size_t in_len;
  bool in_eof, done;
  uint64_t c_bytes, u_bytes;
  sp_error_t err; /* why the stream failed, for the tar reader's caller */
};

/* Set up p to read r with compression comp through the two buffers. 0 or -1 with
 * *err; sp_pipeline_free is needed either way. */
int sp_pipeline_init (struct sp_pipeline *p, struct sp_reader *r, enum sp_compression comp, uint8_t *inbuf,
                      uint8_t *outbuf, sp_error_t *err);

/* The next block of tar in *buf: its length, 0 at the end, or -1 with p->err. */
ssize_t sp_pipeline_next (struct sp_pipeline *p, const void **buf);

/* libarchive's read callback over sp_pipeline_next (ctx is the pipeline). */
ssize_t sp_pipeline_read_cb (struct archive *a, void *ctx, const void **buf);

/* Did the stream end cleanly (every byte read, the decoder satisfied)? */
bool sp_pipeline_ended (const struct sp_pipeline *p);

/* After the tar's end: hash what is left, then check the compressed size and digest
 * against layer (where it knows them) and the tar's digest against diff_id. 0, or -1
 * with *err naming what (the layer) and what does not match. */
int sp_pipeline_verify (struct sp_pipeline *p, const struct sp_layer *layer, const char *diff_id, const char *what,
                        sp_error_t *err);

/* Free the decoder, digests and error; harmless on a zeroed struct. */
void sp_pipeline_free (struct sp_pipeline *p);

#endif
