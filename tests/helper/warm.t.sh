#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/helper/warm.t.sh: the warm path and the importer split (sprout(1) FILES, the ref
# index). sprout is a static PIE (else links only libc); a cached image is found through the ref
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
# make one, else libc only (an ASan/UBSan build adds the sanitizers' runtimes)
if command -v readelf >/dev/null && ! readelf -lW "$SPROUT" | grep -q ' INTERP '; then
  t_is "$(readelf -hW "$SPROUT" | awk '/Type:/ { print $2 }'):$(readelf -dW "$SPROUT" | grep -c NEEDED)" "DYN:0" \
    "sprout is a static PIE: position independent, no shared library, no loader"
elif command -v ldd >/dev/null; then
  libs=$(ldd "$SPROUT" | awk '{ print $1 }' | sed 's,.*/,,' | grep -vE '^(linux-vdso|ld-linux)' \
         | { if [ -n "${SPROUT_SANITIZERS:-}" ]; then grep -vE '^(libasan|libubsan|libstdc\+\+|libgcc_s|libm)\.'; else cat; fi } \
         | sort | tr '\n' ' ')
  t_is "$libs" "libc.so.6 " "sprout (dynamic build) links only libc"
else
  t_skip "sprout links only libc" "no ldd"
fi
# where musl-gcc is installed (as install-deps does) configure links it against musl: none
# of glibc's static start-up (cpuid probing, self-relocation: ~1 ms per start on a VM)
if command -v musl-gcc >/dev/null && [ -z "${SPROUT_SANITIZERS:-}" ] && nm "$SPROUT" 2>/dev/null | grep -qw sp_container_enter; then
  t_is "$(nm "$SPROUT" | grep -cw -e init_cpu_features -e _dl_relocate_static_pie)" 0 \
    "with musl-gcc installed, sprout is linked against musl (no glibc start-up in it)"
fi
importer=$(dirname "$(readlink -f "$SPROUT")")/sprout-import
t_check "sprout-import lies next to sprout" test -x "$importer"
# the cache's records are our own format: no JSON library in sprout (the importer has one)
if command -v nm >/dev/null && nm "$SPROUT" 2>/dev/null | grep -qw sp_image_get; then
  t_is "$(nm "$SPROUT" | grep -c ' json_')" 0 "sprout has no json_ symbol (no JSON library linked)"
  t_check "sprout-import does use jansson" sh -c "nm -D '$importer' 2>/dev/null | grep -q ' json_loadb' || nm '$importer' | grep -q ' json_loadb'"
else
  t_skip "sprout has no json_ symbol" "no nm, or a stripped sprout"
  t_skip "sprout-import does use jansson" "no nm, or a stripped sprout"
fi

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

at_root () { (cd / && "$@"); }  # from /, which sprout does not bind: the config's working directory

# ---- a bundle: config.json is read by the importer on a miss and recorded in the ref index
if t_need_image busybox.bundle "bundle records"; then
  export SPROUT_CACHE_DIR=$W/cache-bundle
  cp -r "$SPROUT_IMAGES/busybox.bundle" "$W/bundle"
  python3 - "$W/bundle/config.json" 'FIRST=first' <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["env"] = ["PATH=/bin:/usr/bin", sys.argv[2], "ODD=a\nb\\c=d"]; c["process"]["cwd"] = "/tmp"
json.dump(c, open(sys.argv[1], "w"))
PY
  t_status 0 "cold run of a bundle (the importer reads config.json)" at_root "$SPROUT" run "$W/bundle" sh -c 'echo "$FIRST $(pwd)"; printf "%s" "$ODD" | od -An -c | tr -s " "'
  t_is "$T_OUT" "first /tmp
"' a \n b \ c = d' "... its env (a newline and a backslash in a value) and cwd"
  t_is "$(grep -l '^kind bundle$' "$SPROUT_CACHE_DIR"/refs/* | wc -l)" 1 "... recorded in the ref index"
  t_status 0 "warm run of the bundle without the importer" at_root "$LONE" run "$W/bundle" sh -c 'echo "$FIRST $(pwd)"'
  t_is "$T_OUT" "first /tmp" "... the same config"
  python3 - "$W/bundle/config.json" 'FIRST=second' <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["env"][1] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
PY
  if $lone_cold_fails; then
    t_status 125 "config.json changed: the record is stale, the importer is needed" "$LONE" run "$W/bundle" true
  else
    t_skip "changed bundle without the importer" "an installed sprout-import exists"
  fi
  t_status 0 "changed bundle: its new config" "$SPROUT" run "$W/bundle" sh -c 'echo "$FIRST"'
  t_is "$T_OUT" "second" "... is used"
fi

# ---- the warm path and the importer classify every IMAGE alike (one parser): run (sprout
# decides whether the importer is needed) and import (the importer decides) agree
export SPROUT_CACHE_DIR=$W/cache-agree
mkdir -p "$W/agree" && cp -r "$BB" "$W/agree/co:lon" && cp -r "$BB" "$W/agree/plain" && mkdir -p "$W/agree/empty"
tar -C "$BB" -cf "$W/agree/b.tar" .
refs=("$W/agree/plain" "$W/agree/co:lon" "$W/agree/b.tar" "$W/agree/missing" "$W/agree/missing:v1" "$W/agree/empty" "")
[ -d "$SPROUT_IMAGES/busybox.rootfs" ] && refs+=("$SPROUT_IMAGES/busybox.rootfs" "$SPROUT_IMAGES/busybox.rootfs:v1")
[ -d "$W/bundle" ] && refs+=("$W/bundle" "$W/bundle:v1")
[ -n "${TAGGED:-}" ] && refs+=("$TAGGED:v1" "$TAGGED:nosuchtag")
for ref in "${refs[@]}"; do
  run_out=$("$SPROUT" run "$ref" true 2>&1); run_st=$?
  imp_out=$("$SPROUT" import "$ref" 2>&1); imp_st=$?
  [ "$run_st" = 0 ] && run_st=ok; [ "$imp_st" = 0 ] && imp_st=ok
  t_is "$run_st $(printf '%s\n' "$run_out" | grep '^sprout: error:')" "$imp_st $(printf '%s\n' "$imp_out" | grep '^sprout: error:')" \
    "run and import agree on \"${ref#"$W/"}\" ($imp_st)"
done

# ---- a cache of format 1 (meta.json, JSON ref records, no format file), as sprout wrote it
# before: sprout never reads it; the importer converts an entry when it is used
export SPROUT_CACHE_DIR=$W/cache-old
d=$("$SPROUT" import "$BB")
e=$SPROUT_CACHE_DIR/images/${d#sha256:}
python3 - "$e" "$d" "$BB" <<'PY'
import json, os, sys
e, d, name = sys.argv[1:4]
meta = {"digest": d, "mediaType": "application/vnd.oci.image.manifest.v1+json", "configDigest": "sha256:" + "0" * 64,
        "names": [name, "old-name"], "size": 12345, "created": 1700000000,
        "config": {"Env": ["PATH=/bin:/usr/bin", "OLD=from meta.json"], "Entrypoint": None, "Cmd": ["sh"], "WorkingDir": "/etc"},
        "layers": []}
open(os.path.join(e, "meta.json"), "w").write(json.dumps(meta, indent=2, sort_keys=True) + "\n")
os.unlink(os.path.join(e, "record"))
PY
for f in "$SPROUT_CACHE_DIR"/refs/*; do
  printf '{\n  "digest": "%s",\n  "key": "[\\"layout\\",\\"%s\\",null,1,2,3,4,5,6,7]"\n}\n' "$d" "$BB" > "$f"
done
rm "$SPROUT_CACHE_DIR/format"
if $lone_cold_fails; then
  t_status 125 "format 1 cache: sprout alone does not read meta.json (it needs the importer)" "$LONE" run "$BB" true
else
  t_skip "format 1 cache without the importer" "an installed sprout-import exists"
fi
t_status 0 "format 1 cache: run converts the entry" at_root "$SPROUT" run "$BB" sh -c 'echo "$OLD"; pwd'
t_is "$T_OUT" "from meta.json
/etc" "... its config is the one meta.json held (not imported again)"
t_check "... into a record" grep -qx 'sprout-record 1' "$e/record"
t_is "$(cat "$SPROUT_CACHE_DIR/format")" 2 "... and the cache is marked format 2"
t_status 0 "... after which sprout alone uses it" "$LONE" run "$BB" sh -c 'echo "$OLD"'
t_is "$T_OUT" "from meta.json" "... with the same config"
t_is "$("$SPROUT" images --json | jq -r '.[0].names | join(",")' 2>/dev/null)" "$BB,old-name" "images: the names meta.json held"
# a later format, as a later sprout would write it: its records' first line says so too
echo 3 > "$SPROUT_CACHE_DIR/format"
sed -i '1s/.*/sprout-record 2/' "$e/record" "$SPROUT_CACHE_DIR"/refs/*
t_status 125 "a cache of a format this sprout does not know is refused" "$SPROUT" run "$BB" true
t_is "$(printf '%s\n' "$T_OUT" | grep -c '^sprout: error: cache .*: format "3" is not this sprout.s')" 1 "... in one line naming it"

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
