#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# valgrind.t.sh: valgrind finds no leak and no memory error in the import path:
# a layout, an oci-archive, a docker-archive, a multi-layer image, and failing imports
# (a tampered blob, a truncated stream: the error paths free what they allocated too). Children
# are traced, so the importer sprout runs counts as well. Valgrind knows no openat2, so
# this exercises the fallback walk (as SPROUT_FORCE_ENOSYS would).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

if ! command -v valgrind >/dev/null; then t_skip "valgrind: no leak in the import path" "valgrind not installed"; t_done; exit; fi
t_need_image busybox.oci "valgrind" || { t_done; exit; }
# sprout is a static PIE (valgrind cannot see its malloc): its dynamic twin, staged next to it
SPROUT_VG=${SPROUT%/*}/sprout-dynamic
[ -x "$SPROUT_VG" ] || SPROUT_VG=$SPROUT
fx=$T_TMP/fx
python3 "$SPROUT_SRC/tests/fixtures/mkhostile.py" "$fx/h" "$T_TMP" > /dev/null 2>&1

# vg DESC WANT-STATUS IMAGE: import IMAGE into a fresh cache under valgrind
n=0
vg () {
  local d=$1 want=$2 img=$3 logs st bad
  n=$((n + 1)); logs=$T_TMP/vg-$n; mkdir -p "$logs"
  SPROUT_CACHE_DIR=$T_TMP/cache-$n valgrind -q --trace-children=yes --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --log-file="$logs/%p.log" "$SPROUT_VG" --quiet import "$img" > /dev/null 2>&1
  st=$?
  bad=$(cat "$logs"/*.log 2>/dev/null | grep -vE 'unhandled amd64-linux syscall: 437|You may be able to write|README_MISSING_SYSCALL|Nevertheless we consider|valgrind.org/support/bug_reports|^==[0-9]+== *$|^--[0-9]+-- *$')
  if [ "$st" = "$want" ] && [ -z "$bad" ]; then t_ok "valgrind: $d (exit $st, $(ls "$logs" | wc -l) processes, clean)"
  else t_notok "valgrind: $d" "exit $st, wanted $want" "$bad"; fi
}
vg "import of an OCI layout" 0 "$SPROUT_IMAGES/busybox.oci"
[ -e "$SPROUT_IMAGES/layers.oci" ] && vg "import of a multi-layer image (whiteouts)" 0 "$SPROUT_IMAGES/layers.oci"
[ -e "$SPROUT_IMAGES/busybox.oci.tar" ] && vg "import of an oci-archive" 0 "$SPROUT_IMAGES/busybox.oci.tar"
[ -e "$SPROUT_IMAGES/busybox.docker.tar" ] && vg "import of a docker-archive" 0 "$SPROUT_IMAGES/busybox.docker.tar"
[ -e "$SPROUT_IMAGES/busybox-zstd.oci" ] && vg "import of a zstd image" 0 "$SPROUT_IMAGES/busybox-zstd.oci"
[ -d "$fx/h/tampered-blob.oci" ] && vg "a tampered blob (error path)" 125 "$fx/h/tampered-blob.oci"
[ -d "$fx/h/hardlink-out.oci" ] && vg "a hard link out of the root (error path)" 125 "$fx/h/hardlink-out.oci"
[ -d "$fx/h/truncated-gzip.oci" ] && vg "a truncated gzip layer (error path)" 125 "$fx/h/truncated-gzip.oci"
[ -d "$fx/h/wrong-diff-id.oci" ] && vg "a wrong diff_id (error path)" 125 "$fx/h/wrong-diff-id.oci"
# the warm path (an entry already cached) under valgrind too
logs=$T_TMP/vg-warm; mkdir -p "$logs"
SPROUT_CACHE_DIR=$T_TMP/cache-1 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
  --log-file="$logs/%p.log" "$SPROUT_VG" --quiet images > /dev/null 2>&1; st=$?
t_is "$st:$(cat "$logs"/*.log 2>/dev/null)" "0:" "valgrind: sprout images on a filled cache is clean"
t_done
