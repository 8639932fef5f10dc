/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_proxy.c: the Slurm proxy's request parser (helper/proxy/request.c), on good
 * requests and on what a hostile or broken client could send. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "proxy/proxy.h"
#include "util.h"
#include "tap.h"

/* Build a request body from n strings (each with its NUL) into buf; its length. */
static size_t
body (char *buf, size_t cap, const char *const *s, size_t n)
{
  size_t len = 0;

  for (size_t i = 0; i < n; i++)
    {
      size_t l = strlen (s[i]) + 1;
      if (len + l > cap)
        abort ();
      memcpy (buf + len, s[i], l);
      len += l;
    }
  return len;
}

/* Parse and expect a refusal whose message contains want. */
static void
refused (const char *buf, size_t len, const char *want, const char *what)
{
  struct sp_proxy_request req;
  sp_error_t err = NULL;
  int r = sp_proxy_request_parse (buf, len, &req, &err);

  tap_ok (r == -1 && err != NULL && strstr (err->msg, want) != NULL && req.argv == NULL && req.name == NULL,
          "%s: refused, '%s' (got %d: %s)", what, want, r, err != NULL ? err->msg : "no error");
  sp_error_free (&err);
}

int
main (void)
{
  static char buf[1 << 16];
  struct sp_proxy_request req;
  sp_error_t err = NULL;
  size_t len;

  {
    const char *const s[] = { "srun", "/home/u", "3", "srun", "-n2", "hostname", "A=1", "SLURM_JOB_ID=7", "B=" };
    len = body (buf, sizeof (buf), s, 9);
    TAP_IS_INT (sp_proxy_request_parse (buf, len, &req, &err), 0, "a good request parses");
    tap_ok (req.name != NULL && strcmp (req.name, "srun") == 0 && strcmp (req.cwd, "/home/u") == 0, "name and cwd");
    TAP_IS_INT (req.argc, 3, "argc");
    tap_ok (strcmp (req.argv[0], "srun") == 0 && strcmp (req.argv[2], "hostname") == 0 && req.argv[3] == NULL,
            "argv, NULL-terminated");
    TAP_IS_INT (req.n_env, 3, "three variables");
    tap_ok (strcmp (req.env[1], "SLURM_JOB_ID=7") == 0 && strcmp (req.env[2], "B=") == 0 && req.env[3] == NULL,
            "environment in order, empty value kept, NULL-terminated");
    sp_proxy_request_clear (&req);
    tap_ok (req.argv == NULL && req.env == NULL && req.name == NULL, "clear empties the request");
  }
  {
    const char *const s[] = { "squeue", "/", "1", "squeue" };
    len = body (buf, sizeof (buf), s, 4);
    TAP_IS_INT (sp_proxy_request_parse (buf, len, &req, &err), 0, "no environment at all is a request");
    TAP_IS_INT (req.n_env, 0, "no variables");
    tap_ok (req.env != NULL && req.env[0] == NULL, "an empty, NULL-terminated environment");
    sp_proxy_request_clear (&req);
  }
  {
    /* argv may hold anything but NUL: '=' signs, empty strings, newlines, shell syntax */
    const char *const s[] = { "sbatch",   "/tmp",       "5",
                              "sbatch",   "",           "--wrap=a=b; rm -rf /",
                              "x\ny",     "PATH=/evil", "PATH=/usr/bin",
                              "NOEQUALS", "=nonsense",  "LD_PRELOAD=/x.so" };
    len = body (buf, sizeof (buf), s, 12);
    TAP_IS_INT (sp_proxy_request_parse (buf, len, &req, &err), 0, "hostile but well-formed arguments parse");
    tap_ok (req.argc == 5 && strcmp (req.argv[1], "") == 0 && strcmp (req.argv[4], "PATH=/evil") == 0,
            "an argument that looks like a variable stays an argument");
    TAP_IS_INT (req.n_env, 2, "entries without NAME= are left out of the environment");
    tap_ok (strcmp (req.env[0], "PATH=/usr/bin") == 0 && strcmp (req.env[1], "LD_PRELOAD=/x.so") == 0,
            "the parser keeps PATH and LD_* (the handler replaces and drops them)");
    sp_proxy_request_clear (&req);
  }

  refused (buf, 0, "empty request", "nothing");
  refused ("srun\0/\0001\0srun", sizeof ("srun\0/\0001\0srun") - 1, "no NUL",
           "last string without its NUL (truncated)");
  refused ("srun\0/\0", 7, "leading strings", "truncated after cwd");
  refused ("srun\0", 5, "leading strings", "truncated after the name");
  {
    const char *const s[] = { "srun", "/", "4", "srun", "-n1" };
    len = body (buf, sizeof (buf), s, 5);
    refused (buf, len, "argument count 4 but 2 arguments sent", "argc larger than the arguments sent");
  }
  {
    const char *const s[] = { "srun", "/", "0" };
    len = body (buf, sizeof (buf), s, 3);
    refused (buf, len, "argv[0] is missing", "argc 0");
  }
  {
    static const char *const bad[] = { "-1", "+1", " 1", "1 ", "0x1", "", "1e3", "99999999999999999999", "١" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
      {
        const char *const s[] = { "srun", "/", bad[i], "srun" };
        len = body (buf, sizeof (buf), s, 4);
        refused (buf, len, "argument count", "argc not a plain decimal");
      }
  }
  {
    const char *const s[] = { "", "/", "1", "x" };
    len = body (buf, sizeof (buf), s, 4);
    refused (buf, len, "empty or has a '/'", "empty command name");
  }
  {
    const char *const s[] = { "../../bin/sh", "/", "1", "sh" };
    len = body (buf, sizeof (buf), s, 4);
    refused (buf, len, "empty or has a '/'", "command name with a '/'");
  }
  {
    const char *const s[] = { "srun", "home/u", "1", "srun" };
    len = body (buf, sizeof (buf), s, 4);
    refused (buf, len, "not absolute", "relative cwd");
  }
  {
    const char *const s[] = { "srun", "", "1", "srun" };
    len = body (buf, sizeof (buf), s, 4);
    refused (buf, len, "not absolute", "empty cwd");
  }
  {
    /* one byte over the limit; the parser must refuse before reading it */
    size_t big = SP_PROXY_MAX_REQUEST + 1;
    char *huge = xcalloc (big, 1);
    refused (huge, big, "at most", "oversized request");
    free (huge);
  }
  {
    /* the limit itself, all NULs: a name that is empty */
    size_t big = SP_PROXY_MAX_REQUEST;
    char *huge = xcalloc (big, 1);
    refused (huge, big, "empty or has a '/'", "a request of the maximum size, all NULs");
    free (huge);
  }
  {
    /* many arguments, counted right */
    size_t n = 100000, off = 0;
    char *many = xmalloc (n * 2 + 32);
    memcpy (many, "srun\0/\000100000", sizeof ("srun\0/\000100000"));
    off = sizeof ("srun\0/\000100000");
    for (size_t i = 0; i < n; i++)
      {
        many[off++] = 'a';
        many[off++] = '\0';
      }
    TAP_IS_INT (sp_proxy_request_parse (many, off, &req, &err), 0, "100000 arguments parse");
    TAP_IS_INT (req.argc, 100000, "all of them");
    TAP_IS_INT (req.n_env, 0, "and no variables");
    sp_proxy_request_clear (&req);
    free (many);
  }
  sp_error_free (&err);
  return tap_done ();
}
