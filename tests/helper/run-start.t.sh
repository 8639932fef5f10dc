#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/helper/run-start.t.sh: `sprout start`, the SPANK plugin's protocol (see sprout(1)):
# records on fd 1, a holder whose namespaces tasks join with setns (here: nsenter as the
# same unprivileged user), and an end when fd 0 closes. Run as the test user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

if [ "$(id -u)" = 0 ]; then
  t_skip "start tests" "run as an unprivileged user (runuser -u sprout-test)"; t_done; exit
fi
if ! command -v nsenter >/dev/null || ! command -v python3 >/dev/null; then
  t_skip "start tests" "nsenter and python3 are needed on the host"; t_done; exit
fi
t_need_image py3.oci "sprout start with py3.oci" || { t_done; exit; }
PY=$(t_image py3.oci)
DRIVER=$SPROUT_SRC/tests/helper/start-driver.py
W=$T_TMP/work
mkdir -p "$W" && cd "$W" || exit 1

# t_line OUT LINE DESC: OUT holds LINE as a whole line (grep -x; LINE is a basic regex)
t_line () {
  if printf '%s\n' "$1" | grep -qx -- "$2"; then t_ok "$3"; else t_notok "$3" "got:  $1" "want a line: $2"; fi
}

host_mnt=$(readlink /proc/self/ns/mnt)
join='nsenter -U -m --preserve-credentials -t "$HOLDER_PID" --'
script="
$join sh -c 'cd \"\$0\" && pwd && python3 -c \"import sys; print(sys.version_info[:2])\" && id -un && readlink /proc/self/ns/mnt' \"\$REC_CWD\"
$join readlink /proc/self/ns/mnt
$join cat /etc/debian_version
$join sh -c 'echo hi > \"\$0/from-task\"' \"\$REC_CWD\"
"
out=$(python3 "$DRIVER" "$SPROUT" --env FOO=bar "$PY" -- "$script" 2>&1)
recs=$(printf '%s\n' "$out" | sed -n 's/^record: //p')
t_is "$(printf '%s\n' "$recs" | head -1)" "cwd=$W" "first record: cwd= the working directory inside"
t_line "$recs" 'env=PATH=/usr/local/sbin:.*' "env= records carry the image's Env"
t_line "$recs" 'env=FOO=bar' "env= records carry --env"
t_is "$(printf '%s\n' "$recs" | grep -cE '^env=(HOME|USER|LOGNAME|TERM)=')" 0 "no env= record for HOME, USER, LOGNAME or TERM"
t_is "$(printf '%s\n' "$recs" | tail -2 | tr '\n' ' ')" "remap_root=0 ready " "remap_root=0, then ready last"
joined=$(printf '%s\n' "$out" | sed -n 's/^joiner: //p')
t_is "$(printf '%s\n' "$joined" | sed -n 1,3p | tr '\n' ' ')" "$W (3, 13) $(id -un) " "a joiner sees the container: cwd, python 3.13, the user's name"
mnt1=$(printf '%s\n' "$joined" | sed -n 4p)
mnt2=$(printf '%s\n' "$joined" | sed -n 5p)
t_match "$mnt1" '^mnt:\[' "the joiner has a mount namespace"
t_ok_if () { if [ "$1" ]; then t_ok "$2"; else t_notok "$2" "$3"; fi; }
t_ok_if "$([ "$mnt1" != "$host_mnt" ] && echo y)" "... which differs from the host's" "host $host_mnt, joiner $mnt1"
t_is "$mnt2" "$mnt1" "two joiners share one mount namespace"
# by content: /tmp and $HOME are bound from the host, so a host file under them (this
# driver, in a staged or cloned tree) is visible inside and proves nothing
entry=$("$SPROUT" import "$PY" 2>/dev/null | sed -n 's/^sha256://p')
image_version=$(cat "$SPROUT_CACHE_DIR/images/$entry/rootfs/etc/debian_version" 2>&1)
if [ "$image_version" != "$(cat /etc/debian_version)" ]; then
  t_is "$(printf '%s\n' "$joined" | sed -n 6p)" "$image_version" "the joiner's root is the image's, not the host's"
else
  t_skip "the joiner's root is the image's" "the image's /etc/debian_version is the host's ($image_version)"
fi
t_is "$(cat "$W/from-task" 2>&1)" "hi" "a joiner writes to the bound working directory"
t_line "$out" 'joiner-status: 0' "every join succeeded"
t_line "$out" 'holder-alive-before-close: 1' "the holder waits while fd 0 is open"
t_line "$out" 'holder-status: 0' "closing fd 0 ends the holder, status 0"
t_is "$(printf '%s\n' "$out" | grep -c '^holder-stderr:')" 0 "the holder says nothing on success"

out=$(python3 "$DRIVER" "$SPROUT" --remap-root "$PY" -- "$join id -u" 2>&1)
t_is "$(printf '%s\n' "$out" | grep '^record:' | tail -2 | tr '\n' ' ')" "record: remap_root=1 record: ready " "--remap-root is reported"
t_line "$out" 'joiner: 0' "... and a joiner is uid 0 inside"

out=$(python3 "$DRIVER" "$SPROUT" --mount "$T_TMP/missing:/x" "$PY" -- true 2>&1)
t_is "$(printf '%s\n' "$out" | grep -c '^record: ready')" 0 "failure: no ready record"
t_line "$out" 'holder-status: 125' "failure: exit 125"
t_line "$out" "holder-stderr: sprout: error: --mount $T_TMP/missing:/x: .*No such file or directory" "... and an error line naming the source"
t_is "$(printf '%s\n' "$out" | grep -c '^holder-stderr:')" 1 "... exactly one line"
out=$(python3 "$DRIVER" "$SPROUT" "$PY" extra-arg -- true 2>&1)
t_line "$out" "holder-status: 125" "start refuses a COMMAND"

# SIGTERM ends the holder too, with status 0
exec 8< <(sleep 30)
"$SPROUT" start "$PY" <&8 >"$T_TMP/rec" 2>"$T_TMP/err" &
pid=$!
for _ in $(seq 200); do grep -q ready "$T_TMP/rec" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
wait $pid
t_is "$?" 0 "SIGTERM ends the holder with status 0"
exec 8<&-

t_done
