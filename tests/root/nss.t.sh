#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/root/nss.t.sh: the user's entry in the container's /etc/passwd and /etc/group where
# the host's NSS has more than files (helper/runtime/user.h). sprout is static and has no NSS: a
# user found in /etc/passwd under "files" needs nothing more; a user only a module knows
# (here libnss-extrausers, standing in for sss or ldap) is asked of the importer once and
# kept in the cache for 10 minutes. Runs as root: the host's nsswitch.conf and the module's
# files are replaced only inside a private mount namespace (unshare -m), never on the host.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

A=${SPROUT_TEST_USER:-sprout-test}
if [ "$(id -u)" != 0 ]; then t_skip "nss tests" "run as root (scripts/test runs tests/root as root)"; t_done; exit; fi
id "$A" >/dev/null 2>&1 || { t_skip "nss tests" "no user $A (scripts/test creates it)"; t_done; exit; }
[ -e /usr/lib/libnss_extrausers.so.2 ] || [ -e /usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2 ] \
  || { t_skip "nss tests" "libnss-extrausers not installed (scripts/install-deps)"; t_done; exit; }
t_need_image busybox.oci "nss tests" || { t_done; exit; }
img=$SPROUT_IMAGES/busybox.oci
uid=$(id -u "$A") gid=$(id -g "$A")
chmod 0755 "$T_TMP"
mkdir -p "$T_TMP/extra" "$T_TMP/cache"
chown "$A" "$T_TMP/cache"; chmod 0700 "$T_TMP/cache"
# the module knows the test user under another name, home and shell, and names its group
printf 'nssname:x:%s:%s:NSS Person:/home/nsshome:/bin/nssshell\n' "$uid" "$gid" > "$T_TMP/extra/passwd"
printf 'nssgroup:x:%s:\n' "$gid" > "$T_TMP/extra/group"
: > "$T_TMP/extra/shadow"
chmod 0644 "$T_TMP/extra/passwd" "$T_TMP/extra/group"

# in_ns CONF CMD...: CMD as the test user with nsswitch.conf CONF, in a private mount namespace
in_ns () {
  local conf=$1; shift
  printf '%s\n' "$conf" > "$T_TMP/nsswitch.conf"; chmod 0644 "$T_TMP/nsswitch.conf"
  unshare -m --propagation private bash -c '
    mount --bind "$1" /etc/nsswitch.conf && mkdir -p /var/lib/extrausers && mount --bind "$2" /var/lib/extrausers || exit 99
    shift 2; exec "$@"' - "$T_TMP/nsswitch.conf" "$T_TMP/extra" \
    runuser -u "$A" -- env -i PATH=/usr/bin:/bin HOME="${H:-/home/nsshome}" SPROUT_CACHE_DIR="$T_TMP/cache" "$@"
}
show='id -un; id -gn; grep "^[^:]*:x:'"$uid"':" /etc/passwd'

out=$(H=$(getent passwd "$A" | cut -d: -f6) in_ns $'passwd: files extrausers\ngroup: files extrausers' "$SPROUT" run "$img" sh -c "$show" 2>&1)
t_is "$out" "$A
$(id -gn "$A")
$(getent passwd "$A" | awk -F: -v OFS=: '{ $2 = "x"; print }')" "files first: the /etc/passwd entry, as glibc would answer"
t_check "files first: NSS not asked (no answer cached)" test ! -e "$T_TMP/cache/user"

out=$(in_ns $'passwd: extrausers files\ngroup: extrausers files' "$SPROUT" run "$img" sh -c "$show" 2>&1)
t_is "$out" "nssname
nssgroup
nssname:x:$uid:$gid:NSS Person:/home/nsshome:/bin/nssshell" "a module first: name, group, gecos, home and shell from NSS"
t_check "the NSS answer is cached in the cache directory" test -f "$T_TMP/cache/user"
t_is "$(stat -c %U:%a "$T_TMP/cache/user" 2>&1)" "$A:600" "the cached answer is the user's, mode 600"

# a fresh cached answer is used as it is: change the module's view, the old one stays
sed -i 's/nssname/renamed/' "$T_TMP/extra/passwd"
out=$(in_ns $'passwd: extrausers files\ngroup: extrausers files' "$SPROUT" run "$img" id -un 2>&1)
t_is "$out" "nssname" "within 10 minutes the cached answer is used (no importer run)"
# an old one is asked again
touch -d '11 minutes ago' "$T_TMP/cache/user"
out=$(in_ns $'passwd: extrausers files\ngroup: extrausers files' "$SPROUT" run "$img" id -un 2>&1)
t_is "$out" "renamed" "after 10 minutes NSS is asked again"
# another user's answer in the file is never taken
printf '%s %s\nintruder:x:%s:%s::/:/bin/sh\n\n' "$((uid + 1))" "$gid" "$uid" "$gid" > "$T_TMP/cache/user"
chown "$A" "$T_TMP/cache/user"
out=$(in_ns $'passwd: extrausers files\ngroup: extrausers files' "$SPROUT" run "$img" id -un 2>&1)
t_is "$out" "renamed" "a cached answer for other ids is ignored and replaced"

# only local sources and no entry: no importer, the name from \$USER or uid<N>
: > "$T_TMP/extra/passwd"
rm -f "$T_TMP/cache/user"
out=$(unshare -m --propagation private bash -c '
  printf "%s:x:0:0::/root:/bin/sh\n" root > "$1/passwd-only-root"; chmod 0644 "$1/passwd-only-root"
  mount --bind "$1/passwd-only-root" /etc/passwd && shift && exec "$@"' - "$T_TMP" \
  setpriv --reuid="$uid" --regid="$gid" --clear-groups \
  env -i PATH=/usr/bin:/bin HOME=/tmp SPROUT_CACHE_DIR="$T_TMP/cache" "$SPROUT" run "$img" id -un 2>&1)
t_is "$out" "uid$uid" "a user no local file knows and no module to ask: uid<N>"
t_check "local sources only: NSS not asked" test ! -e "$T_TMP/cache/user"
t_done
