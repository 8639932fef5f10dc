#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/test: as root
# tests/slurm/load.t.sh: load on the local cluster. Runs as root (to read the
# daemons' fd tables) and submits everything as the test user with runuser.
#   1. a cold cache: two concurrent steps of 64 tasks per node on 3 nodes (oversubscribed:
#      --overcommit) all succeed, and each node unpacks the image exactly once. The signal is
#      the kernel's: an inotify watch on each node cache's tmp/ counts the import-* working
#      directories created (every unpack makes one; a reuse makes none).
#   2. 200 steps in a row in one allocation leave nothing behind: no slurmstepd or sprout
#      process, no mount, no fd in slurmd, and slurmd's RSS does not grow past a bound.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T=${SPROUT_TEST_TIMEOUT:-300}
skip_all () { t_skip "load tests (all)" "$1"; t_done; exit; }
t_slurm_root_prelude skip_all "for the daemons' fd tables"
BB=$(t_image busybox.oci) || skip_all "test image busybox.oci not built (scripts/mkimage)"
uid=$(id -u "$U")
chmod 0755 "$T_TMP"
cd "$T_TMP" || exit 1
as_user () {
  runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$(getent passwd "$U" | cut -d: -f6)" \
    LANG=C.UTF-8 SLURM_CONF="$SLURM_CONF" "$@"
}
nodes=$(sinfo -h -N -o '%N' | sort -u)
n_nodes=$(echo "$nodes" | wc -l)
[ "$n_nodes" -ge 3 ] || skip_all "the cluster has $n_nodes nodes, the test wants 3"

# ---- 1. cold cache, 64 tasks per node, two steps at once ---------------------------------------
# a fresh image: busybox.oci plus a layer holding a random token, so no node has it cached
img=$T_TMP/cold.oci
token=$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
python3 - "$BB" "$img" "$token" <<'EOF' || skip_all "cannot build a fresh image"
import gzip, hashlib, io, json, os, shutil, sys, tarfile
src, dst, token = sys.argv[1:]
shutil.copytree(src, dst)
def blob(d): return os.path.join(dst, "blobs", "sha256", d.split(":")[1])
def put(b):
    d = "sha256:" + hashlib.sha256(b).hexdigest()
    open(blob(d), "wb").write(b)
    return d
idx = json.load(open(os.path.join(dst, "index.json")))
md = idx["manifests"][0]
man = json.load(open(blob(md["digest"])))
cfg = json.load(open(blob(man["config"]["digest"])))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
    ti = tarfile.TarInfo("token"); data = token.encode() + b"\n"; ti.size = len(data); ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(data))
t = buf.getvalue(); z = gzip.compress(t, mtime=0)
man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(z), "size": len(z)})
cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(t).hexdigest())
cb = json.dumps(cfg).encode()
man["config"]["digest"], man["config"]["size"] = put(cb), len(cb)
mb = json.dumps(man).encode()
md["digest"], md["size"] = put(mb), len(mb)
json.dump(idx, open(os.path.join(dst, "index.json"), "w"))
EOF
chown -R "$U:" "$img"

# each node's cache (plugstack cache_dir=, %n node and %u uid): created by a warm step first
cache_tmpl=$(grep -o 'cache_dir=[^ ]*' "$plugstack" | head -n 1); cache_tmpl=${cache_tmpl#cache_dir=}
[ -n "$cache_tmpl" ] || skip_all "plugstack.conf sets no cache_dir= (the test watches the caches)"
as_user timeout "$T" srun -N3 --container="$BB" true > /dev/null 2>&1
dirs=()
for n in $nodes; do
  d=${cache_tmpl//%n/$n}; d=${d//%u/$uid}
  [ -d "$d/tmp" ] || skip_all "no cache at $d/tmp after a step on $n"
  dirs+=("$d/tmp")
done
python3 - "${dirs[@]}" > "$T_TMP/creates" 2>&1 <<'EOF' &
# print "<watched dir> <name>" for every directory created in the watched dirs until killed
import ctypes, os, struct, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
fd = libc.inotify_init()
wd = {}
for d in sys.argv[1:]:
    w = libc.inotify_add_watch(fd, d.encode(), 0x100)  # IN_CREATE
    if w < 0: sys.exit("inotify_add_watch %s: errno %d" % (d, ctypes.get_errno()))
    wd[w] = d
print("watching", len(wd), flush=True)
while True:
    buf = os.read(fd, 65536)
    i = 0
    while i < len(buf):
        w, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode(errors="replace")
        if mask & 0x40000000:  # IN_ISDIR
            print(wd.get(w, "?"), name, flush=True)
        i += 16 + ln
EOF
watcher=$!
for _ in $(seq 1 50); do grep -q '^watching' "$T_TMP/creates" 2>/dev/null && break; sleep 0.1; done
probe="test \"\$(cat /token)\" = $token && echo ok-\$SLURM_NODEID"
for s in 1 2; do
  as_user timeout "$T" srun -N3 --ntasks-per-node=64 --overcommit --container="$img" sh -c "$probe" \
    > "$T_TMP/step$s.out" 2> "$T_TMP/step$s.err" &
  eval "step$s=\$!"
done
wait "$step1"; st1=$?
wait "$step2"; st2=$?
sleep 0.5
kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
for s in 1 2; do
  okc=$(grep -c '^ok-' "$T_TMP/step$s.out")
  st=st$s
  if [ "${!st}" = 0 ] && [ "$okc" = 192 ]; then t_ok "cold cache, step $s: 192 tasks (64 per node on 3 nodes) all ran in the image"
  else t_notok "cold cache, step $s: 192 tasks all ran in the image" "exit ${!st}, $okc ok lines" "$(head -n 20 "$T_TMP/step$s.err")"; fi
done
t_is "$(sed 's/^ok-//' "$T_TMP/step1.out" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "64 64 64 " \
  "cold cache: 64 tasks on each node"
for d in "${dirs[@]}"; do
  n=$(grep -c "^$d import-" "$T_TMP/creates")
  t_is "$n" 1 "cold cache: exactly one unpack on $(basename "$(dirname "$d")") (import-* directories created)"
done
t_is "$(grep -c '^watching 3' "$T_TMP/creates")" 1 "the inotify watch covered the 3 node caches"

# ---- 2. 200 steps in a row leave nothing behind ------------------------------------------------
slurmds=$(pgrep -f "^slurmd -f $SPROUT_STATE/slurm.conf " | sort)
[ "$(echo "$slurmds" | wc -l)" = "$n_nodes" ] || { t_notok "found the $n_nodes slurmds" "$slurmds"; t_done; exit; }
rss () { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds () { ls "/proc/$1/fd" | wc -l; }
mnts () { wc -l < "/proc/$1/mountinfo"; }
state () { for p in $slurmds; do echo "$p $(rss "$p") $(fds "$p") $(mnts "$p")"; done; }
# what is left of job $1: its step daemons, and any process of the user that carries its
# SLURM_JOB_ID (other users of the machine and other clusters are not counted)
leftovers () {
  local p
  { for p in $(pgrep -f "^slurmstepd: \[$1\."); do  # this cluster's (its log dir is their cwd)
      [[ $(readlink "/proc/$p/cwd") == "$SPROUT_STATE"/* ]] && echo "$p"
    done
    for p in $(pgrep -u "$uid"); do
      { tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null | grep -qx "SLURM_JOB_ID=$1" && echo "$p"
    done; } | sort -u | tr '\n' ' '
}
steps="for i in \$(seq 1 \$1); do srun --container=$BB true || { echo failed at \$i; exit 1; }; done; echo done"
# warm-up: Slurm's own caches (credentials, user lookups) fill in the first steps
as_user timeout "$T" salloc -N3 -t 10 bash -c "$steps" _ 20 > /dev/null 2>&1
sleep 1
before=$(state) host_mnt_before=$(wc -l < /proc/self/mountinfo)
out=$(as_user timeout 600 salloc -N3 -t 15 bash -c "$steps" _ 200 2>&1); st=$?
t_is "$st:$(printf '%s\n' "$out" | grep -E '^(done|failed)')" "0:done" "200 steps in a row on 3 nodes all succeed"
job=$(printf '%s\n' "$out" | sed -n 's/^salloc: Granted job allocation \([0-9]*\).*/\1/p' | head -n 1)
[ -n "$job" ] || t_notok "salloc names its job" "$out"
# give the step daemons a moment to finish exiting
for _ in $(seq 1 50); do [ -z "$(leftovers "$job")" ] && break; sleep 0.2; done
after=$(state) host_mnt_after=$(wc -l < /proc/self/mountinfo)
t_is "$(leftovers "$job")" "" "no slurmstepd or process of job $job is left"
t_is "$host_mnt_after" "$host_mnt_before" "no mount left on the host ($host_mnt_before mounts before and after)"
echo "# slurmd pid rss_kib fds mounts, before:"; echo "$before" | sed 's/^/#   /'
echo "# after 200 steps:"; echo "$after" | sed 's/^/#   /'
# RSS: glibc's heap and Slurm's caches may settle a little; a per-step leak of even 10 KiB
# would show as 2 MiB, so the bound is 1 MiB per slurmd over 200 steps
while read -r p r0 f0 m0; do
  read -r _ r1 f1 m1 < <(echo "$after" | grep "^$p ")
  t_is "$f1" "$f0" "slurmd $p: same number of open fds ($f0)"
  t_is "$m1" "$m0" "slurmd $p: same mounts ($m0)"
  if [ $((r1 - r0)) -le 1024 ]; then t_ok "slurmd $p: RSS $r0 -> $r1 KiB (growth under 1 MiB over 200 steps)"
  else t_notok "slurmd $p: RSS growth under 1 MiB over 200 steps" "$r0 -> $r1 KiB"; fi
done <<< "$before"
t_done
