/* SPDX-License-Identifier: GPL-2.0-or-later */
/* user.h: the user's own passwd and group entries, for the container's /etc files.
 *
 * sprout is linked statically (a warm start is mostly page faults, and a static
 * binary takes half as many), so it cannot use glibc's NSS: a static program that
 * loads libnss_sss or libnss_ldap needs the very glibc it was built with. Instead:
 *  - the sources come from /etc/nsswitch.conf (passwd: and group:, "files" when absent);
 *  - where "files" (or "compat") comes first and /etc/passwd (/etc/group) has the id,
 *    that line is the answer, as it is for glibc; where only local sources are listed
 *    (files, compat, systemd), not finding it there is the answer too;
 *  - otherwise (sss, ldap, winbind...) the importer, a dynamic program, asks NSS
 *    (`sprout-import user`), and its answer is kept in the cache directory for 10
 *    minutes (nscd's default for passwd), so that a warm start stays without an exec. */
#ifndef SPROUT_USER_H
#define SPROUT_USER_H

#include <stdbool.h>
#include <sys/types.h>

struct sp_user_entry {
  char *name, *gecos, *home, *shell; /* NULL where the user has no passwd entry */
  char *group;                       /* the primary group's name, or NULL */
};

/* Fill *u for UID and GID. CACHE_DIR is sprout's cache (NULL: $SPROUT_CACHE_DIR, else
 * /var/tmp/sprout-UID). Never fails: what cannot be found stays NULL. */
void sp_user_lookup (uid_t uid, gid_t gid, const char *cache_dir, struct sp_user_entry *u);

void sp_user_entry_free (struct sp_user_entry *u);

/* What the text of nsswitch.conf (CONF; NULL when the file is missing) says of DB
 * ("passwd", "group"): *FILES_FIRST, whether "files" (or "compat") is listed with no
 * network source before it, so that a line found in the file is glibc's answer too;
 * *ONLY_LOCAL, whether every source is local (files, compat, systemd), so that not
 * finding the id there is the answer as well. Without the file or the DB's line, both
 * are true (glibc's default is files). Actions ([NOTFOUND=return]) and comments are
 * skipped; the first DB line counts. */
void sp_user_nss_sources (const char *conf, const char *db, bool *files_first, bool *only_local);

/* Seconds an answer from NSS stays in the cache. */
#define SP_USER_CACHE_TTL 600

#endif
