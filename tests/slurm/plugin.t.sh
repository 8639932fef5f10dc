#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/plugin.t.sh: `srun --container=IMAGE` through the SPANK plugin on the local
# cluster: every task inside the image on every node, the override case, relative
# and absolute images, each option and its SPROUT_* twin, errors on srun's stderr, scancel,
# concurrent steps, exit codes, one mount namespace per node shared by the local tasks.
# Run as the test user with SLURM_CONF (or SPROUT_STATE) pointing at a cluster started with
# `scripts/cluster start --plugin sprout.so --helper sprout`; images from scripts/mkimage.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=${SPROUT_TEST_TIMEOUT:-120}
S () { timeout "$T" srun "$@"; }

skip_all () {
  t_skip "srun --container (all plugin tests)" "$1"
  t_done; exit
}
t_slurm_prelude skip_all
PY3=$(t_image py3.oci) || true
BB=$(t_image busybox.oci) || true
[ -n "$PY3" ] || skip_all "test image py3.oci not built (scripts/mkimage)"

host_ns=$(readlink /proc/self/ns/mnt)
# which image a task is in: the Python minor version of /usr/bin/python3, or "nopy"
probe='if [ -x /usr/bin/python3 ]; then /usr/bin/python3 -c "import sys; print(sys.version_info[1])"; else echo nopy; fi'

# step_helpers SECS: pids of the sprout helpers of the steps running `sleep SECS`: the children
# named sprout of those tasks' slurmstepd (other sprout processes of this user are not ours)
step_helpers () {
  local t
  for t in $(pgrep -u "$(id -u)" -f "^(/[^ ]*/)?sleep $1\$"); do
    pgrep -P "$(awk '{print $4}' "/proc/$t/stat" 2>/dev/null)" -x sprout
  done 2>/dev/null | sort -u
}

# 1. the job across three nodes: every task runs the image's Python, Slurm's task env intact
out=$(S -N3 -n6 --ntasks-per-node=2 --container="$PY3" python3 -c \
  'import os, sys; print(os.environ["SLURMD_NODENAME"], os.environ["SLURM_PROCID"], os.environ["SLURM_LOCALID"], "%d.%d" % sys.version_info[:2], open("/etc/debian_version").read().strip()[:2])' 2>&1)
st=$?
t_is "$st" 0 "srun -N3 -n6 --container=py3.oci exits 0"
t_is "$(printf '%s\n' "$out" | awk '{print $1}' | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" \
  "node1:2 node2:2 node3:2 " "two containerized tasks ran on each of the three nodes" "$out"
t_is "$(printf '%s\n' "$out" | awk '{print $2}' | sort -n | tr '\n' ' ')" "0 1 2 3 4 5 " \
  "SLURM_PROCID is intact inside (0..5)"
t_is "$(printf '%s\n' "$out" | awk '{print $3}' | sort -u | tr '\n' ' ')" "0 1 " "SLURM_LOCALID is intact inside (0, 1)"
t_is "$(printf '%s\n' "$out" | awk '{print $4}' | sort -u)" "3.13" "every task runs the image's Python 3.13 (host: $(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))"
t_is "$(printf '%s\n' "$out" | awk '{print $5}' | sort -u)" "13" "every task sees the image's /etc/debian_version (trixie), not the host's"

# 2. all local tasks share one mount namespace, not the host's
out=$(S -N1 -n4 --container="$PY3" readlink /proc/self/ns/mnt 2>&1)
t_is "$(printf '%s\n' "$out" | sort -u | wc -l)" 1 "the 4 tasks of a step on one node share /proc/self/ns/mnt" "$out"
t_match "$(printf '%s\n' "$out" | head -n1)" '^mnt:\[' "the tasks report a mount namespace"
[ "$(printf '%s\n' "$out" | head -n1)" != "$host_ns" ] && t_ok "that namespace is not the host's" \
  || t_notok "that namespace is not the host's" "host $host_ns, tasks $out"
out=$(S -N1 -n1 readlink /proc/self/ns/mnt 2>&1)
t_is "$out" "$host_ns" "a step without --container still runs on the host"

# 3. relative and absolute image paths
t_is "$(S -N1 --container="$PY3" sh -c "$probe" 2>&1)" 13 "an absolute image path runs"
t_is "$(cd "$(dirname "$PY3")" && S -N1 --container="$(basename "$PY3")" sh -c "$probe" 2>&1)" 13 \
  "a relative image path is taken against srun's working directory"
t_is "$(S -N1 --chdir="$(dirname "$PY3")" --container="$(basename "$PY3")" sh -c "$probe" 2>&1)" 13 \
  "a relative image path is taken against the step's --chdir"

# 4. exit codes are the command's own
t_status 7 "srun --container returns the task's exit code 7" S -N1 --container="$PY3" sh -c 'exit 7'
t_status 1 "srun --container false returns 1" S -N1 --container="$PY3" false
t_status 0 "srun --container true returns 0" S -N1 --container="$PY3" true

# 5. the options and their SPROUT_* twins (the command line wins)
mkdir -p data && echo hello > data/f && chmod -R a+rX data
t_is "$(S -N1 --container="$PY3" --container-mounts="$T_TMP/data:/data:ro" cat /data/f 2>&1)" hello \
  "--container-mounts binds a host directory"
t_status 1 "--container-mounts :ro refuses writes" S -N1 --container="$PY3" \
  --container-mounts="$T_TMP/data:/data:ro" touch /data/g
t_is "$(SPROUT_CONTAINER_MOUNTS="$T_TMP/data:/twin" S -N1 --container="$PY3" cat /twin/f 2>&1)" hello \
  "SPROUT_CONTAINER_MOUNTS binds a host directory"
t_is "$(S -N1 --container="$PY3" --container-workdir=/usr/lib pwd 2>&1)" /usr/lib "--container-workdir sets the working directory"
t_is "$(SPROUT_CONTAINER_WORKDIR=/etc S -N1 --container="$PY3" pwd 2>&1)" /etc "SPROUT_CONTAINER_WORKDIR sets it too"
t_is "$(SPROUT_CONTAINER_WORKDIR=/etc S -N1 --container="$PY3" --container-workdir=/usr pwd 2>&1)" /usr \
  "--container-workdir wins over SPROUT_CONTAINER_WORKDIR"
t_is "$(S -N1 --container="$PY3" pwd 2>&1)" "$T_TMP" "without --container-workdir the step's directory is the working directory"
t_is "$(S -N1 --container="$PY3" id -u 2>&1)" "$(id -u)" "by default the task is the user inside"
t_is "$(S -N1 --container="$PY3" --container-remap-root id -u 2>&1)" 0 "--container-remap-root makes the task uid 0 inside"
t_is "$(SPROUT_CONTAINER_REMAP_ROOT=1 S -N1 --container="$PY3" id -u 2>&1)" 0 "SPROUT_CONTAINER_REMAP_ROOT=1 too"
out=$(S -N1 --container="$PY3" cat /proc/self/status 2>&1)
t_match "$out" '^NoNewPrivs:[[:space:]]+1$' "a containerized task has no_new_privs"
t_match "$out" '^CapEff:[[:space:]]+0+$' "without remap-root a containerized task has no capabilities"
t_status 1 "the root file system is read-only by default" S -N1 --container="$PY3" touch /sprout-w
t_status 0 "--container-writable makes it writable" S -N1 --container="$PY3" --container-writable touch /sprout-w
t_status 1 "writes of a --container-writable step are gone in the next step" S -N1 --container="$PY3" test -e /sprout-w
t_status 0 "SPROUT_CONTAINER_WRITABLE=1 makes it writable" env SPROUT_CONTAINER_WRITABLE=1 \
  timeout "$T" srun -N1 --container="$PY3" touch /sprout-w
t_status 1 "--container-readonly wins over SPROUT_CONTAINER_WRITABLE=1" env SPROUT_CONTAINER_WRITABLE=1 \
  timeout "$T" srun -N1 --container="$PY3" --container-readonly touch /sprout-w
marker=/opt/sprout-test-marker
t_match "$(PATH=$marker:$PATH S -N1 --container="$PY3" --container-env=PATH sh -c 'echo $PATH' 2>&1)" "^$marker:" \
  "--container-env=PATH keeps the host's PATH"
t_match "$(PATH=$marker:$PATH S -N1 --container="$PY3" --container-env=PATH sh -c 'echo $PATH; command -v squeue' 2>&1)" \
  "^$marker:.*:/tmp/sprout-slurm\.[A-Za-z0-9]{6}/bin"$'\n'"/tmp/sprout-slurm\.[A-Za-z0-9]{6}/bin/squeue$" \
  "--container-env=PATH: the Slurm commands are still found, at the end of the host's PATH"
out=$(PATH=$marker:$PATH S -N1 --container="$PY3" sh -c 'echo $PATH' 2>&1)
case $out in *"$marker"*) t_notok "without --container-env the image's PATH applies" "got $out" ;;
  *) t_ok "without --container-env the image's PATH applies" ;; esac
t_match "$(PATH=$marker:$PATH SPROUT_CONTAINER_ENV=PATH S -N1 --container="$PY3" sh -c 'echo $PATH' 2>&1)" "^$marker:" \
  "SPROUT_CONTAINER_ENV=PATH keeps the host's PATH"
# a file in $HOME tells a bound home from the empty mount point a cache entry keeps for it
hprobe=$HOME/.sprout-home-probe-$$
if [ -d "$HOME" ] && touch "$hprobe" 2>/dev/null; then
  t_status 0 "\$HOME is bound by default" S -N1 --container="$PY3" test -e "$hprobe"
  t_status 0 "--container-mount-home binds it" S -N1 --container="$PY3" --container-mount-home test -e "$hprobe"
  t_status 1 "--no-container-mount-home leaves it out" S -N1 --container="$PY3" --no-container-mount-home test -e "$hprobe"
  t_status 1 "SPROUT_CONTAINER_MOUNT_HOME=0 leaves it out" env SPROUT_CONTAINER_MOUNT_HOME=0 \
    timeout "$T" srun -N1 --container="$PY3" test -e "$hprobe"
  rm -f "$hprobe"
else
  t_skip "--[no-]container-mount-home" "the test user has no writable home directory"
fi

# 6. bad options and bad images: one clear line on srun's stderr, non-zero, never the host
t_status 1 "an option without an image fails in srun" S -N1 --container-workdir=/tmp true
t_match "$T_OUT" 'sprout: error: --container-workdir needs an image' "... saying the option needs an image"
t_status 1 "a malformed --container-mounts fails in srun" S -N1 --container="$PY3" --container-mounts=nocolon true
t_match "$T_OUT" "sprout: error: --container-mounts: 'nocolon' is not SRC:DST" "... naming the bad mount"
t_status 1 "a bad SPROUT_CONTAINER_REMAP_ROOT fails in srun" env SPROUT_CONTAINER_REMAP_ROOT=maybe \
  timeout "$T" srun -N1 --container="$PY3" true
t_match "$T_OUT" 'sprout: error: SPROUT_CONTAINER_REMAP_ROOT=maybe' "... naming the variable"
st=0; out=$(S -N2 --container="$T_TMP/missing.oci" sh -c 'echo ran-on-host' 2>&1) || st=$?
t_is "$st" 125 "a missing image fails the step with sprout's status 125"
t_match "$out" "sprout: error: node[12]: .*missing\.oci" "a missing image shows sprout: error: <node>: ... in srun's output"
case $out in *ran-on-host*) t_notok "a missing image never runs the command on the host" "$out" ;;
  *) t_ok "a missing image never runs the command on the host" ;; esac
mkdir -p corrupt.oci/blobs/sha256 && echo '{"imageLayoutVersion": "1.0.0"}' > corrupt.oci/oci-layout \
  && echo 'not json' > corrupt.oci/index.json && chmod -R a+rX corrupt.oci
st=0; out=$(S -N1 --container="$T_TMP/corrupt.oci" true 2>&1) || st=$?
t_is "$st" 125 "a corrupt image fails the step with status 125"
t_match "$out" "sprout: error: node[0-9]+: " "a corrupt image shows sprout: error: NODE: ... in srun's output"

# 7. the override case: a job carrying SLURM_CONTAINER=A, `srun --container=B` runs B
if [ -n "$BB" ]; then
  cat > override.sh <<EOF
#!/bin/sh
echo "batch \$SLURM_CONTAINER"
srun -N1 --container="$PY3" sh -c '$probe' | sed 's/^/B /'
srun -N1 sh -c '$probe' | sed 's/^/A /'
SRUN_CONTAINER="$PY3" srun -N1 sh -c '$probe' | sed 's/^/SRUN_CONTAINER /'
EOF
  t_status 0 "sbatch --container=A with steps inside succeeds" timeout "$T" sbatch --wait -N1 -o "$T_TMP/override.out" \
    --container="$BB" override.sh
  out=$(cat override.out 2>&1)
  t_match "$out" "^batch $BB" "the batch job carries SLURM_CONTAINER=A"
  t_match "$out" "^B 13$" "srun --container=B inside it runs B, not A" "$out"
  t_match "$out" "^A nopy$" "a plain srun inside it runs A" "$out"
  t_match "$out" "^SRUN_CONTAINER 13$" "SRUN_CONTAINER=B works like --container=B" "$out"
else
  t_skip "the override case (sbatch --container=A, srun --container=B)" "test image busybox.oci not built"
fi

# 8. two steps at once in one job
cat > concurrent.sh <<EOF
#!/bin/sh
srun -n1 --exact --container="$PY3" sh -c 'sleep 2; $probe' > c1.out 2>&1 &
srun -n1 --exact --container="$PY3" sh -c 'sleep 2; $probe' > c2.out 2>&1 &
wait
EOF
t_status 0 "a job with two concurrent containerized steps succeeds" timeout "$T" sbatch --wait -N1 -n2 -o /dev/null concurrent.sh
t_is "$(cat c1.out c2.out 2>&1 | tr '\n' ' ')" "13 13 " "both concurrent steps ran in the image"

# 8b. cold cache: two concurrent steps of four tasks each on one node share one unpack
tmpl=$(grep -v '^#' "$plugstack" | grep -o 'cache_dir=[^ ]*' | head -n1 | cut -d= -f2-)
helper=$(grep -v '^#' "$plugstack" | grep -o 'helper=[^ ]*' | head -n1 | cut -d= -f2-)
cache=$(printf '%s' "$tmpl" | sed -e "s/%u/$(id -u)/g" -e "s/%n/node1/g" -e 's/%%/%/g')
if [ -z "$tmpl" ] || [ -z "$helper" ]; then
  t_skip "a cold cache under two concurrent steps" "plugstack.conf names no cache_dir= or helper="
elif ! "$helper" --cache-dir "$cache" rm "$PY3" >/dev/null 2>&1 && "$helper" --cache-dir "$cache" images 2>/dev/null | grep -qF "$PY3"; then
  t_skip "a cold cache under two concurrent steps" "py3.oci is in use in $cache"
else
  cat > cold.sh <<EOF
#!/bin/sh
srun -n4 --exact --container="$PY3" sh -c '$probe' > cold1.out 2>&1 &
srun -n4 --exact --container="$PY3" sh -c '$probe' > cold2.out 2>&1 &
wait
EOF
  t_status 0 "two concurrent 4-task steps on a cold cache succeed" timeout "$T" sbatch --wait -w node1 -N1 -n8 -o /dev/null cold.sh
  t_is "$(cat cold1.out cold2.out 2>&1 | sort | uniq -c | awk '{print $1 "x" $2}')" "8x13" "all eight tasks ran in the image"
  t_is "$("$helper" --cache-dir "$cache" images 2>&1 | grep -cF "$PY3")" 1 "the node's cache holds the image once"
  t_is "$(ls -A "$cache/tmp" 2>/dev/null)" "" "no temporary directory is left in the cache"
fi

# 8c. the helper runs as the job user for good, with a clean environment and no leaked fds
secs=$((RANDOM % 1000 + 7000))
timeout "$T" srun -N1 -w node1 --container="$PY3" sleep "$secs" > helper.out 2>&1 &
srun_pid=$!
hpid=
for _ in $(seq 1 300); do
  hpid=$(step_helpers "$secs")
  [ -n "$hpid" ] && break
  sleep 0.2
done
if [ -z "$hpid" ]; then
  t_notok "the step's helper process is found" "$(cat helper.out)"
else
  t_is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$hpid/status")" "$(id -u) $(id -u) $(id -u) $(id -u)" \
    "the helper's real, effective, saved and fs uids are the user's"
  t_is "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$hpid/status")" "$(id -g) $(id -g) $(id -g) $(id -g)" \
    "the helper's gids are the user's"
  t_is "$(awk '/^Groups:/ {$1 = ""; print}' "/proc/$hpid/status" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" \
    "$(timeout "$T" srun -N1 -w node1 id -G | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
    "the helper has the job's supplementary groups"
  names=$(tr '\0' '\n' < "/proc/$hpid/environ" | cut -d= -f1 | sort | tr '\n' ' ')
  extra=$(printf '%s\n' $names | grep -vxE 'PATH|HOME|USER|LOGNAME|TMPDIR|SLURM_JOB_ID|SLURM_JOBID|SLURM_STEP_ID|SLURM_STEPID|SLURMD_NODENAME|SLURM_CLUSTER_NAME|SLURM_JOB_UID|SLURM_JOB_USER|SPROUT_CACHE_DIR|SPROUT_HOST_PATH' || true)
  t_is "$extra" "" "the helper's environment is the clean one (got: $names)"
  fds=$(cd "/proc/$hpid/fd" && for f in *; do echo "$f $(readlink "$f")"; done)
  t_match "$(printf '%s\n' "$fds" | awk '$1 == 0')" '^0 pipe:' "the helper's stdin is the keep-alive pipe"
  t_match "$(printf '%s\n' "$fds" | awk '$1 == 2')" '^2 /memfd:' "the helper's stderr is captured in memory"
  t_is "$(printf '%s\n' "$fds" | awk '$1 == 1')" "" "the helper closed its report channel (fd 1) after ready"
  leaked=$(printf '%s\n' "$fds" | awk '$1 > 2' | grep -v " $cache/" || true)
  if [ -n "$cache" ]; then
    t_is "$leaked" "" "the helper holds no fd but its cache entry"
  fi
fi
kill "$srun_pid" 2>/dev/null
wait "$srun_pid" 2>/dev/null

# 9. scancel of a running containerized step leaves no sprout process on any node
name=sprout-plugin-scancel-$$
secs=$((RANDOM % 1000 + 5000))
timeout "$T" srun -N3 -J "$name" --container="$PY3" sleep "$secs" > scancel.out 2>&1 &
srun_pid=$!
running= helpers=
for _ in $(seq 1 300); do
  helpers=$(step_helpers "$secs")
  [ "$(pgrep -u "$(id -u)" -fc "^(/[^ ]*/)?sleep $secs\$")" -ge 3 ] && [ "$(echo "$helpers" | grep -c .)" -ge 3 ] \
    && { running=yes; break; }
  sleep 0.2
done
t_is "${running:-no}" yes "the containerized step is running on three nodes, one helper each"
scancel -n "$name" -u "$(id -un)"
wait "$srun_pid"
left=
for _ in $(seq 1 50); do
  left=$(pgrep -u "$(id -u)" -f "^(/[^ ]*/)?sleep $secs\$" || true)
  for h in $helpers; do [ -d "/proc/$h" ] && left="$left $h"; done
  [ -z "$left" ] && break
  sleep 0.2
done
t_is "$left" "" "after scancel no task and no sprout helper process is left"

t_done
