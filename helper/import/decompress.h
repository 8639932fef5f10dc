/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decompress.h: streaming layer decompression: gzip (ISA-L igzip when built with
 * HAVE_ISAL, zlib otherwise), zstd, or none. Multi-member gzip and multi-frame zstd
 * are accepted; a stream cut short is an error. */
#ifndef SPROUT_DECOMPRESS_H
#define SPROUT_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

enum sp_compression {
  SP_COMP_AUTO, /* sniff the first bytes (docker-archive layers carry no media type) */
  SP_COMP_NONE,
  SP_COMP_GZIP,
  SP_COMP_ZSTD,
};

struct sp_decoder;

/* Name of a compression for messages ("gzip", "zstd", "none", "auto"). */
const char *sp_compression_name (enum sp_compression c);

/* The compression whose magic number starts buf (SP_COMP_NONE if none matches). */
enum sp_compression sp_compression_sniff (const uint8_t *buf, size_t len);

/* A new decoder for c. NULL with *err on failure. */
struct sp_decoder *sp_decoder_new (enum sp_compression c, sp_error_t *err);

/* Decode from *in (*in_len bytes; both advanced past what was consumed) into out
 * (out_cap bytes). Returns the number of bytes written to out (0 when it needs more
 * input), or -1 with *err on corrupt data. */
ssize_t sp_decoder_run (struct sp_decoder *d, const uint8_t **in, size_t *in_len, uint8_t *out, size_t out_cap,
                        sp_error_t *err);

/* At end of input: 0 if the stream ended cleanly, -1 with *err if it was cut short. */
int sp_decoder_finish (struct sp_decoder *d, sp_error_t *err);

/* Free a decoder; harmless on NULL. */
void sp_decoder_free (struct sp_decoder *d);

#endif
