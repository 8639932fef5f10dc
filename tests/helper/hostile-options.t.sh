#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-options.t.sh: option and environment abuse against `sprout run`: over-long
# values, commas, colons, newlines and control characters in --mount, relative or `..`
# targets, targets inside /proc or /sys, --workdir=/proc/self/fd/N (the shape of runc
# CVE-2024-21626), a cache directory that is a symlink or another user's, bad --env.
# Each must be refused with one line and exit 125, or be contained (run inside the image and
# touch nothing on the host), and no attempt may leave anything in a canary directory.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

n_cases=0 n_contained=0
finish () {
  t_done; local st=$?
  echo "# hostile: $n_cases cases, $n_contained contained"
  exit $st
}
t_need_image busybox.oci "hostile options" || finish
img=$SPROUT_IMAGES/busybox.oci
canary=$T_TMP/canary
mkdir -p "$canary"
echo secret > "$canary/secret"
snapshot () { (cd "$T_TMP" && find . -mindepth 1 -path './cache*' -prune -o -printf '%p %y %s\n' | sort; cat canary/secret); }
before=$(snapshot)
"$SPROUT" import "$img" > /dev/null 2>&1

# refused DESC ARG...: `sprout ARG...` exits 125 with exactly one line on stderr
refused () {
  local d=$1 out err st; shift
  n_cases=$((n_cases + 1))
  out=$("$@" 2>"$T_TMP/err" </dev/null); st=$?
  err=$(cat "$T_TMP/err"); rm -f "$T_TMP/err"
  if [ "$st" = 125 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == "sprout: error: "* ]] \
     && [ "$(snapshot)" = "$before" ]; then
    n_contained=$((n_contained + 1)); t_ok "$d: refused with one line"
  else t_notok "$d: refused with one line, nothing written" "exit $st" "stdout: ${out:0:500}" "stderr: ${err:0:1000}" \
         "$(diff <(echo "$before") <(snapshot))"
  fi
}
long=$(head -c 5000 /dev/zero | tr '\0' a)
huge=$(head -c 100000 /dev/zero | tr '\0' a)

# ---- --mount ------------------------------------------------------------------------------------
refused "mount: over-long destination (5,000 bytes)" "$SPROUT" run -m "$canary:/$long" "$img" true
refused "mount: over-long source (100,000 bytes)" "$SPROUT" run -m "/$huge:/x" "$img" true
refused "mount: relative destination" "$SPROUT" run -m "$canary:x" "$img" true
refused "mount: destination ../x" "$SPROUT" run -m "$canary:../x" "$img" true
refused "mount: destination /a/../../x" "$SPROUT" run -m "$canary:/a/../../x" "$img" true
refused "mount: destination /.." "$SPROUT" run -m "$canary:/.." "$img" true
refused "mount: destination /" "$SPROUT" run -m "$canary:/" "$img" true
refused "mount: destination //" "$SPROUT" run -m "$canary://" "$img" true
for dst in /proc /proc/ /proc/sys /proc/self/fd /proc/1/root /sys /sys/fs/cgroup /sys/kernel; do
  refused "mount: destination $dst (kernel file system)" "$SPROUT" run -m "$canary:$dst" "$img" true
done
refused "mount: a third field that is not ro/rw" "$SPROUT" run -m "$canary:/x:y:z" "$img" true
refused "mount: a mode that is not ro/rw" "$SPROUT" run -m "$canary:/x:rx" "$img" true
refused "mount: no destination" "$SPROUT" run -m "$canary" "$img" true
refused "mount: empty source" "$SPROUT" run -m ":/x" "$img" true
refused "mount: newline in the destination" "$SPROUT" run -m "$canary:/x"$'\n'"y" "$img" true
refused "mount: newline in the source" "$SPROUT" run -m "$canary"$'\n'"/etc:/x" "$img" true
refused "mount: carriage return" "$SPROUT" run -m "$canary:/x"$'\r' "$img" true
refused "mount: escape sequence" "$SPROUT" run -m "$canary:/x"$'\e[2J' "$img" true
refused "mount: DEL" "$SPROUT" run -m "$canary:/x"$'\x7f' "$img" true
refused "mount: tab" "$SPROUT" run -m "$canary:/x"$'\t'"y" "$img" true
refused "mount: a source that does not exist" "$SPROUT" run -m "$T_TMP/nope:/x" "$img" true

# a comma is an ordinary character for the helper (the plugin splits its lists on commas):
# the bind lands at a destination with a comma in its name, read-only when asked
n_cases=$((n_cases + 1))
out=$("$SPROUT" run --no-home -m "$canary:/x,y:ro" "$img" sh -c 'cat "/x,y/secret"; (echo w > "/x,y/w") 2>/dev/null && echo WROTE' 2>&1)
if [ "$out" = secret ] && [ "$(snapshot)" = "$before" ]; then n_contained=$((n_contained + 1)); t_ok "mount: a comma in the destination is a name; :ro holds"
else t_notok "mount: a comma in the destination is a name; :ro holds" "$out"; fi

# ---- --workdir ----------------------------------------------------------------------------------
refused "workdir: relative" "$SPROUT" run -w x "$img" true
refused "workdir: over-long (100,000 bytes)" "$SPROUT" run -w "/$huge" "$img" true
refused "workdir: /proc/1/root (another process's root)" "$SPROUT" run -w /proc/1/root "$img" true
# runc CVE-2024-21626: a working directory through a file descriptor the runtime still holds
# would be a handle on the host. Every fd the helper might hold is tried; each must be refused.
bad=
for n in $(seq 3 64); do
  out=$("$SPROUT" run --no-home -w "/proc/self/fd/$n" "$img" sh -c 'pwd; ls -a' 2>&1); st=$?
  [ "$st" = 125 ] || bad="$bad fd $n: exit $st: $(echo "$out" | head -n 3 | tr '\n' ' ');"
done
n_cases=$((n_cases + 1))
if [ -z "$bad" ]; then n_contained=$((n_contained + 1)); t_ok "workdir: /proc/self/fd/3..64 all refused (no host handle)"
else t_notok "workdir: /proc/self/fd/3..64 all refused (no host handle)" "$bad"; fi
n_cases=$((n_cases + 1))
out=$("$SPROUT" run --no-home -w /proc/self/cwd "$img" sh -c 'readlink /proc/self/cwd; ls /proc/self/cwd/' 2>&1); st=$?
if [ "$st" = 125 ] || { [ "$st" = 0 ] && [ "$(echo "$out" | head -n 1)" = / ] && echo "$out" | grep -qx bin; }; then
  n_contained=$((n_contained + 1)); t_ok "workdir: /proc/self/cwd resolves inside the container"
else t_notok "workdir: /proc/self/cwd resolves inside the container" "exit $st" "$out"; fi
# nothing the helper opened reaches the command: with the caller's other fds closed, only 0,
# 1 and 2 are open inside
n_cases=$((n_cases + 1))
# (ls lists the shell's table from a child, so its own directory fd is not counted)
out=$("$SPROUT" run --no-home "$img" sh -c 'ls /proc/$$/fd; true' 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- | tr '\n' ' ')
if [ "$out" = "0 1 2 " ]; then n_contained=$((n_contained + 1)); t_ok "no descriptor of the helper leaks into the container"
else t_notok "no descriptor of the helper leaks into the container" "fds inside: $out"; fi

# ---- --env --------------------------------------------------------------------------------------
refused "env: no =" "$SPROUT" run -e FOO "$img" true
refused "env: empty name" "$SPROUT" run -e =1 "$img" true
refused "env: newline in the name" "$SPROUT" run -e $'A\nB=1' "$img" true
refused "env: space in the name" "$SPROUT" run -e 'A B=1' "$img" true
n_cases=$((n_cases + 1))
out=$("$SPROUT" run --no-home -e "V=a,b:c"$'\n'"d" "$img" sh -c 'printf %s "$V"' 2>&1)
if [ "$out" = "a,b:c"$'\n'"d" ]; then n_contained=$((n_contained + 1)); t_ok "env: a value with , : and a newline arrives verbatim"
else t_notok "env: a value with , : and a newline arrives verbatim" "$out"; fi

# ---- the cache directory ------------------------------------------------------------------------
ct=$T_TMP/cache-tests
mkdir -p "$ct/real"
ln -s "$ct/real" "$ct/link"
refused "cache: --cache-dir is a symlink" "$SPROUT" --cache-dir "$ct/link" images
refused "cache: SPROUT_CACHE_DIR is a symlink" env SPROUT_CACHE_DIR="$ct/link" "$SPROUT" import "$img"
t_is "$(ls -A "$ct/real")" "" "cache: nothing written through the symlink"
if [ "$(id -u)" != 0 ]; then
  refused "cache: a directory owned by root (/tmp)" "$SPROUT" --cache-dir /tmp images
  refused "cache: a directory owned by root (/var/tmp) for import" env SPROUT_CACHE_DIR=/var/tmp "$SPROUT" import "$img"
else
  t_skip "cache: a directory owned by another user" "running as root"
fi
refused "cache: a regular file" "$SPROUT" --cache-dir "$canary/secret" images
refused "cache: over-long path" "$SPROUT" --cache-dir "/$huge" images
mkdir -m 0777 "$ct/open-cache"
"$SPROUT" --cache-dir "$ct/open-cache" images > /dev/null 2>&1
t_is "$(stat -c %a "$ct/open-cache")" 700 "cache: a world-writable cache of the user's is made private (0700)"

t_is "$(snapshot)" "$before" "nothing outside the caches changed"
finish
