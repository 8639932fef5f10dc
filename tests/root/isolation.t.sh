#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/root/isolation.t.sh: isolation between two unprivileged users. Runs as root
# and drops to each user with runuser: A = sprout-test, B = sprout-test2 (scripts/test creates
# both). B cannot read, replace or poison A's cache, cannot squat A's cache path with a
# directory or a symlink of hers, cannot join A's container (`sprout run` or a `sprout start`
# holder) with nsenter, and a copy of sprout made setuid root or given file capabilities
# refuses to run (charliecloud tests the same of ch-run).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

A=${SPROUT_TEST_USER:-sprout-test}
B=${SPROUT_TEST_USER2:-sprout-test2}
n_cases=0 n_contained=0
finish () {
  t_done; local st=$?
  echo "# hostile: $n_cases cases, $n_contained contained"
  exit $st
}
if [ "$(id -u)" != 0 ]; then t_skip "isolation tests" "run as root (scripts/test runs tests/root as root)"; finish; fi
for u in "$A" "$B"; do
  id "$u" >/dev/null 2>&1 || { t_skip "isolation tests" "no user $u (scripts/test creates it)"; finish; }
done
t_need_image busybox.oci "isolation tests" || finish
img=$SPROUT_IMAGES/busybox.oci
uidA=$(id -u "$A") uidB=$(id -u "$B")
chmod 0755 "$T_TMP"

# as U CMD...: CMD as user U, a clean environment, the cache given by CACHE (else the default)
as () {
  local u=$1; shift
  runuser -u "$u" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$(getent passwd "$u" | cut -d: -f6)" \
    LANG=C.UTF-8 ${CACHE:+SPROUT_CACHE_DIR=$CACHE} "$@"
}
# contained DESC: count one hostile case from the status of the last t_* call
case_result () { n_cases=$((n_cases + 1)); [ "$1" = 0 ] && n_contained=$((n_contained + 1)); }
# denied DESC CMD...: CMD must fail (B's attempt on A's things)
denied () {
  local d=$1 out st; shift
  out=$("$@" 2>&1); st=$?
  if [ "$st" != 0 ]; then t_ok "$d"; case_result 0; else t_notok "$d" "exit 0; output: $out"; case_result 1; fi
}

# ---- A's cache: B cannot read, replace or poison it ------------------------------------------
mkdir -p "$T_TMP/a" "$T_TMP/b"
chown "$A:" "$T_TMP/a"; chown "$B:" "$T_TMP/b"
cacheA=$T_TMP/a/cache cacheB=$T_TMP/b/cache
digest=$(CACHE=$cacheA as "$A" "$SPROUT" import "$img" 2>&1)
t_match "$digest" '^sha256:[0-9a-f]{64}$' "A imports busybox.oci into her cache" || finish
entry=$cacheA/images/${digest#sha256:}
t_is "$(stat -c '%U %a' "$cacheA")" "$A 700" "A's cache belongs to A, mode 0700"
denied "B cannot list A's cache" as "$B" ls "$cacheA/images"
denied "B cannot read a file of A's unpacked image" as "$B" cat "$entry/rootfs/bin/busybox"
denied "B cannot remove A's entry" as "$B" rm -rf "$entry"
denied "B cannot plant a file in A's temporary directory" as "$B" touch "$cacheA/tmp/x"
denied "B cannot use A's cache with sprout (images)" env CACHE="$cacheA" bash -c "$(declare -f as); as $B $SPROUT images"
denied "B cannot import into A's cache" env CACHE="$cacheA" bash -c "$(declare -f as); as $B $SPROUT import $img"
denied "B cannot rm A's image through sprout" env CACHE="$cacheA" bash -c "$(declare -f as); as $B $SPROUT rm $digest"
denied "B cannot run from A's cache" env CACHE="$cacheA" bash -c "$(declare -f as); as $B $SPROUT run $img true"
t_is "$(CACHE=$cacheA as "$A" "$SPROUT" run --no-home "$img" cat /etc/os-release 2>&1 | head -c 0; echo $?)" 0 \
  "A's entry still runs after B's attempts"

# B builds a poisoned image of her own with the same name: A's entries are keyed by A's own
# import, so A's next run of the real image is untouched
poison=$T_TMP/b/busybox.oci
cp -a "$img" "$poison"; chown -R "$B:" "$poison"
t_is "$(CACHE=$cacheA as "$A" "$SPROUT" import "$img" 2>&1)" "$digest" "A's digest is stable after B's attempts"

# ---- B squats A's cache path (the default is /var/tmp/sprout-UID, a world-writable parent) ---
shared=$T_TMP/shared
mkdir -m 1777 "$shared"
bfiles=$T_TMP/b/files
as "$B" mkdir -p "$bfiles"; as "$B" sh -c "echo mine > '$bfiles/keep'"
as "$B" ln -s "$bfiles" "$shared/cache-A"
out=$(CACHE=$shared/cache-A as "$A" "$SPROUT" import "$img" 2>&1); st=$?
t_is "$st" 125 "A's import refuses a cache path that is B's symlink"; case_result $((st != 125))
t_match "$out" "symlink" "  ... and says it is a symlink"
t_is "$(ls -A "$bfiles")" keep "  ... and writes nothing into B's files"
rm -f "$shared/cache-A"
as "$B" mkdir -m 0777 "$shared/cache-A"
out=$(CACHE=$shared/cache-A as "$A" "$SPROUT" import "$img" 2>&1); st=$?
t_is "$st" 125 "A's import refuses a cache directory that B created"; case_result $((st != 125))
t_match "$out" "owned by uid $uidB" "  ... and names its owner"
t_is "$(ls -A "$shared/cache-A")" "" "  ... and writes nothing into it"
rm -rf "$shared/cache-A"
# the real default path, /var/tmp/sprout-<uid>: B's own default is squatted by A (B's default
# cache is used by this test only; one of A's may be in use by other tests)
dflt=/var/tmp/sprout-$uidB
afiles=$T_TMP/a/files
as "$A" mkdir -p "$afiles"; as "$A" sh -c "echo mine > '$afiles/keep'"
if [ -e "$dflt" ] || [ -L "$dflt" ]; then rm -rf "$dflt"; fi
as "$A" ln -s "$afiles" "$dflt"
out=$(as "$B" "$SPROUT" import "$img" 2>&1); st=$?
t_is "$st" 125 "B's default cache ($dflt) as A's symlink is refused"; case_result $((st != 125))
t_is "$(ls -A "$afiles")" keep "  ... and A's files are untouched"
rm -f "$dflt"
as "$A" mkdir -m 0777 "$dflt"
out=$(as "$B" "$SPROUT" import "$img" 2>&1); st=$?
t_is "$st" 125 "B's default cache as A's directory is refused"; case_result $((st != 125))
t_is "$(ls -A "$dflt")" "" "  ... and nothing is written into it"
rm -rf "$dflt"

# ---- B cannot join A's containers ---------------------------------------------------------------
CACHE=$cacheA as "$A" "$SPROUT" run --no-home "$img" sleep 30 > /dev/null 2>&1 &
runner=$!
pid=
for _ in $(seq 1 100); do
  pid=$(pgrep -u "$uidA" -x sleep | head -n 1); [ -n "$pid" ] && break; sleep 0.1
done
if [ -n "$pid" ]; then
  t_ok "A's container runs (sleep, pid $pid)"
  denied "B cannot nsenter A's running container (user + mount namespaces)" \
    as "$B" nsenter -U -m --preserve-credentials -t "$pid" -- true
  denied "B cannot nsenter A's mount namespace alone" as "$B" nsenter -m -t "$pid" -- true
  denied "B cannot look into A's container through /proc/PID/root" as "$B" ls "/proc/$pid/root/"
  denied "B cannot open A's namespace files" as "$B" cat "/proc/$pid/ns/mnt"
  kill "$pid" 2>/dev/null
else
  t_notok "A's container runs (sleep)" "no sleep process of $A appeared"
fi
wait "$runner" 2>/dev/null

# a `sprout start` holder of A's: the plugin's tasks join it with setns; B's nsenter must fail
if command -v python3 >/dev/null && t_need_image py3.oci "start holder"; then
  flag=$T_TMP/a/flag
  CACHE=$cacheA as "$A" python3 "$SPROUT_SRC/tests/helper/start-driver.py" "$SPROUT" --no-home "$SPROUT_IMAGES/py3.oci" -- \
    "echo \$HOLDER_PID > '$T_TMP/a/holder'; for i in \$(seq 1 300); do [ -e '$flag' ] && break; sleep 0.1; done" \
    > "$T_TMP/driver.out" 2>&1 &
  driver=$!
  for _ in $(seq 1 600); do [ -s "$T_TMP/a/holder" ] && break; sleep 0.1; done
  hp=$(cat "$T_TMP/a/holder" 2>/dev/null)
  if [ -n "$hp" ]; then
    t_ok "A's sprout start holder is up (pid $hp)"
    denied "B cannot nsenter A's start holder" as "$B" nsenter -U -m --preserve-credentials -t "$hp" -- true
    t_check "A herself can join her holder (the same command works for the owner)" \
      as "$A" nsenter -U -m --preserve-credentials -t "$hp" -- true
  else
    t_notok "A's sprout start holder is up" "$(cat "$T_TMP/driver.out")"
  fi
  touch "$flag"
  wait "$driver"
fi

# ---- a setuid or capable copy of sprout refuses to run ------------------------------------------
mkdir -p "$T_TMP/priv"; chmod 0755 "$T_TMP/priv"
for kind in setuid setgid caps; do
  copy=$T_TMP/priv/sprout-$kind
  cp "$SPROUT" "$copy"; chown root:root "$copy"; chmod 0755 "$copy"
  case $kind in
    setuid) chmod u+s "$copy" ;;
    setgid) chmod g+s "$copy" ;;
    caps) if ! setcap cap_sys_admin+ep "$copy" 2>/dev/null; then
            t_skip "a copy with file capabilities refuses to run" "setcap failed here"; continue; fi ;;
  esac
  out=$(CACHE=$cacheA as "$A" "$copy" run --no-home "$img" true 2>&1); st=$?
  if [ "$st" = 125 ] && [[ $out == "sprout: error: refusing to run"* ]] && [ "$(echo "$out" | wc -l)" = 1 ]; then
    t_ok "a $kind copy owned by root refuses to run (one line)"; case_result 0
  else t_notok "a $kind copy owned by root refuses to run (one line)" "exit $st: $out"; case_result 1; fi
  out=$(CACHE=$cacheA as "$A" "$copy" --version 2>&1); st=$?
  t_is "$st" 125 "a $kind copy refuses even --version"
done

finish
