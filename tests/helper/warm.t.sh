#!/bin/bash
# tests/helper/warm.t.sh: the warm path and the importer split (sprout(1) FILES, the ref
# index). sprout is a static PIE (else links only libc and jansson); a cached image is found through the ref
# index without the importer; a layout or archive replaced under the same path is the new
# image; the importer's errors reach the user once; an import under a low fd limit works.
# Run as the test user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

if [ "$(id -u)" = 0 ]; then
  t_skip "warm start tests" "run as an unprivileged user (runuser -u sprout-test)"; t_done; exit
fi
t_need_image layers.oci "warm start tests" || { t_done; exit; }
t_need_image busybox.oci "warm start tests" || { t_done; exit; }
LAYERS=$(t_image layers.oci)
BB=$(t_image busybox.oci)
W=$T_TMP/work
mkdir -p "$W" && cd "$W" || exit 1

# ---- sprout's own link: a static PIE (no loader, no shared library) where configure could
# make one, else libc and jansson only (an ASan/UBSan build adds the sanitizers' runtimes)
if command -v readelf >/dev/null && ! readelf -lW "$SPROUT" | grep -q ' INTERP '; then
  t_is "$(readelf -hW "$SPROUT" | awk '/Type:/ { print $2 }'):$(readelf -dW "$SPROUT" | grep -c NEEDED)" "DYN:0" \
    "sprout is a static PIE: position independent, no shared library, no loader"
elif command -v ldd >/dev/null; then
  libs=$(ldd "$SPROUT" | awk '{ print $1 }' | sed 's,.*/,,' | grep -vE '^(linux-vdso|ld-linux)' \
         | { if [ -n "${SPROUT_SANITIZERS:-}" ]; then grep -vE '^(libasan|libubsan|libstdc\+\+|libgcc_s|libm)\.'; else cat; fi } \
         | sort | tr '\n' ' ')
  t_is "$libs" "libc.so.6 libjansson.so.4 " "sprout (dynamic build) links only libc and jansson"
else
  t_skip "sprout links only libc and jansson" "no ldd"
fi
# where musl-gcc is installed (as install-deps does) configure links it against musl: none
# of glibc's static start-up (cpuid probing, self-relocation: ~1 ms per start on a VM)
if command -v musl-gcc >/dev/null && [ -z "${SPROUT_SANITIZERS:-}" ] && nm "$SPROUT" 2>/dev/null | grep -qw sp_container_enter; then
  t_is "$(nm "$SPROUT" | grep -cw -e init_cpu_features -e _dl_relocate_static_pie)" 0 \
    "with musl-gcc installed, sprout is linked against musl (no glibc start-up in it)"
fi
importer=$(dirname "$(readlink -f "$SPROUT")")/sprout-import
t_check "sprout-import lies next to sprout" test -x "$importer"

# A copy of sprout without its importer: it can only use what the ref index knows.
# (When an installed importer exists in libexecdir the copy finds that one instead.)
mkdir -p "$W/lone"
cp "$SPROUT" "$W/lone/sprout"
LONE=$W/lone/sprout
lone_cold_fails=true
strings "$SPROUT" 2>/dev/null | grep -E '^/.*libexec$' | while read -r d; do [ -x "$d/sprout/sprout-import" ] && echo x; done \
  | grep -q x && lone_cold_fails=false

# ---- a layout: cold, warm, re-copied under the same path
cp -r "$LAYERS" "$W/img"
t_status 0 "cold run of a layout" "$SPROUT" run "$W/img" cat /a/keep.txt
t_is "$T_OUT" "keep" "... runs the image"
t_status 0 "warm run without the importer (ref index)" "$LONE" run "$W/img" cat /a/keep.txt
t_is "$T_OUT" "keep" "... runs the same image"
t_is "$(ls "$SPROUT_CACHE_DIR/refs" | wc -l)" 1 "one ref record for the layout"

rm -rf "$W/img"
cp -r "$BB" "$W/img"
if $lone_cold_fails; then
  t_status 125 "re-copied with another image: the record is stale, so the importer is needed" \
    "$LONE" run "$W/img" true
  t_is "$(printf '%s\n' "$T_OUT" | grep -c '^sprout: error: cannot run the image importer')" 1 "... one error line says so"
else
  t_skip "re-copied layout without the importer" "an installed sprout-import exists"
  t_skip "... one error line" "an installed sprout-import exists"
fi
t_status 1 "re-copied layout: the new image runs (no /a/keep.txt in busybox)" "$SPROUT" run "$W/img" cat /a/keep.txt
t_status 0 "... its own files are there" "$SPROUT" run "$W/img" test -x /bin/busybox

# copied over in place, index.json keeping its inode and (cp -a) the source's mtime
cp -a "$LAYERS/." "$W/img/"
t_status 0 "layout copied over in place (same index.json inode, mtime kept): the new image" \
  "$SPROUT" run "$W/img" cat /a/keep.txt
t_is "$T_OUT" "keep" "... is used, not the cached busybox"

# ---- an oci-archive replaced by another under the same name
tar -C "$LAYERS" -cf "$W/a.tar" .
t_status 0 "cold run of an oci-archive" "$SPROUT" run "$W/a.tar" cat /a/keep.txt
t_status 0 "warm run of the archive without the importer" "$LONE" run "$W/a.tar" cat /a/keep.txt
tar -C "$BB" -cf "$W/b.tar" .
mv "$W/b.tar" "$W/a.tar"
t_status 1 "archive replaced by another: the new image runs" "$SPROUT" run "$W/a.tar" cat /a/keep.txt
t_status 0 "... its own files are there" "$LONE" run "$W/a.tar" test -x /bin/busybox

# ---- tags: one record each, each to its own entry
if TAGGED=$(t_image busybox-tagged.oci); then
  d1=$("$SPROUT" import "$TAGGED:v1" 2>/dev/null)
  d2=$("$SPROUT" import "$TAGGED:v2" 2>/dev/null)
  t_check "two tags, two digests" test -n "$d1" -a -n "$d2" -a "$d1" != "$d2"
  t_status 0 "warm run of PATH:v2 without the importer" "$LONE" run "$TAGGED:v2" true
  names2=$("$SPROUT" images --json | jq -r --arg d "$d2" '.[] | select(.digest == $d) | .names[]' 2>/dev/null)
  names1=$("$SPROUT" images --json | jq -r --arg d "$d1" '.[] | select(.digest == $d) | .names[]' 2>/dev/null)
  t_is "$names2" "$TAGGED:v2" "PATH:v2's entry is v2's"
  t_is "$names1" "$TAGGED:v1" "PATH:v1's entry is v1's"
else
  t_skip "tags" "test image busybox-tagged.oci not built"
fi

# ---- the importer's error reaches the user once, exit 125, nothing left half-written
cp -r "$BB" "$W/bad"
blob=$(find "$W/bad/blobs" -type f -size +100k | head -1)
truncate -s 1000 "$blob"
export SPROUT_CACHE_DIR=$W/cache-bad   # busybox's entry is not there: the layers are read
t_status 125 "a damaged layout fails on a cold run with 125" "$SPROUT" run "$W/bad" true
t_is "$(printf '%s\n' "$T_OUT" | grep -c '^sprout: error: ')" 1 "... with one error line"
t_is "$(printf '%s\n' "$T_OUT" | grep -vc '^sprout: error: ')" 0 "... and nothing else"
t_is "$(ls "$SPROUT_CACHE_DIR/tmp" | wc -l)" 0 "... leaving nothing in the cache's tmp/"
t_status 125 "sprout import of it: the same, through the importer" "$SPROUT" import "$W/bad"
t_is "$(printf '%s\n' "$T_OUT" | grep -c '^sprout: error: ')" 1 "... one error line"

# ---- rm IMAGE: by its ref record, and when it has none (the importer resolves it)
export SPROUT_CACHE_DIR=$W/cache-rm   # $W/img was two images above: its name, two entries
d=$("$SPROUT" import "$W/img")
t_status 0 "rm by image path" "$SPROUT" rm "$W/img"
t_is "$T_OUT" "$d" "... removes its entry"
"$SPROUT" import "$W/img" >/dev/null
cp -r "$W/img" "$W/img2"   # never used: neither a name of the entry nor a ref record
t_status 0 "rm by the path of a copy never used" "$SPROUT" rm "$W/img2"
t_is "$T_OUT" "$d" "... finds the entry through the importer"
t_status 125 "rm of an image not in the cache fails" "$SPROUT" rm "$W/img2"
t_is "$(printf '%s\n' "$T_OUT" | grep -c '^sprout: error: ')" 1 "... in one line"

# ---- a cold start from a parent that ignores SIGCHLD (inherited: waitpid would say ECHILD)
if command -v python3 >/dev/null; then
  t_status 0 "cold run with SIGCHLD ignored by the parent" python3 -c '
import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.environ["SPROUT_CACHE_DIR"] = sys.argv[1]
os.execv(sys.argv[2], ["sprout", "run", sys.argv[3], "true"])' "$W/cache-chld" "$SPROUT" "$BB"
else
  t_skip "cold run with SIGCHLD ignored" "no python3"
fi

# ---- a low fd limit (runuser and Slurm tasks have 1024; the writers once ran out)
if PY=$(t_image py3.oci); then
  t_status 0 "import of py3.oci under ulimit -n 64 with 4 writer threads" \
    bash -c 'ulimit -n 64 && SPROUT_UNPACK_THREADS=4 SPROUT_CACHE_DIR=$1 "$2" import "$3"' _ "$W/c64" "$SPROUT" "$PY"
else
  t_skip "import under ulimit -n 64" "test image py3.oci not built"
fi

# ---- killing sprout during a cold import ends the importer too
if [ -n "${PY:-}" ]; then
  SPROUT_CACHE_DIR=$W/ck "$SPROUT" run "$PY" true 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do [ -n "$(ls "$W/ck/tmp" 2>/dev/null)" ] && break; sleep 0.05; done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  gone=no
  for _ in $(seq 50); do pgrep -u "$(id -u)" -f "sprout-import.*$W/ck" >/dev/null || { gone=yes; break; }; sleep 0.1; done
  t_is "$gone" yes "a killed sprout run takes its importer with it"
fi

t_done
