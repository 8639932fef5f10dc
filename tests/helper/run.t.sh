#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/helper/run.t.sh: `sprout run` as an unprivileged user, on real images.
# Run as the test user:  runuser -u sprout-test -- env SPROUT=.../helper/sprout bash tests/helper/run.t.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

if [ "$(id -u)" = 0 ]; then
  t_skip "run tests" "run as an unprivileged user (runuser -u sprout-test)"; t_done; exit
fi

BB=$(t_image busybox.oci)
PY=$(t_image py3.oci)
# a working directory of our own (bound at the same path inside)
W=$T_TMP/work
mkdir -p "$W" && cd "$W" || exit 1
me=$(id -un)

run () { "$SPROUT" run "$@"; }

# ---------------------------------------------------------------- Python image (issue's user story)
if t_need_image py3.oci "python3 in py3.oci prints 3.13"; then
  out=$(run "$PY" python3 -c 'import sys; print(sys.version)' 2>&1)
  t_match "$out" '^3\.13\.' "python3 in py3.oci prints 3.13 (host: $(python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null))"

  printf '#!/usr/bin/env python3\nimport os, sys\nprint("job", sys.version_info[:2], os.getcwd())\nopen("written-by-job", "w").write("x")\n' > job.py
  chmod +x job.py
  out=$(run "$PY" ./job.py 2>&1)
  t_is "$out" "job (3, 13) $W" "./job.py runs from the current directory through #!/usr/bin/env python3"
  t_is "$(stat -c %u:%g written-by-job 2>&1)" "$(id -u):$(id -g)" "a file written to the bound current directory belongs to the user"

  # host network: a server on the host's loopback, a client in the container
  port_file=$T_TMP/port
  python3 - "$port_file" <<'EOF' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(20)
c, _ = s.accept(); c.sendall(b"hello from the host\n"); c.close()
EOF
  srv=$!
  for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
  out=$(run "$PY" python3 -c "import socket; s=socket.create_connection(('127.0.0.1', $(cat "$port_file"))); print(s.recv(100).decode().strip())" 2>&1)
  t_is "$out" "hello from the host" "a Python socket in the container reaches a server on the host's loopback"
  wait $srv 2>/dev/null

  out=$(echo 'print(6 * 7)' | run "$PY" 2>&1)
  t_is "$out" "42" "no COMMAND: the image's Cmd (python3) runs"
  out=$(run "$PY" sh -c 'command -v python3' 2>&1)
  t_is "$out" "/usr/bin/python3" "the image's PATH wins: python3 is the image's"
fi

if ! t_need_image busybox.oci "busybox image"; then t_done; exit; fi

# ---------------------------------------------------------------- identity and privileges
t_is "$(run "$BB" id -un 2>&1)" "$me" "id -un prints the user's name"
t_is "$(run "$BB" id -u 2>&1):$(run "$BB" id -g 2>&1)" "$(id -u):$(id -g)" "the user is mapped to itself"
t_match "$(run "$BB" grep "^$me:" /etc/passwd 2>&1)" "^$me:x:$(id -u):$(id -g):.*:$HOME:" "/etc/passwd holds the user's entry (name, uid, gid, home)"
t_match "$(run "$BB" cat /etc/group 2>&1)" ":$(id -g):" "/etc/group holds the user's primary group"
out=$(run "$BB" cat /proc/self/status 2>&1)
t_match "$out" $'NoNewPrivs:\t1' "NoNewPrivs is 1 inside"
t_match "$out" $'CapEff:\t0000000000000000' "CapEff is 0 without --remap-root"
t_match "$out" $'CapPrm:\t0000000000000000' "CapPrm is 0 without --remap-root (nothing to regain)"
t_match "$out" $'CapInh:\t0000000000000000' "CapInh is 0 without --remap-root"
t_match "$out" $'CapAmb:\t0000000000000000' "CapAmb is 0 without --remap-root"
out=$(run --remap-root "$BB" sh -c 'id -u; id -un; grep -E "^Cap(Eff|Bnd)" /proc/self/status' 2>&1)
t_is "$out" $'0\nroot\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb' "--remap-root: uid 0, named root, the OCI default capability set"

suid=$T_TMP/sprout-suid
cp "$SPROUT" "$suid" && chmod u+s "$suid"
t_status 125 "a setuid copy of sprout refuses to run" "$suid" run "$BB" true
t_match "$T_OUT" "setuid" "... and says why"
chmod u-s,g+s "$suid"
t_status 125 "a setgid copy of sprout refuses to run" "$suid" run "$BB" true
rm -f "$suid"

# ---------------------------------------------------------------- file descriptors
out=$(run "$BB" ls /proc/self/fd 3</dev/null 7<"$W" 9>"$T_TMP/fd9" 2>&1 | tr '\n' ' ')
t_is "$out" "0 1 2 3 " "only fds 0, 1 and 2 reach the command (3 is ls's own directory)"

# ---------------------------------------------------------------- root file system
out=$(run "$BB" sh -c 'touch /bin/new-file' 2>&1); st=$?
t_match "$st:$out" "^1:.*Read-only file system" "the root is read-only: writes are refused"
t_check "--writable: the root takes writes" run --writable "$BB" sh -c 'echo hi > /etc/new-file && rm /bin/ls && test ! -e /bin/ls && cat /etc/new-file'
t_check "--writable: writes vanish after exit" run "$BB" sh -c 'test ! -e /etc/new-file && test -e /bin/ls'

# ---------------------------------------------------------------- mounts
mkdir -p "$T_TMP/data" && echo payload > "$T_TMP/data/file"
t_is "$(run --mount "$T_TMP/data:/data" "$BB" cat /data/file 2>&1)" "payload" "--mount SRC:DST binds SRC at DST (created inside when missing)"
t_check "--mount rw: writes reach the host" run --mount "$T_TMP/data:/mnt/deep/data:rw" "$BB" sh -c 'echo new > /mnt/deep/data/new'
t_is "$(cat "$T_TMP/data/new" 2>&1)" "new" "... the host sees the file"
out=$(run --mount "$T_TMP/data:/data:ro" "$BB" sh -c 'echo x > /data/file' 2>&1); st=$?
t_match "$st:$out" "^[12]:.*Read-only file system" "--mount :ro refuses writes"
t_is "$(cat "$T_TMP/data/file")" "payload" "... the file is unchanged"
t_is "$(run --mount "$T_TMP/data/file:/etc/motd:ro" "$BB" cat /etc/motd 2>&1)" "payload" "--mount binds a single file"
rm -f "$T_TMP/ran"
t_status 125 "--mount with a missing source fails before anything runs" run --mount "$T_TMP/nope:/x" "$BB" touch "$T_TMP/ran"
t_match "$T_OUT" "^sprout: error: --mount $T_TMP/nope:/x: .*No such file or directory$" "... with one line naming the source"
t_is "$(test -e "$T_TMP/ran" && echo ran || echo not-run)" "not-run" "... and the command did not run"
t_status 125 "--mount with a relative destination is refused" run --mount "$T_TMP/data:data" "$BB" true
t_match "$T_OUT" "must be an absolute path" "... saying why"
t_status 125 "--mount with an unknown mode is refused" run --mount "$T_TMP/data:/data:rx" "$BB" true

# an image symlink must never redirect a mount target out of the root
outside=$(mktemp -d /var/tmp/sprout-escape.XXXXXX)
img=$T_TMP/evil-rootfs
mkdir -p "$img" && cp -a "$(t_image busybox.rootfs || echo /nonexistent)/." "$img/" 2>/dev/null
if [ -x "$img/bin/busybox" ]; then
  ln -s "$outside" "$img/evil"
  ln -sf "$outside/hosts" "$img/etc/hosts"
  run --mount "$T_TMP/data:/evil/sub" "$img" true >/dev/null 2>&1
  t_is "$(ls -A "$outside")" "" "a mount target through an image symlink is never created outside the root"
  t_is "$(run "$img" cat /etc/hosts 2>&1)" "$(cat /etc/hosts)" "/etc/hosts (a symlink out of the root in the image) is the host's"
else
  t_skip "symlink escape tests" "busybox.rootfs not built"
fi
rm -rf "$outside"

# ---------------------------------------------------------------- the container's view
t_is "$(run "$BB" hostname 2>&1)" "$(hostname)" "UTS is the host's"
t_is "$(run "$BB" readlink /proc/self/ns/net 2>&1)" "$(readlink /proc/self/ns/net)" "the network namespace is the host's"
t_is "$(run "$BB" readlink /proc/self/ns/pid 2>&1)" "$(readlink /proc/self/ns/pid)" "the PID namespace is the host's"
t_is "$(run "$BB" readlink /proc/self/ns/ipc 2>&1)" "$(readlink /proc/self/ns/ipc)" "the IPC namespace is the host's"
t_match "$(run "$BB" readlink /proc/self/ns/mnt 2>&1)" "^mnt:" "the container has a mount namespace of its own"
t_is "$(run "$BB" cat /etc/hosts 2>&1)" "$(cat /etc/hosts)" "/etc/hosts is the host's"
[ -r /etc/resolv.conf ] && t_is "$(run "$BB" cat /etc/resolv.conf 2>&1)" "$(cat /etc/resolv.conf)" "/etc/resolv.conf is the host's"
t_is "$(run "$BB" ls /dev 2>&1 | tr '\n' ' ')" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " "/dev holds the minimal set"
t_check "/dev/null, /dev/zero and /dev/urandom work" run "$BB" sh -c 'echo x > /dev/null && head -c 4 /dev/zero | od -An | grep -q 000000 && head -c 4 /dev/urandom | wc -c | grep -q 4'
t_match "$(run "$BB" sh -c 'grep " /dev/pts " /proc/self/mountinfo' 2>&1)" "devpts.*ptmxmode=666" "/dev/pts is a new devpts instance"
shm=/dev/shm/sprout-test-$$
if echo shm > "$shm" 2>/dev/null; then
  t_is "$(run "$BB" cat "$shm" 2>&1)" "shm" "/dev/shm is the host's"
  rm -f "$shm"
fi
echo tmp > "$T_TMP/tmpfile"
t_is "$(run --workdir / "$BB" cat "$T_TMP/tmpfile" 2>&1)" "tmp" "/tmp is the host's"
t_match "$(run "$BB" grep " /sys " /proc/self/mountinfo 2>&1)" " /sys ro," "/sys is the host's, read-only"
t_match "$(run "$BB" grep " /proc " /proc/self/mountinfo 2>&1)" " /proc .* proc " "/proc is the host's"
t_match "$(run "$BB" grep -c . /proc/self/mountinfo 2>&1)" "^[0-9]+$" "the host's tree is detached (mountinfo readable)"
t_is "$(run "$BB" sh -c "grep -c ' /tmp/root' /proc/self/mountinfo" 2>&1)" "0" "nothing of the staging tree is visible inside"

# ---------------------------------------------------------------- working directory and home
t_is "$(run "$BB" pwd 2>&1)" "$W" "the working directory is the caller's"
t_is "$(run --workdir /usr "$BB" pwd 2>&1)" "/usr" "--workdir sets it"
t_status 125 "a missing --workdir fails" run --workdir /no/such/dir "$BB" true
t_is "$(cd / && run "$BB" pwd 2>&1)" "/" "from /, the image's WorkingDir or /"
if [ -d "$HOME" ] && [ "$HOME" != / ] && marker=$(mktemp "$HOME/.sprout-test-marker.XXXXXX" 2>/dev/null); then
  t_is "$(run --workdir / "$BB" sh -c 'test -e "$0" && echo yes || echo no' "$marker" 2>&1)" "yes" "\$HOME is bound at the same path"
  case $W in "$HOME"/*) ;; *)
    t_is "$(run --no-home --workdir / "$BB" sh -c 'test -e "$0" && echo yes || echo no' "$marker" 2>&1)" "no" "--no-home leaves \$HOME out" ;;
  esac
  rm -f "$marker"
else
  t_skip "\$HOME binding" "no writable \$HOME for the test user"
fi

# ---------------------------------------------------------------- environment
out=$(TERM=test-term FOO=caller run --env FOO=opt --env BAR=1 "$BB" sh -c 'echo "$TERM $HOME $USER $FOO $BAR"' 2>&1)
t_is "$out" "test-term $HOME ${USER:-} opt 1" "the caller's env, --env over it; TERM, HOME, USER stay the caller's"
t_status 125 "--env HOME=... is refused" run --env HOME=/x "$BB" true
t_status 125 "--env without = is refused" run --env FOO "$BB" true

# ---------------------------------------------------------------- exit status and signals
t_status 0 "exit 0 is the command's" run "$BB" true
t_status 1 "exit 1 is the command's" run "$BB" false
t_status 42 "any exit status is the command's" run "$BB" sh -c 'exit 42'
t_status 125 "a missing image fails with 125" run "$T_TMP/no-such-image" true
printf 'echo hi\n' > notexec
t_status 126 "a command that is not executable: 126" run "$BB" ./notexec
t_status 127 "a command not found in the container: 127" run "$BB" no-such-command
t_match "$T_OUT" "^sprout: error: no-such-command: command not found in the container$" "... saying so in one line"
t_status 127 "a missing path: 127" run "$BB" /no/such/file

"$SPROUT" run "$BB" sleep 30 &
pid=$!
for _ in $(seq 100); do
  [ "$(readlink /proc/$pid/exe 2>/dev/null)" != "$(readlink -f "$SPROUT")" ] && break; sleep 0.05
done
sleep 0.2
t_is "$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)" "sleep 30 " "the command runs in place of sprout (same pid, no parent left)"
kill -TERM $pid
wait $pid; st=$?
t_is "$st" 143 "kill -TERM of sprout's pid ends the command: status 143"

# ---------------------------------------------------------------- command selection
t_is "$(echo 'echo from-cmd' | run "$BB" 2>&1)" "from-cmd" "no COMMAND: the image's Cmd (sh) runs"
t_is "$(run --entrypoint=/bin/echo "$BB" hello 2>&1)" "hello" "--entrypoint=PROG runs PROG before COMMAND"
t_status 125 "an image without Entrypoint or Cmd needs a COMMAND" run "$(t_image busybox.rootfs || echo "$BB")"
ROOTFS=$(t_image busybox.rootfs)
if [ -n "$ROOTFS" ] && [ "$(stat -c %u "$ROOTFS")" != "$(id -u)" ]; then
  t_is "$(run "$ROOTFS" sh -c 'id -un; pwd' 2>&1 | tr '\n' ' ')" "$me $W " "a plain directory used in place that is not the user's still runs"
  t_is "$(ls -A "$ROOTFS/home" 2>&1)" "" "... and is left unchanged"
fi

# ---------------------------------------------------------------- openat2 fallback
t_is "$(SPROUT_FORCE_ENOSYS=1 run "$BB" sh -c 'id -un; pwd' 2>&1 | tr '\n' ' ')" "$me $W " "without openat2/close_range/mount_setattr (forced) the container still works"
out=$(SPROUT_FORCE_ENOSYS=1 run --mount "$T_TMP/data:/data:ro" "$BB" sh -c 'touch /bin/x; echo x > /data/file; grep -E " /(sys|data) " /proc/self/mountinfo' 2>&1)
t_match "$out" "touch: /bin/x: Read-only file system" "... the root is still read-only (remount fallback)"
t_match "$out" "/data/file: Read-only file system" "... --mount :ro still refuses writes"
t_match "$out" " /sys ro," "... /sys is still read-only"
t_check "... --writable still works" env SPROUT_FORCE_ENOSYS=1 "$SPROUT" run --writable "$BB" sh -c 'echo x > /etc/new && test -s /etc/new'
t_is "$(run "$BB" sh -c 'ls /proc/self/fd' <&- 2>&1 | tr '\n' ' ')" "0 1 2 3 " "with fd 0 closed, nothing of sprout's lands on it"

# ---------------------------------------------------------------- the image stays while in use
# the command runs in sprout's place with fds 0-2 only, yet `sprout rm` must not pull its image
"$SPROUT" run "$BB" sleep 3 & runpid=$!
sleep 1
t_status 125 "sprout rm of an image a running container uses is refused" "$SPROUT" rm "$BB"
t_match "$T_OUT" "in use" "... and says it is in use"
t_match "$("$SPROUT" images 2>&1)" "busybox.oci \(in use\)" "... and sprout images shows it in use"
wait "$runpid"
# --writable: the root is an overlay, whose lower tree mountinfo does not name; a keeper
# process holds the entry's lock instead, until the command ends
"$SPROUT" run --writable "$BB" sleep 3 & runpid=$!
sleep 1
t_status 125 "sprout rm of an image a --writable container uses is refused" "$SPROUT" rm "$BB"
t_match "$T_OUT" "in use" "... and says it is in use"
wait "$runpid"
t_status 0 "after the container ends, sprout rm removes the image" "$SPROUT" rm "$BB"

# ---------------------------------------------------------------- user namespaces disabled
# a real stand-in: inside a user namespace of our own, user.max_user_namespaces is that
# namespace's and ours to set; at 0, sprout's own unshare fails as on a host that disables them
if unshare -Ur true 2>/dev/null; then
  out=$(unshare -Ur sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" run "$1" true' "$SPROUT" "$BB" 2>&1)
  st=$?
  t_is "$st" 125 "with user.max_user_namespaces=0 sprout run fails with 125"
  t_is "$(printf '%s\n' "$out" | wc -l)" 1 "... in one line"
  t_match "$out" '^sprout: error: cannot create a user namespace: .*user\.max_user_namespaces=0' "... naming the setting ($out)"
else
  t_skip "user namespaces disabled" "unshare -Ur is not allowed here"
fi

t_done
