#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/root/faults.t.sh: faults. Runs as root for the mounts and drops to the test
# user for everything sprout does:
#   - a full cache file system mid-import (a small tmpfs handed to the user): one clean line,
#     everything written freed, and the next import with space succeeds;
#   - kill -9 of the helper at several moments of an import: the next run succeeds and no
#     temporary directory is left;
#   - the image deleted while a container runs: the running command is not disturbed, and a
#     new run says the image is gone;
#   - the cache entry deleted under a running container: nothing crashes, the next run
#     imports again.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

A=${SPROUT_TEST_USER:-sprout-test}
if [ "$(id -u)" != 0 ]; then t_skip "fault tests" "run as root (scripts/test runs tests/root as root)"; t_done; exit; fi
id "$A" >/dev/null 2>&1 || { t_skip "fault tests" "no user $A"; t_done; exit; }
t_need_image py3.oci "fault tests" || { t_done; exit; }
t_need_image busybox.oci "fault tests" || { t_done; exit; }
py=$SPROUT_IMAGES/py3.oci bb=$SPROUT_IMAGES/busybox.oci
chmod 0755 "$T_TMP"
as () {
  runuser -u "$A" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$(getent passwd "$A" | cut -d: -f6)" \
    LANG=C.UTF-8 ${CACHE:+SPROUT_CACHE_DIR=$CACHE} "$@"
}
small=$T_TMP/small
cleanup_mounts () { umount -l "$small" 2>/dev/null; }
trap 'cleanup_mounts; t_cleanup' EXIT

# ---- a full cache file system ------------------------------------------------------------------
mkdir -p "$small"
if mount -t tmpfs -o size=24m,mode=0755 tmpfs "$small"; then
  chown "$A:" "$small"
  used0=$(df -k --output=used "$small" | tail -n 1)
  out=$(CACHE=$small/cache as "$SPROUT" import "$py" 2>&1); st=$?
  t_is "$st" 125 "full cache FS: the import fails with 125"
  t_is "$(printf '%s\n' "$out" | wc -l)" 1 "full cache FS: one line" "$out"
  t_match "$out" "^sprout: error: .*py3.oci.*No space left on device" "full cache FS: the line says no space"
  t_is "$(ls -A "$small/cache/tmp" 2>&1)" "" "full cache FS: no temporary directory left"
  t_is "$(ls -A "$small/cache/images" 2>&1)" "" "full cache FS: no entry published"
  used1=$(df -k --output=used "$small" | tail -n 1)
  # the cache's skeleton (a few empty directories and lock files) may stay: under 64 KiB
  if [ $((used1 - used0)) -lt 64 ]; then t_ok "full cache FS: what it wrote is freed ($((used0)) -> $((used1)) KiB used)"
  else t_notok "full cache FS: what it wrote is freed" "$used0 KiB used before, $used1 KiB after"; fi
  mount -o remount,size=512m "$small"
  out=$(CACHE=$small/cache as "$SPROUT" run --no-home "$py" python3 -c 'print("room")' 2>&1); st=$?
  t_is "$st:$out" "0:room" "full cache FS: with space again, the next run imports and runs"
  # a cache on its own file system: a container's root mount names the entry by its path
  # inside that file system (/cache/images/...), a tail of the path rm knows it by
  CACHE=$small/cache as "$SPROUT" run --no-home "$bb" sleep 3 > /dev/null 2>&1 &
  runner=$!
  sleep 1
  out=$(CACHE=$small/cache as "$SPROUT" images 2>&1)
  t_match "$out" "busybox.oci \(in use\)" "cache on its own FS: images shows a running container's image in use"
  out=$(CACHE=$small/cache as "$SPROUT" rm "$bb" 2>&1); st=$?
  t_is "$st" 125 "cache on its own FS: rm of an image a running container uses is refused"
  t_match "$out" "in use by a running container" "  ... saying it is in use"
  out=$(CACHE=$small/cache as "$SPROUT" prune 2>&1)
  t_match "$out" "in use; kept" "cache on its own FS: prune keeps it"
  wait "$runner"
  t_status 0 "cache on its own FS: once the container has ended, rm removes it" \
    runuser -u "$A" -- env SPROUT_CACHE_DIR="$small/cache" "$SPROUT" rm "$bb"
  umount "$small"
else
  t_skip "full cache FS" "cannot mount a tmpfs here"
fi

# ---- kill -9 at several moments of an import ---------------------------------------------------
mkdir -p "$T_TMP/k"; chown "$A:" "$T_TMP/k"
cache=$T_TMP/k/cache
mid=0
for delay in 0.05 0.2 0.5 1 2; do
  CACHE=$cache as "$SPROUT" --quiet import "$py" > /dev/null 2>&1 &
  sleep "$delay"
  # runuser's child is the helper (and, with the importer split, its importer): kill all of
  # the user's sprout processes under this cache
  pids=$(pgrep -u "$A" -f -- "$cache" ; pgrep -u "$A" -f -- "$py")
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  wait 2>/dev/null
  [ -n "$(ls -A "$cache/tmp" 2>/dev/null)" ] && mid=$((mid + 1))
  out=$(CACHE=$cache as "$SPROUT" run --no-home "$py" python3 -c 'print("after")' 2>&1); st=$?
  t_is "$st:$out" "0:after" "kill -9 after ${delay}s: the next run succeeds"
  t_is "$(ls -A "$cache/tmp" 2>/dev/null)" "" "kill -9 after ${delay}s: no temporary directory left"
  t_is "$(ls "$cache/images" 2>/dev/null | wc -l)" 1 "kill -9 after ${delay}s: one entry"
  CACHE=$cache as "$SPROUT" --quiet rm "$py" > /dev/null 2>&1
done

# (a kill that lands after the import finished proves nothing: some must hit one in progress)
if [ "$mid" -ge 2 ]; then t_ok "kill -9: $mid of 5 kills left a temporary directory (they hit an import in progress)"
else t_notok "kill -9: at least 2 of 5 kills hit an import in progress" "only $mid left a temporary directory"; fi

# ---- the image deleted while a container runs ------------------------------------------------
w=$T_TMP/w
mkdir -p "$w"; cp -a "$bb" "$w/img.oci"; chown -R "$A:" "$w"
cache=$w/cache
CACHE=$cache as "$SPROUT" run --no-home "$w/img.oci" sh -c 'sleep 2; cat /etc/passwd > /dev/null && echo alive' \
  > "$w/out" 2>&1 &
runner=$!
sleep 1
rm -rf "$w/img.oci"
wait "$runner"; st=$?
t_is "$st:$(cat "$w/out")" "0:alive" "image deleted while running: the running command finishes undisturbed"
out=$(CACHE=$cache as "$SPROUT" run --no-home "$w/img.oci" true 2>&1); st=$?
t_is "$st" 125 "image deleted: a new run fails with 125"
t_match "$out" "^sprout: error: .*img.oci.*No such file or directory$" "image deleted: one line saying the image is gone"

# ---- the cache entry deleted under a running container ---------------------------------------
cp -a "$bb" "$w/img.oci"; chown -R "$A:" "$w/img.oci"
digest=$(CACHE=$cache as "$SPROUT" import "$w/img.oci" 2>&1)
CACHE=$cache as "$SPROUT" run --no-home "$w/img.oci" sh -c 'sleep 2; ls / > /dev/null; echo done' > "$w/out2" 2>&1 &
runner=$!
sleep 1
rm -rf "$cache/images/${digest#sha256:}"
wait "$runner"; st=$?
# the running command may see its files vanish; what matters is that nothing crashes
if [ "$st" -lt 128 ]; then t_ok "entry deleted under a running container: no crash (exit $st)"
else t_notok "entry deleted under a running container: no crash" "exit $st: $(cat "$w/out2")"; fi
out=$(CACHE=$cache as "$SPROUT" run --no-home "$w/img.oci" echo again 2>&1); st=$?
t_is "$st:$out" "0:again" "entry deleted: the next run imports again and runs"
# `sprout rm` while a `sprout start` holder (what a Slurm step runs in) uses the entry: refused
# with one line, and the step's tasks still find their files. (The holder keeps the entry's
# lock; `sprout run` closes it at exec, and rm then finds the container's root mount instead.)
out=$(CACHE=$cache as python3 "$SPROUT_SRC/tests/helper/start-driver.py" "$SPROUT" --no-home "$w/img.oci" -- \
  "\"$SPROUT\" rm '$w/img.oci'; echo rm-status:\$?; nsenter -U -m --preserve-credentials -t \"\$HOLDER_PID\" -- sh -c 'cat /bin/busybox > /dev/null && echo intact'" 2>&1)
t_match "$out" "rm-status:125" "sprout rm while a start holder uses the entry is refused"
t_match "$out" "in use" "  ... saying the image is in use"
t_match "$out" "joiner: intact" "  ... and the step's tasks still read the image"

t_done
