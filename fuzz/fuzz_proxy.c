/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_proxy.c: libFuzzer target for the Slurm proxy's request parser
 * (helper/proxy/request.c): the input is a request body as a client in a container
 * could send it. A parsed request must hold what the parser promises. */
#include "config.h"
#include "proxy/proxy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct sp_proxy_request req;
  sp_error_t err = NULL;
  /* a copy of exactly size bytes, so that ASan sees any read past the end */
  char *buf = malloc (size ? size : 1);

  if (buf == NULL)
    return 0;
  memcpy (buf, data, size);
  if (sp_proxy_request_parse (buf, size, &req, &err) == 0)
    {
      if (req.argc < 1 || req.argv[req.argc] != NULL || req.env[req.n_env] != NULL || req.cwd[0] != '/'
          || req.name[0] == '\0' || strchr (req.name, '/') != NULL)
        abort ();
      for (size_t i = 0; i < req.argc; i++)
        if (req.argv[i] < buf || req.argv[i] >= buf + size)
          abort ();
      for (size_t i = 0; i < req.n_env; i++)
        if (strchr (req.env[i], '=') == NULL || req.env[i][0] == '=')
          abort ();
      sp_proxy_request_clear (&req);
    }
  else if (err == NULL || err->msg == NULL || req.argv != NULL || req.env != NULL)
    abort ();
  sp_error_free (&err);
  free (buf);
  return 0;
}
