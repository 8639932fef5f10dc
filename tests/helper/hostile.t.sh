#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# hostile.t.sh: hand-made hostile layers (tests/fixtures/mkhostile.py). Every escape shape
# is refused or contained in the image's root file system; bad blobs fail the import and
# publish nothing; nothing appears in, or vanishes from, a canary directory next to the
# cache. Runs twice: with openat2, and with the fallback walk (SPROUT_FORCE_ENOSYS=1).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

canary=$T_TMP/canary
fx=$T_TMP/fx
mkdir -p "$canary"
echo secret > "$canary/secret"
if ! cases=$(python3 "$SPROUT_SRC/tests/fixtures/mkhostile.py" "$fx" "$canary" 2>&1); then
  t_notok "mkhostile.py builds the hostile layouts" "$cases"
  t_done; exit
fi

# everything under T_TMP except the caches and the fixtures, with link counts and sizes
snapshot () {
  (cd "$T_TMP" && find . -mindepth 1 \( -path './cache*' -o -path ./fx \) -prune -o -printf '%p %y %n %s\n' | sort
   cat canary/secret; stat -c '%h %i' canary/secret)
}
before=$(snapshot)
n_cases=0 n_contained=0

for mode in openat2 enosys; do
  cache=$T_TMP/cache-$mode
  export SPROUT_CACHE_DIR=$cache
  if [ $mode = enosys ]; then export SPROUT_FORCE_ENOSYS=1; else unset SPROUT_FORCE_ENOSYS; fi
  while read -r name expect what; do
    [ -n "$name" ] || continue
    entries_before=$(ls -A "$cache/images" 2>/dev/null)
    out=$("$SPROUT" import "$fx/$name.oci" 2>"$fx/err"); st=$?
    err=$(cat "$fx/err")
    n_cases=$((n_cases + 1)); held=false
    case $expect:$st in
      ok:0|either:0) t_ok "$mode: $name: $what: contained (imported)"; held=true ;;
      fail:125|either:125)
        if [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == "sprout: error: $fx/$name.oci"* ]]; then
          t_ok "$mode: $name: $what: refused with one line"; held=true
        else
          t_notok "$mode: $name: $what: refused with one line naming the image" "stderr: $err"
        fi ;;
      *) t_notok "$mode: $name: $what: expected $expect" "exit $st" "stdout: $out" "stderr: $err" ;;
    esac
    now=$(snapshot)
    t_is "$now" "$before" "$mode: $name: nothing outside the root file system changed"
    $held && [ "$now" = "$before" ] && n_contained=$((n_contained + 1))
    if [ $st != 0 ]; then
      t_is "$(ls -A "$cache/tmp" 2>/dev/null)" "" "$mode: $name: a failed import leaves no temporary directory"
      t_is "$(ls -A "$cache/images" 2>/dev/null)" "$entries_before" "$mode: $name: a failed import publishes no entry"
    else
      root=$cache/images/${out#sha256:}/rootfs
      case $name in
        abs-path) t_is "$(cat "$root$canary/abs" 2>&1)" owned "$mode: absolute path landed inside the root" ;;
        dotdot) t_is "$(cat "$root$canary/dotdot" 2>&1)" owned "$mode: ../ path landed inside the root" ;;
        symlink-root)
          t_is "$(cat "$root/x" 2>&1)" x "$mode: etc -> / resolved to the image's root"
          t_is "$(readlink "$root/etc")" / "$mode: the symlink itself is kept verbatim" ;;
        file-over-symlink)
          if [ -f "$root/f" ] && [ ! -L "$root/f" ] && [ "$(cat "$root/f")" = owned ]; then
            t_ok "$mode: the file replaced the symlink"
          else t_notok "$mode: the file replaced the symlink" "$(ls -l "$root/f" 2>&1)"; fi ;;
        dir-over-symlink)
          if [ -d "$root/d" ] && [ ! -L "$root/d" ] && [ -f "$root/d/x" ]; then t_ok "$mode: the directory replaced the symlink"
          else t_notok "$mode: the directory replaced the symlink" "$(ls -l "$root" 2>&1)"; fi ;;
        multi-member-gzip) t_is "$(stat -c %s "$root/big")" 100000 "$mode: both gzip members unpacked" ;;
        utf8-names) t_is "$(cat "$root/usr/share/été.txt" 2>&1)" summer "$mode: a UTF-8 name unpacked as is" ;;
        devices)
          if [ ! -e "$root/null" ] && [ ! -e "$root/fifo" ] && [ -x "$root/bin/true" ]; then
            t_ok "$mode: device node and fifo skipped, the rest unpacked"
          else t_notok "$mode: device node and fifo skipped" "$(ls -l "$root" 2>&1)"; fi ;;
      esac
    fi
  done <<< "$cases"
done

# --verbose reports the skipped device nodes once
unset SPROUT_FORCE_ENOSYS
export SPROUT_CACHE_DIR=$T_TMP/cache-verbose
t_status 0 "devices: import -v succeeds" "$SPROUT" -v import "$fx/devices.oci"
t_match "$T_OUT" "skipped 2 device nodes" "devices: --verbose reports 2 skipped entries"
t_done; st=$?
echo "# hostile: $n_cases cases, $n_contained contained"
exit $st
