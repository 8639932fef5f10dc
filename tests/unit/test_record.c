/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_record.c: the cache's record format (record.h): hostile strings round-trip,
 * anything malformed or cut short is refused with one message. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "cache/record.h"
#include "util.h"
#include "tap.h"

/* Parse text; 0 or -1, the error freed. */
static int
parse_ok (const char *text)
{
  struct sp_record r;
  sp_error_t err = NULL;
  int ret = sp_record_parse (text, strlen (text), &r, &err);

  if (ret < 0 && (err == NULL || err->msg == NULL || *err->msg == '\0'))
    ret = -2; /* refused without saying why */
  sp_error_free (&err);
  sp_record_free (&r);
  return ret;
}

int
main (void)
{
  static const char *const hostile[] = {
    "",
    "plain",
    "two\nlines",
    "\n",
    "\\",
    "\\n",
    "\\\\n",
    "tab\there",
    "a=b=c",
    " leading and trailing ",
    "\xff\xfe not UTF-8 \x80",
    "end",
    "\nend\n",
    "sprout-record 1",
    "key value\n",
    "\r\n",
    "\x01\x7f",
    NULL,
  };
  size_t n = sizeof (hostile) / sizeof (hostile[0]) - 1;
  struct sp_record_writer w;
  struct sp_record r;
  sp_error_t err = NULL;
  char **v;
  char *text;
  bool all = true;

  /* ---- round trip: every hostile value, as single fields and as a list */
  sp_record_begin (&w);
  for (size_t i = 0; i < n; i++)
    {
      char key[16];
      snprintf (key, sizeof (key), "k%zu", i);
      sp_record_add (&w, key, hostile[i]);
    }
  sp_record_add_strv (&w, "list", (char *const *) hostile);
  sp_record_add (&w, "absent", NULL);
  sp_record_addf (&w, "num", "%d", 42);
  text = sp_record_end (&w);
  tap_ok (strncmp (text, SP_RECORD_MAGIC "\n", strlen (SP_RECORD_MAGIC) + 1) == 0,
          "a record starts with its format line");
  tap_ok (strlen (text) > 4 && strcmp (text + strlen (text) - 4, "end\n") == 0, "... and ends with \"end\"");
  TAP_IS_INT (sp_record_parse (text, strlen (text), &r, &err), 0, "the writer's output parses");
  for (size_t i = 0; i < n; i++)
    {
      char key[16];
      snprintf (key, sizeof (key), "k%zu", i);
      if (sp_record_get (&r, key) == NULL || strcmp (sp_record_get (&r, key), hostile[i]) != 0)
        {
          all = false;
          tap_ok (0, "value %zu round-trips", i);
        }
    }
  tap_ok (all, "%zu hostile values (newlines, backslashes, tabs, '=', non-UTF-8, \"end\") round-trip", n);
  v = sp_record_strv (&r, "list");
  all = v != NULL && sp_strv_len (v) == n;
  for (size_t i = 0; all && i < n; i++)
    all = strcmp (v[i], hostile[i]) == 0;
  tap_ok (all, "a list of them round-trips in order");
  sp_strv_free (v);
  tap_ok (sp_record_strv (&r, "absent") == NULL && sp_record_get (&r, "absent") == NULL, "a NULL value writes nothing");
  tap_ok (sp_record_get (&r, "num") != NULL && strcmp (sp_record_get (&r, "num"), "42") == 0, "a formatted field");
  tap_ok (sp_record_has (&r, "list", "two\nlines") && !sp_record_has (&r, "list", "two"), "has: exact values only");
  sp_record_free (&r);

  /* ---- cut short anywhere: refused (a writer's record is never half-read) */
  all = true;
  for (size_t len = 0; len < strlen (text); len++)
    {
      sp_error_t e = NULL;
      if (sp_record_parse (text, len, &r, &e) == 0 || e == NULL)
        {
          all = false;
          tap_ok (0, "cut at %zu bytes is refused", len);
        }
      sp_error_free (&e);
      sp_record_free (&r);
    }
  tap_ok (all, "the record cut at every one of its %zu lengths is refused", strlen (text));
  free (text);

  /* ---- malformed */
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nend\n"), 0, "an empty record is valid");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkey \nend\n"), 0, "an empty value is valid");
  TAP_IS_INT (parse_ok (""), -1, "empty text is refused");
  TAP_IS_INT (parse_ok ("{\"digest\": \"sha256:00\"}\n"), -1, "JSON (a format 1 file) is refused");
  TAP_IS_INT (parse_ok ("sprout-record 2\nend\n"), -1, "another version is refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkey value\n"), -1, "no final end line: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkey value\nend\nmore x\n"), -1, "something after end: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkey value\nend"), -1, "end without its newline: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkeyvalue\nend\n"), -1, "a line without a space: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\n value\nend\n"), -1, "an empty key: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nKey value\nend\n"), -1, "a key outside [a-z0-9-]: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkey a\\tb\nend\n"), -1, "an unknown escape: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nend 1\nend\n"), -1,
              "\"end\" as a key (the writer never writes one): refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\nkey ends in \\\nend\n"), -1, "a lone backslash at the end: refused");
  TAP_IS_INT (parse_ok (SP_RECORD_MAGIC "\r\nend\n"), -1, "a CRLF format line: refused");
  {
    static const char nul[] = SP_RECORD_MAGIC "\nkey a\0b\nend\n";
    sp_error_t e = NULL;
    TAP_IS_INT (sp_record_parse (nul, sizeof (nul) - 1, &r, &e), -1, "a NUL byte: refused");
    tap_ok (e != NULL && strstr (e->msg, "NUL") != NULL, "... saying so: %s", e ? e->msg : "(none)");
    sp_error_free (&e);
  }
  {
    sp_error_t e = NULL;
    static const char bad[] = SP_RECORD_MAGIC "\na 1\nb 2\nc \\x\nend\n";
    sp_record_parse (bad, strlen (bad), &r, &e);
    tap_ok (e != NULL && strstr (e->msg, "line 4") != NULL, "the error names the line: %s", e ? e->msg : "(none)");
    sp_error_free (&e);
  }
  return tap_done ();
}
