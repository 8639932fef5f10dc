#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# hostile-images.t.sh: the hostile images that hostile.t.sh does not cover
# (tests/fixtures/mkgaps.py): 10,000 layers, 100,000 files, 4,096-byte names, names that are
# not UTF-8, setuid-root binaries, truncated zstd, invalid JSON at each level, an index with
# no manifest for this platform, missing blobs. Each case gets a fresh cache (a cached
# manifest would skip the layout's blobs) and must be imported or refused with one line,
# change nothing outside the cache and leave no temporary directory behind.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

canary=$T_TMP/canary
fx=$T_TMP/fx
mkdir -p "$canary"
echo secret > "$canary/secret"
if ! cases=$(python3 "$SPROUT_SRC/tests/fixtures/mkgaps.py" "$fx" 2>&1); then
  t_notok "mkgaps.py builds the hostile layouts" "$cases"
  t_done; exit
fi
snapshot () {
  (cd "$T_TMP" && find . -mindepth 1 \( -path './cache*' -o -path ./fx \) -prune -o -printf '%p %y %n %s\n' | sort
   cat canary/secret)
}
before=$(snapshot)
n_cases=0 n_contained=0

while read -r name expect what; do
  [ -n "$name" ] || continue
  n_cases=$((n_cases + 1)); ok=true
  cache=$T_TMP/cache-$name
  # a bound on each import: 10,000 layers or 100,000 files must not take minutes
  out=$(SPROUT_CACHE_DIR=$cache timeout 120 "$SPROUT" import "$fx/$name.oci" 2>"$fx/err"); st=$?
  err=$(cat "$fx/err")
  case $expect:$st in
    ok:0|either:0) t_ok "$name: $what: imported" ;;
    fail:125|either:125)
      if [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == "sprout: error: $fx/$name.oci"* ]]; then
        t_ok "$name: $what: refused with one line"
      else t_notok "$name: $what: refused with one line naming the image" "stderr: $err"; ok=false; fi ;;
    *) t_notok "$name: $what: expected $expect" "exit $st" "stdout: $out" "stderr: ${err:0:2000}"; ok=false ;;
  esac
  if [ "$(snapshot)" = "$before" ]; then t_ok "$name: nothing outside the cache changed"
  else t_notok "$name: nothing outside the cache changed" "$(diff <(echo "$before") <(snapshot))"; ok=false; fi
  left=$(ls -A "$cache/tmp" 2>/dev/null)
  t_is "$left" "" "$name: no temporary directory left"; [ -z "$left" ] || ok=false
  if [ "$st" = 0 ]; then
    root=$cache/images/${out#sha256:}/rootfs
    case $name in
      layers-10000)
        n=$(find "$root/l" -type f | wc -l)
        t_is "$n" 10000 "$name: all 10,000 layers applied"; [ "$n" = 10000 ] || ok=false ;;
      files-100000)
        n=$(find "$root/many" -type f | wc -l)
        t_is "$n" 100000 "$name: all 100,000 files unpacked"; [ "$n" = 100000 ] || ok=false ;;
      non-utf8-names)
        got=$(cat "$root"/caf$'\xe9'-$'\xff\xfe'.txt 2>&1)
        t_is "$got" latin1 "$name: the Latin-1 name unpacked byte for byte"; [ "$got" = latin1 ] || ok=false
        got=$(cat "$root"/d$'\x01\x7f\x1b'[2J 2>&1)
        t_is "$got" ctl "$name: a name with control characters unpacked as is"; [ "$got" = ctl ] || ok=false ;;
      setuid-root)
        # the cache is private (0700): no other user reaches a setuid file in it, and nothing
        # in it belongs to root
        mode=$(stat -c %a "$cache")
        t_is "$mode" 700 "$name: the cache is private to the user"; [ "$mode" = 700 ] || ok=false
        root_owned=$(find "$cache" -uid 0 | head -n 3)
        t_is "$root_owned" "" "$name: nothing unpacked belongs to root"; [ -z "$root_owned" ] || ok=false
        foreign=$(find "$cache" -perm /6000 ! -uid "$(id -u)" | head -n 3)
        t_is "$foreign" "" "$name: a setuid/setgid file can only be the user's own"; [ -z "$foreign" ] || ok=false ;;
    esac
  else
    pub=$(ls -A "$cache/images" 2>/dev/null)
    t_is "$pub" "" "$name: a failed import publishes no entry"; [ -z "$pub" ] || ok=false
  fi
  $ok && n_contained=$((n_contained + 1))
done <<< "$cases"

# a setuid binary in an image runs without raising privileges inside the container
if t_need_image busybox.oci "setuid inside: no privilege gained"; then
  uid=$(id -u)
  out=$("$SPROUT" run --no-home "$SPROUT_IMAGES/busybox.oci" sh -c 'grep -E "^(NoNewPrivs|CapEff|CapPrm)" /proc/self/status' 2>&1)
  t_match "$out" "NoNewPrivs:[[:space:]]+1" "setuid inside: no_new_privs is set, a setuid bit cannot raise privileges"
  t_match "$out" "CapEff:[[:space:]]+0+$" "setuid inside: no effective capabilities (uid $uid)"
fi

t_done; st=$?
echo "# hostile: $n_cases cases, $n_contained contained"
exit $st
