/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_user.c: what sprout reads from nsswitch.conf to decide whether /etc/passwd and
 * /etc/group answer for the user or NSS must be asked (helper/runtime/user.c). */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "runtime/user.h"
#include "tap.h"

/* Expect (files_first, only_local) for db in conf. */
static void
expect (const char *conf, const char *db, bool files_first, bool only_local, const char *what)
{
  bool ff = !files_first, ol = !only_local;

  sp_user_nss_sources (conf, db, &ff, &ol);
  tap_ok (ff == files_first && ol == only_local, "%s: files first %d, only local %d (got %d, %d)", what, files_first,
          only_local, ff, ol);
}

int
main (void)
{
  expect (NULL, "passwd", true, true, "no nsswitch.conf: glibc's default, files");
  expect ("", "passwd", true, true, "an empty file");
  expect ("group: sss\n", "passwd", true, true, "no passwd line: files");
  expect ("passwd: files\ngroup: files\n", "passwd", true, true, "files alone");
  expect ("passwd: files systemd\n", "passwd", true, true, "files, then systemd: all local");
  expect ("passwd: compat\n", "passwd", true, true, "compat counts as files");
  expect ("passwd: files sss\n", "passwd", true, false, "files first, then sss");
  expect ("passwd: sss files\n", "passwd", false, false, "files after another module: ask NSS");
  expect ("passwd: ldap\n", "passwd", false, false, "only a network module");
  expect ("passwd: systemd files\n", "passwd", true, true, "systemd (local) before files");
  expect ("passwd:\n", "passwd", false, true, "a line with no source");
  expect ("# passwd: sss\npasswd: files\n", "passwd", true, true, "a commented-out line is skipped");
  expect ("passwd: files # sss ldap\n", "passwd", true, true, "a comment after the sources");
  expect ("#passwd: files\npasswd: sss\n", "passwd", false, false, "a comment does not answer for the db");
  expect ("   passwd:\t files\t\tsss  \n", "passwd", true, false, "leading blanks, tabs, runs of spaces");
  expect ("passwd:files\n", "passwd", true, true, "no space after the colon");
  expect ("passwd: files\r\n", "passwd", true, true, "a CRLF line end");
  expect ("passwd: files", "passwd", true, true, "no newline at the end of the file");
  expect ("passwd_compat: sss\npasswd: files\n", "passwd", true, true, "a db whose name starts like passwd");
  expect ("passwd: files\npasswd: sss\n", "passwd", true, true, "the first line for the db counts");
  expect ("passwd: files [NOTFOUND=return] sss\n", "passwd", true, true,
          "files [NOTFOUND=return]: what files lacks is the answer");
  expect ("passwd: files [notfound=RETURN] ldap\n", "passwd", true, true, "actions are case-insensitive");
  expect ("passwd: files [SUCCESS=return NOTFOUND=return] sss\n", "passwd", true, true, "two actions in one bracket");
  expect ("passwd: files [!NOTFOUND=return] sss\n", "passwd", true, false, "a negated status does not stop");
  expect ("passwd: files [UNAVAIL=return] sss\n", "passwd", true, false, "another status does not stop");
  expect ("passwd: sss [NOTFOUND=return] files\n", "passwd", false, false, "an action after sss is not files'");
  expect ("passwd: [NOTFOUND=return] files sss\n", "passwd", true, false, "an action before any source");
  expect ("passwd: files [NOTFOUND=return\nsss: x\n", "passwd", true, true, "an action left open at the line end");
  expect ("passwd: sss\ngroup: files\n", "group", true, true, "group is read from its own line");
  expect ("passwd: files\ngroup: sss files\n", "group", false, false, "group after another module");
  return tap_done ();
}
