#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# import.t.sh: `sprout import/images/rm/prune/inspect` on images built by umoci, skopeo and
# mmdebstrap (scripts/mkimage): every kind of image, tags, the cache's locking, cleanup and
# refusals, and one-line errors for bad input. Runs as the unprivileged test user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

cache=$SPROUT_CACHE_DIR
entry_root () { echo "$cache/images/${1#sha256:}/rootfs"; }

# ---- every kind of image --------------------------------------------------------------------
if t_need_image busybox.oci "import an OCI layout"; then
  t_status 0 "import an OCI layout" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci"
  bb=$T_OUT
  t_match "$bb" '^sha256:[0-9a-f]{64}$' "import prints only the manifest digest (nothing else off a terminal)"
  t_is "$bb" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$SPROUT_IMAGES/busybox.oci/index.json")" \
    "the digest is the manifest's digest from index.json"
  t_is "$(cat "$(entry_root "$bb")/etc/motd" 2>&1)" "sprout busybox test image" "the root file system is unpacked"
  t_is "$(stat -c %U "$(entry_root "$bb")/bin/busybox")" "$(id -un)" "files belong to the user"
  t_is "$(stat -c %a "$cache")" 700 "the cache is mode 0700"
  t_status 0 "a second import reuses the entry" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci"
  t_is "$T_OUT" "$bb" "same digest the second time"
  t_status 0 "a relative path is taken against the current directory" \
    bash -c 'cd "$SPROUT_IMAGES" && "$SPROUT" import busybox.oci'
  t_is "$T_OUT" "$bb" "relative path: same image"
  t_status 0 "PATH:latest names the tag" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci:latest"
  mkdir -p "$T_TMP/with:colon"
  cp -r "$SPROUT_IMAGES/busybox.oci" "$T_TMP/with:colon/a:b.oci"
  t_status 0 "a path containing ':' is a path first" "$SPROUT" import "$T_TMP/with:colon/a:b.oci"
  t_is "$T_OUT" "$bb" "colon path: same image"
  t_status 0 "and PATH:TAG still works when PATH has ':'" "$SPROUT" import "$T_TMP/with:colon/a:b.oci:latest"
  t_status 125 "an unknown tag fails" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci:nosuchtag"
  t_match "$T_OUT" '^sprout: error: .*busybox.oci:nosuchtag.*tag "nosuchtag" not found \(tags: latest\)$' "unknown tag: one line listing the tags"
fi

if t_need_image busybox-tagged.oci "tags"; then
  t_status 125 "two tags and no latest: the image must be named by tag" "$SPROUT" import "$SPROUT_IMAGES/busybox-tagged.oci"
  t_match "$T_OUT" 'name one as PATH:TAG \(tags: v1, v2\)' "the error lists the tags"
  for t in v1 v2; do
    t_status 0 "import PATH:$t" "$SPROUT" import "$SPROUT_IMAGES/busybox-tagged.oci:$t"
    t_is "$(cat "$(entry_root "$T_OUT")/etc/tag" 2>&1)" "$t" "PATH:$t unpacks the $t image"
  done
fi

if t_need_image busybox.oci.tar "oci-archive" && [ -n "${bb:-}" ]; then
  t_status 0 "import an oci-archive" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci.tar"
  t_is "$T_OUT" "$bb" "the oci-archive holds the same manifest as the layout"
fi
if t_need_image busybox.docker.tar "docker-archive"; then
  t_status 0 "import a docker-archive" "$SPROUT" import "$SPROUT_IMAGES/busybox.docker.tar"
  t_is "$(cat "$(entry_root "$T_OUT")/etc/motd" 2>&1)" "sprout busybox test image" "docker-archive unpacked"
  t_status 0 "docker-archive by its RepoTag" "$SPROUT" import "$SPROUT_IMAGES/busybox.docker.tar:latest"
fi
for img in busybox-zstd.oci busybox-plain.oci; do
  if t_need_image $img "import $img"; then
    t_status 0 "import $img" "$SPROUT" import "$SPROUT_IMAGES/$img"
    t_is "$(cat "$(entry_root "$T_OUT")/etc/motd" 2>&1)" "sprout busybox test image" "$img unpacked"
  fi
done

if t_need_image layers.oci "whiteouts and opaque directories"; then
  t_status 0 "import a multi-layer image with whiteouts" "$SPROUT" import "$SPROUT_IMAGES/layers.oci"
  r=$(entry_root "$T_OUT") bad=
  while read -r t p c; do
    case $t in
      d) [ -d "$r$p" ] && [ ! -L "$r$p" ] || bad="$bad $p" ;;
      f) [ "$(cat "$r$p" 2>/dev/null)" = "$c" ] || bad="$bad $p" ;;
      x) [ ! -e "$r$p" ] && [ ! -L "$r$p" ] || bad="$bad $p" ;;
    esac
  done < "$SPROUT_IMAGES/layers.expected"
  t_is "$bad" "" "the tree matches layers.expected (whiteouts, opaque dir, replaced dir)"
fi

# a multi-platform index: this machine's manifest is chosen
if python3 "$SPROUT_SRC/tests/fixtures/mkmulti.py" "$T_TMP" 2>"$T_TMP/mkmulti.err"; then
  case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  t_status 0 "import a multi-platform image index" "$SPROUT" import "$T_TMP/multi.oci"
  t_is "$(cat "$(entry_root "$T_OUT")/arch" 2>&1)" "$arch" "the manifest for this machine ($arch) was chosen"
else
  t_notok "mkmulti.py builds a multi-platform layout" "$(cat "$T_TMP/mkmulti.err")"
fi

for img in busybox.bundle busybox.rootfs; do
  if t_need_image $img "$img is used in place"; then
    t_status 0 "import $img: used in place" "$SPROUT" import "$SPROUT_IMAGES/$img"
    t_match "$T_OUT" "used in place" "$img: says it is used in place"
    t_status 0 "inspect $img" "$SPROUT" inspect "$SPROUT_IMAGES/$img"
    t_match "$T_OUT" '"Digest": null' "$img: no digest"
  fi
done

# ---- the writer threads change nothing: same tree as applying every entry in order --------------
if t_need_image py3.oci "threaded and in-order unpacking agree"; then
  tree () { (cd "$1"/images/*/rootfs && find . -mindepth 1 -printf '%p %y %m %s %T@ %l\n' | sort | md5sum); }
  SPROUT_UNPACK_THREADS=1 "$SPROUT" --cache-dir "$T_TMP/cache-t1" import "$SPROUT_IMAGES/py3.oci" >/dev/null
  SPROUT_UNPACK_THREADS=4 "$SPROUT" --cache-dir "$T_TMP/cache-t4" import "$SPROUT_IMAGES/py3.oci" >/dev/null
  t_is "$(tree "$T_TMP/cache-t4")" "$(tree "$T_TMP/cache-t1")" "4 writer threads give the same names, types, modes, sizes, mtimes and links as 1"
  t_check "and the same contents" diff -r --no-dereference "$T_TMP"/cache-t1/images/*/rootfs "$T_TMP"/cache-t4/images/*/rootfs
  rm -rf "$T_TMP/cache-t1" "$T_TMP/cache-t4"
fi

# ---- memory does not grow with the layer: 200 MB unpacked, well under 64 MB resident ------------
if [ -x /usr/bin/time ] && python3 "$SPROUT_SRC/tests/fixtures/mkbig.py" "$T_TMP" 200; then
  t_status 0 "import a layer holding a 200 MB file" /usr/bin/time -f "rss=%M" "$SPROUT" --cache-dir "$T_TMP/cache-big" import "$T_TMP/big.oci"
  rss=$(printf '%s\n' "$T_OUT" | sed -n 's/^rss=//p')
  if [ -n "$rss" ] && [ "$rss" -lt 65536 ]; then t_ok "peak RSS ${rss} kB < 64 MB"
  else t_notok "peak RSS < 64 MB" "$T_OUT"; fi
  t_is "$(stat -c %s "$T_TMP/cache-big/images/"*/rootfs/big)" $((200 << 20)) "the file is whole"
  rm -rf "$T_TMP/cache-big" "$T_TMP/big.oci"
else
  t_skip "peak RSS of a big import" "/usr/bin/time (apt-get install time) or python3 missing"
fi

# ---- on a terminal, a progress bar --------------------------------------------------------------
if [ -n "${bb:-}" ] && command -v script >/dev/null; then
  out=$(SPROUT_CACHE_DIR=$T_TMP/cache-tty script -qec "'$SPROUT' import '$SPROUT_IMAGES/busybox.oci'" /dev/null 2>&1 | tr '\r' '\n')
  t_match "$out" '\[#+\] +[0-9.]+ / [0-9.]+ MB 100%' "on a terminal import draws a progress bar up to 100%"
  t_match "$out" "$bb" "and still prints the digest"
elif [ -n "${bb:-}" ]; then
  t_skip "progress bar on a terminal" "script(1) not installed"
fi

# ---- inspect, images, rm, prune ------------------------------------------------------------------
if [ -n "${bb:-}" ]; then
  t_status 0 "inspect an OCI layout" "$SPROUT" inspect "$SPROUT_IMAGES/busybox.oci"
  t_is "$(printf '%s' "$T_OUT" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["Digest"], j["Config"]["Cmd"], len(j["Layers"]))')" \
    "$bb ['sh'] 1" "inspect: digest, Cmd and layers as JSON"
  t_status 0 "images lists the cache" "$SPROUT" images
  t_match "$T_OUT" "sha256:${bb:7:12} .*$SPROUT_IMAGES/busybox.oci" "images shows digest and name"
  t_status 0 "images --json" "$SPROUT" images --json
  t_is "$(printf '%s' "$T_OUT" | python3 -c 'import json,sys,os; j=json.load(sys.stdin); e=[x for x in j if x["digest"]==sys.argv[1]][0]; print(sys.argv[2] in e["names"], e["size"]>1000000, e["in_use"])' "$bb" "$SPROUT_IMAGES/busybox.oci")" \
    "True True False" "images --json: names, size, not in use"

  # an entry in use (a shared lock on its lock file, as a running container holds) is kept
  exec 9< "$cache/images/${bb#sha256:}/lock"
  flock -s 9
  t_status 125 "rm refuses an image in use" "$SPROUT" rm "$bb"
  t_match "$T_OUT" "^sprout: error: $bb: in use" "rm in use: one line naming the digest"
  t_status 0 "prune keeps an image in use" "$SPROUT" prune
  t_match "$T_OUT" "$bb: in use; kept" "prune says it kept it"
  t_check "the entry is still there" test -d "$(entry_root "$bb")"
  exec 9<&-

  t_status 0 "import again so there is something to prune" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci"
  t_status 0 "prune --older-than 2 keeps what was used today" "$SPROUT" prune --older-than 2
  t_check "entry kept by --older-than" test -d "$(entry_root "$bb")"
  touch -d '3 days ago' "$cache/images/${bb#sha256:}/lock"
  t_status 0 "prune --older-than 2 removes what was last used 3 days ago" "$SPROUT" prune --older-than 2
  t_is "$T_OUT" "$bb" "prune prints what it removed"
  t_check "entry removed" test ! -e "$cache/images/${bb#sha256:}"
  t_status 0 "import after prune" "$SPROUT" import "$SPROUT_IMAGES/busybox.oci"
  t_status 0 "rm by a digest prefix" "$SPROUT" rm "${bb:7:12}"
  t_check "removed" test ! -e "$cache/images/${bb#sha256:}"
  "$SPROUT" import "$SPROUT_IMAGES/busybox.oci" >/dev/null
  t_status 0 "rm by the image path" "$SPROUT" rm "$SPROUT_IMAGES/busybox.oci"
  t_is "$T_OUT" "$bb" "rm prints the digest it removed"
  t_status 125 "rm of something not cached fails" "$SPROUT" rm "${bb:7:12}"
  t_match "$T_OUT" "^sprout: error: ${bb:7:12}: no such image in the cache" "rm: one line"
  t_is "$("$SPROUT" rm "$SPROUT_IMAGES/busybox.oci" 2>&1)" "sprout: error: $bb: not in the cache; nothing to remove" \
    "rm of an image that is not cached says so in one line"
  t_status 125 "prune --older-than needs a number" "$SPROUT" prune --older-than soon
fi

# ---- concurrency: N imports of one image unpack it once --------------------------------------
if t_need_image busybox.oci "concurrent imports"; then
  export SPROUT_CACHE_DIR=$T_TMP/cache-par
  for i in 1 2 3 4; do "$SPROUT" -v import "$SPROUT_IMAGES/busybox.oci" > "$T_TMP/par.$i" 2>&1 & done
  wait
  t_is "$(cat "$T_TMP"/par.* | grep -c '^sha256:')" 4 "4 concurrent imports all succeed"
  t_is "$(cat "$T_TMP"/par.* | grep -c ' files, ')" 1 "exactly one of them unpacked"
  t_is "$(ls -A "$SPROUT_CACHE_DIR/tmp")" "" "no temporary directory left"
  export SPROUT_CACHE_DIR=$cache
fi

# ---- a killed import leaves a temporary directory that the next run removes -------------------
if t_need_image py3.oci "cleanup after a killed import"; then
  export SPROUT_CACHE_DIR=$T_TMP/cache-kill
  "$SPROUT" import "$SPROUT_IMAGES/py3.oci" >/dev/null 2>&1 & pid=$!
  for _ in $(seq 100); do [ -n "$(ls -A "$SPROUT_CACHE_DIR/tmp" 2>/dev/null)" ] && break; sleep 0.05; done
  sleep 0.05  # the directory exists from the start of the import: any moment after is mid-import
  kill -9 $pid; wait $pid 2>/dev/null
  t_isnt_empty=$(ls -A "$SPROUT_CACHE_DIR/tmp" 2>/dev/null)
  t_match "$t_isnt_empty" '^import-' "a killed import leaves its temporary directory"
  t_is "$(ls -A "$SPROUT_CACHE_DIR/images")" "" "and no entry"
  t_status 0 "the next run succeeds" "$SPROUT" images
  t_is "$(ls -A "$SPROUT_CACHE_DIR/tmp")" "" "and removed the dead import's directory"
  export SPROUT_CACHE_DIR=$cache
fi

# ---- the cache itself ---------------------------------------------------------------------------
ln -s "$T_TMP/elsewhere" "$T_TMP/cache-link"
mkdir -p "$T_TMP/elsewhere"
t_status 125 "a cache that is a symlink is refused" env SPROUT_CACHE_DIR="$T_TMP/cache-link" "$SPROUT" images
t_match "$T_OUT" "^sprout: error: cache .*cache-link: is a symlink" "symlinked cache: one line"
t_status 125 "a cache owned by someone else is refused" "$SPROUT" --cache-dir /tmp images
t_match "$T_OUT" "^sprout: error: cache /tmp: owned by uid 0" "foreign cache: one line"

# ---- bad input: one line, exit 125, nothing published --------------------------------------------
mkdir -p "$T_TMP/bad/empty"
echo "hello" > "$T_TMP/bad/text.txt"
mkdir -p "$T_TMP/bad/badjson.oci"; echo '{"manifests": [' > "$T_TMP/bad/badjson.oci/index.json"
for c in "missing:$T_TMP/bad/nonexistent:No such file" "empty:$T_TMP/bad/empty:not an image" \
         "text:$T_TMP/bad/text.txt:not an image" "json:$T_TMP/bad/badjson.oci:invalid JSON"; do
  IFS=: read -r what path why <<< "$c"
  t_status 125 "bad input ($what) fails" "$SPROUT" import "$path"
  if [ "$(printf '%s\n' "$T_OUT" | wc -l)" = 1 ] && [[ $T_OUT == "sprout: error: $path"*"$why"* ]]; then
    t_ok "bad input ($what): one line naming the path and why"
  else t_notok "bad input ($what): one line naming the path and why" "$T_OUT"; fi
done
if [ -n "${bb:-}" ]; then
  cp -r "$SPROUT_IMAGES/busybox.oci" "$T_TMP/bad/unreadable.oci"
  layer=$(find "$T_TMP/bad/unreadable.oci/blobs" -type f -size +100k | head -1)
  chmod 000 "$layer"
  cp -r "$SPROUT_IMAGES/busybox.oci" "$T_TMP/bad/fifo.oci"
  layer=$(find "$T_TMP/bad/fifo.oci/blobs" -type f -size +100k | head -1)
  rm "$layer"; mkfifo "$layer"
  export SPROUT_CACHE_DIR=$T_TMP/cache-bad
  t_status 125 "a fifo in place of a layer fails, without hanging" timeout 20 "$SPROUT" import "$T_TMP/bad/fifo.oci"
  t_match "$T_OUT" "^sprout: error: $T_TMP/bad/fifo.oci: blobs/sha256/[0-9a-f]+: not a regular file$" "fifo: one line"
  t_status 125 "an unreadable layer fails" "$SPROUT" import "$T_TMP/bad/unreadable.oci"
  t_match "$T_OUT" "^sprout: error: $T_TMP/bad/unreadable.oci: .*Permission denied$" "unreadable: one line"
  t_status 125 "a full disk (file size limit) fails" bash -c 'trap "" XFSZ; ulimit -f 64; exec "$SPROUT" import "$1"' _ "$SPROUT_IMAGES/busybox.oci"
  t_match "$T_OUT" "^sprout: error: .*busybox.oci: layer 1 .*File too large$" "full disk: one line"
  t_is "$(find "$SPROUT_CACHE_DIR/images" "$SPROUT_CACHE_DIR/tmp" -mindepth 1 -maxdepth 1)" "" \
    "failed imports publish nothing and leave nothing"
  export SPROUT_CACHE_DIR=$cache
fi
t_done
