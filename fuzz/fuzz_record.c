/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_record.c: libFuzzer target for the cache's record format (helper/cache/record.c),
 * which `sprout` parses on every warm start. Any input either is refused with a message
 * or parses; a parsed record written again by the writer parses to the same fields. */
#include "config.h"
#include "cache/record.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sp_record r, again;
  struct sp_record_writer w;
  sp_error_t err = NULL;
  char *text;

  if (sp_record_parse ((const char *) data, size, &r, &err) < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort (); /* refused without a message */
      sp_error_free (&err);
      return 0;
    }
  sp_record_begin (&w);
  for (size_t i = 0; i < r.n; i++)
    sp_record_add (&w, r.fields[i].key, r.fields[i].value);
  text = sp_record_end (&w);
  if (sp_record_parse (text, strlen (text), &again, &err) < 0 || again.n != r.n)
    abort ();
  for (size_t i = 0; i < r.n; i++)
    if (strcmp (r.fields[i].key, again.fields[i].key) != 0 || strcmp (r.fields[i].value, again.fields[i].value) != 0)
      abort ();
  free (text);
  sp_record_free (&again);
  sp_record_free (&r);
  return 0;
}
