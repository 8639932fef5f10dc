/* SPDX-License-Identifier: GPL-2.0-or-later */
/* passwd.h: the container's /etc/passwd and /etc/group: the image's files plus the
 * user's own entries, so that whoami, id -un and getpwuid work inside. */
#ifndef SPROUT_PASSWD_H
#define SPROUT_PASSWD_H

#include <stdbool.h>
#include <sys/types.h>

struct sp_user {
  const char *name;
  uid_t uid; /* the id inside the container */
  gid_t gid;
  const char *gecos;
  const char *home;
  const char *shell;
  const char *group; /* name of the primary group */
};

/* Return the passwd text IMAGE (the image's file, or NULL when it has none) with
 * the user's entry: with REPLACE, any line for the same name or uid is dropped and
 * the user's appended; without, it is appended only when no line has that uid.
 * The result is malloc'd and ends with a newline. */
char *sp_passwd_merge (const char *image, const struct sp_user *u, bool replace);

/* The same for /etc/group and the user's primary group (name, gid, the user as member). */
char *sp_group_merge (const char *image, const struct sp_user *u, bool replace);

#endif
