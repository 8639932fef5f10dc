/* SPDX-License-Identifier: GPL-2.0-or-later */
/* request.c: the proxy's request body, parsed from bytes (see proxy.h). It is what the
 * handler reads from a container's client, so it trusts nothing: every string is bounded
 * by the buffer and every count by the strings actually present. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "proxy/proxy.h"
#include "util.h"

/* The next NUL-terminated string at *p (below end), advancing *p past it; NULL at end. */
static const char *
next_string (const char **p, const char *end)
{
  const char *s = *p;

  if (s >= end)
    return NULL;
  *p = s + strlen (s) + 1; /* the caller checked that the buffer ends with a NUL */
  return s;
}

/* ARGC as sent: decimal digits only, from 1 to max. */
static int
parse_count (const char *s, size_t max, size_t *out, sp_error_t *err)
{
  size_t v = 0;

  if (*s == '\0' || strspn (s, "0123456789") != strlen (s) || strlen (s) > 9)
    return sp_error_make (err, 0, "argument count '%.32s' is not a decimal number", s);
  for (const char *p = s; *p; p++)
    v = v * 10 + (size_t) (*p - '0');
  if (v < 1)
    return sp_error_make (err, 0, "argument count 0: argv[0] is missing");
  if (v > max)
    return sp_error_make (err, 0, "argument count %zu but %zu arguments sent", v, max);
  *out = v;
  return 0;
}

int
sp_proxy_request_parse (const char *buf, size_t len, struct sp_proxy_request *req, sp_error_t *err)
{
  const char *p = buf, *end = buf + len, *count;
  size_t n_strings = 0;

  memset (req, 0, sizeof (*req));
  if (len > SP_PROXY_MAX_REQUEST)
    return sp_error_make (err, 0, "request of %zu bytes (at most %u)", len, SP_PROXY_MAX_REQUEST);
  if (len == 0)
    return sp_error_make (err, 0, "empty request");
  if (buf[len - 1] != '\0')
    return sp_error_make (err, 0, "request truncated: its last string has no NUL");
  for (const char *q = buf; q < end; q += strlen (q) + 1)
    n_strings++;
  req->name = next_string (&p, end);
  req->cwd = next_string (&p, end);
  count = next_string (&p, end);
  if (count == NULL)
    {
      sp_error_make (err, 0, "request truncated: %zu of the 3 leading strings (name, cwd, argc)", n_strings);
      goto fail;
    }
  if (*req->name == '\0' || strchr (req->name, '/') != NULL)
    {
      sp_error_make (err, 0, "command name '%.64s' is empty or has a '/'", req->name);
      goto fail;
    }
  if (req->cwd[0] != '/')
    {
      sp_error_make (err, 0, "working directory '%.64s' is not absolute", req->cwd);
      goto fail;
    }
  if (parse_count (count, n_strings - 3, &req->argc, err) < 0)
    goto fail;
  req->argv = xcalloc (req->argc + 1, sizeof (char *));
  for (size_t i = 0; i < req->argc; i++)
    req->argv[i] = (char *) next_string (&p, end);
  req->env = xcalloc (n_strings - 3 - req->argc + 1, sizeof (char *));
  for (const char *e; (e = next_string (&p, end)) != NULL;)
    if (e[0] != '=' && strchr (e, '=') != NULL)
      req->env[req->n_env++] = (char *) e;
  return 0;

fail:
  sp_proxy_request_clear (req);
  return -1;
}

void
sp_proxy_request_clear (struct sp_proxy_request *req)
{
  free (req->argv);
  free (req->env);
  memset (req, 0, sizeof (*req));
}
