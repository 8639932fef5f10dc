#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/batch.t.sh: sbatch and salloc with --container on the local cluster:
# the batch script runs inside the image, its steps inherit it (or override it, or run on the
# host with --no-container), Slurm's commands work inside through the step's proxy (stdin,
# stdout, exit status), #SBATCH options reach the steps, job arrays, salloc with a command,
# and scancel of a containerized batch job leaves no process or proxy directory behind.
# Run as the test user with SLURM_CONF (or SPROUT_STATE) pointing at a cluster started with
# `scripts/cluster start --plugin sprout.so --helper sprout` (sprout-slurm-client next to the
# helper); images from scripts/mkimage.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=${SPROUT_TEST_TIMEOUT:-180}

skip_all () {
  t_skip "sbatch/salloc --container (all batch tests)" "$1"
  t_done; exit
}
t_slurm_prelude skip_all
chmod 0755 "$T_TMP"
PY3=$(t_image py3.oci) || true
BB=$(t_image busybox.oci) || true
[ -n "$PY3" ] && [ -n "$BB" ] || skip_all "test images py3.oci and busybox.oci not built (scripts/mkimage)"
host_ns=$(readlink /proc/self/ns/mnt)
probe='if [ -x /usr/bin/python3 ]; then /usr/bin/python3 -c "import sys; print(sys.version_info[1])"; else echo nopy; fi'

# sb ARGS...: sbatch --wait with a time limit; the job's output is where -o says
sb () { timeout "$T" sbatch --wait "$@"; }

# 1. a containerized batch script on three nodes: the image's Python, srun across the nodes
# (every task in the image), squeue/scontrol/sinfo, a second job with sbatch --wait, stdin
# and exit status through the proxy
mkdir -p data data2 && echo one > data/f && echo two > data2/f && chmod -R a+rX data data2
cat > job.sh <<EOF
#!/bin/sh
#SBATCH -N3 --container=$PY3
#SBATCH --container-mounts=$T_TMP/data:/data:ro
echo "script \$0"
python3 -c 'import sys; print("batch", "%d.%d" % sys.version_info[:2])'
echo "batchns \$(readlink /proc/self/ns/mnt)"
echo "srunpath \$(command -v srun)"
echo "proxydir \${PATH##*:}"
srun -N3 -n3 sh -c 'echo "proxydir \${PATH##*:}"'
srun -N3 -n3 python3 -c 'import os, sys; print("task", os.environ["SLURMD_NODENAME"], "%d.%d" % sys.version_info[:2])'
echo "srun-rc \$?"
squeue -h -j "\$SLURM_JOB_ID" -o 'squeue %i %T'
scontrol show job "\$SLURM_JOB_ID" | grep -o 'JobState=[A-Z]*' | sed 's/^/scontrol /'
echo "sinfo \$(sinfo -h -o %D)"
scontrol show job 999999999 >/dev/null 2>&1; echo "scontrol-missing-rc \$?"
j=\$(sbatch --parsable -o /dev/null --wrap 'sleep 300') && scancel "\$j"; echo "scancel-rc \$?"
sleep 1; echo "scancelled \$(squeue -h -j "\$j" -o %T 2>/dev/null | grep -c RUNNING)"
sacct -n -j "\$SLURM_JOB_ID" >/dev/null 2>&1; echo "sacct-rc \$?"
echo "through stdin" | srun -N1 -n1 cat | sed 's/^/stdin /'
srun -N1 -n1 sh -c 'exit 7'; echo "exit7-rc \$?"
sbatch --wait -o "$T_TMP/inner.out" --wrap 'python3 -c "import sys; print(\"inner\", sys.version_info[1])"'
echo "sbatch-rc \$?"
echo "inherited \$(srun -N1 cat /data/f)"
echo "overridden \$(srun -N1 --container-mounts=$T_TMP/data2:/data cat /data/f)"
echo "override \$(srun -N1 --container=$BB sh -c '$probe')"
echo "hoststep \$(srun -N1 --no-container readlink /proc/self/ns/mnt)"
EOF
chmod 0755 job.sh
sb -o "$T_TMP/job.out" job.sh > /dev/null 2>sb.err
st=$?
out=$(cat job.out 2>/dev/null)
t_is "$st" 0 "sbatch --wait of a containerized batch script exits 0" "$(cat sb.err)" "$out"
t_match "$out" "script $SPROUT_STATE/spool/node1/job0*[0-9]+/slurm_script" "the script runs from slurmd's spool path, visible inside"
t_is "$(printf '%s\n' "$out" | sed -n 's/^batch //p')" 3.13 "the batch script runs the image's Python 3.13"
bns=$(printf '%s\n' "$out" | sed -n 's/^batchns //p')
[ -n "$bns" ] && [ "$bns" != "$host_ns" ] && t_ok "the batch script is in its own mount namespace" \
  || t_notok "the batch script is in its own mount namespace" "host $host_ns, batch $bns"
t_match "$(printf '%s\n' "$out" | sed -n 's/^srunpath //p')" '^/tmp/sprout-slurm\.[^/]+/bin/srun$' \
  "srun inside is the proxy's, at the end of PATH"
t_is "$(printf '%s\n' "$out" | sed -n 's/^task //p' | sort | tr '\n' ' ')" "node1 3.13 node2 3.13 node3 3.13 " \
  "srun -N3 -n3 from inside runs one containerized task on each node"
t_is "$(printf '%s\n' "$out" | sed -n 's/^srun-rc //p')" 0 "that srun exits 0"
pdirs=$(printf '%s\n' "$out" | sed -n 's,^proxydir \(/tmp/sprout-slurm\.[^/]*\)/bin$,\1,p' | sort -u)
t_is "$(echo "$pdirs" | grep -c .)" 4 "the batch step and each node's step have their own proxy" "$out"
left=""
for d in $pdirs; do [ -e "$d" ] && left="$left $d"; done
t_is "$left" "" "no proxy directory is left after the job"
t_match "$(printf '%s\n' "$out" | sed -n 's/^squeue //p')" '^[0-9]+ RUNNING$' "squeue -j \$SLURM_JOB_ID works inside"
t_is "$(printf '%s\n' "$out" | sed -n 's/^scontrol //p')" "JobState=RUNNING" "scontrol show job works inside"
t_is "$(printf '%s\n' "$out" | sed -n 's/^sinfo //p')" 3 "sinfo works inside"
t_is "$(printf '%s\n' "$out" | sed -n 's/^scontrol-missing-rc //p')" 1 "a failing Slurm command's exit status comes back (1)"
t_is "$(printf '%s\n' "$out" | sed -n 's/^scancel-rc //p')" 0 "sbatch --parsable and scancel work inside"
t_is "$(printf '%s\n' "$out" | sed -n 's/^scancelled //p')" 0 "the job scancel named is no longer running"
sacct -n -j 1 >/dev/null 2>&1; host_sacct=$?
t_is "$(printf '%s\n' "$out" | sed -n 's/^sacct-rc //p')" "$host_sacct" "sacct inside exits as on the host ($host_sacct: this cluster keeps no accounting)"
t_is "$(printf '%s\n' "$out" | sed -n 's/^stdin //p')" "through stdin" "stdin reaches srun's task through the proxy"
t_is "$(printf '%s\n' "$out" | sed -n 's/^exit7-rc //p')" 7 "srun's exit status 7 comes back through the proxy"
t_is "$(printf '%s\n' "$out" | sed -n 's/^sbatch-rc //p')" 0 "sbatch --wait from inside exits 0"
t_is "$(cat inner.out 2>/dev/null)" "inner 13" "the job sbatch submitted from inside inherits the image"
t_is "$(printf '%s\n' "$out" | sed -n 's/^inherited //p')" one "#SBATCH --container-mounts reaches the batch's steps"
t_is "$(printf '%s\n' "$out" | sed -n 's/^overridden //p')" two "a step's own --container-mounts wins over #SBATCH's"
t_is "$(printf '%s\n' "$out" | sed -n 's/^override //p')" nopy "srun --container=busybox.oci inside overrides the job's image"
t_is "$(printf '%s\n' "$out" | sed -n 's/^hoststep //p')" "$host_ns" "srun --no-container inside runs that step on the host"

# 1b. signals sent to srun inside reach the host's srun: SIGINT (srun's status line), then SIGTERM
cat > sig.sh <<'EOF'
#!/bin/sh
srun -N1 sleep 171 &
p=$!
sleep 3
kill -INT $p
sleep 2
kill -TERM $p
wait $p
echo "srun-rc $?"
EOF
chmod 0755 sig.sh
sb -o "$T_TMP/sig.out" --container="$BB" sig.sh > /dev/null 2>&1
out=$(cat sig.out 2>/dev/null)
t_match "$out" "srun: interrupt" "SIGINT to srun inside reaches the host's srun (it prints its status)" "$out"
t_match "$out" "srun: forcing job termination" "SIGTERM to srun inside reaches the host's srun (it ends the step)"
t_match "$(printf '%s\n' "$out" | sed -n 's/^srun-rc //p')" '^[1-9][0-9]*$' "and srun's non-zero status comes back"

# 2. the image on sbatch's command line, relative to the submit directory
cat > plain.sh <<EOF
#!/bin/sh
$probe
EOF
cat > reldir.sh <<EOF
#!/bin/sh
$probe
cd / && srun -N1 sh -c '$probe'
EOF
chmod 0755 plain.sh reldir.sh
(cd "$(dirname "$PY3")" && sb -o "$T_TMP/plain.out" --container="$(basename "$PY3")" "$T_TMP/reldir.sh" > /dev/null 2>&1)
t_is "$(tr '\n' ' ' 2>/dev/null < plain.out)" "13 13 " \
  "sbatch --container=py3.oci (relative) runs the script in the image, and its srun after a cd too"
sb -o "$T_TMP/host.out" "$T_TMP/plain.sh" > /dev/null 2>&1
t_is "$(cat host.out 2>/dev/null)" "$(sh -c "$probe")" "sbatch without --container runs the script on the host"
t_status 1 "sbatch --no-container --container=X is refused" timeout "$T" sbatch --no-container --container="$PY3" plain.sh
t_match "$T_OUT" "^sprout: error: --no-container and --container=.* contradict each other" "with one clear line"

# 3. a job array: every element in the image, SLURM_ARRAY_TASK_ID intact
cat > array.sh <<'EOF'
#!/bin/sh
python3 -c 'import os, sys; print(os.environ["SLURM_ARRAY_TASK_ID"], "%d.%d" % sys.version_info[:2])'
EOF
chmod 0755 array.sh
sb --array=0-3 --container="$PY3" -o "$T_TMP/array-%a.out" array.sh > /dev/null 2>&1
t_is "$(cat array-*.out 2>/dev/null | sort | tr '\n' ' ')" "0 3.13 1 3.13 2 3.13 3 3.13 " \
  "sbatch --array=0-3 --container runs every element in the image with its SLURM_ARRAY_TASK_ID"

# 4. salloc with a command: the command stays on the host, its srun runs in the image
out=$(timeout "$T" salloc -N1 --container="$PY3" sh -c "echo ns \$(readlink /proc/self/ns/mnt); srun sh -c '$probe'" 2>/dev/null)
t_is "$(printf '%s\n' "$out" | sed -n 's/^ns //p')" "$host_ns" "salloc's command runs on the host"
t_is "$(printf '%s\n' "$out" | tail -n1)" 13 "srun inside salloc --container runs in the image"

# 5. scancel of a containerized batch job (a containerized step running in it): no task, no
# helper, no proxy (nor its directory), no host srun left on any node
secs=$((400 + $$ % 400))
cat > long.sh <<EOF
#!/bin/sh
srun -N3 sleep $secs &
sleep $secs
EOF
chmod 0755 long.sh
name=sprout-batch-scancel-$$
jid=$(sbatch --parsable -N3 -J "$name" --container="$PY3" -o /dev/null long.sh 2>&1)
sleeps="" ours="" dirs=""
for _ in $(seq 1 120); do
  sleeps=$(pgrep -u "$(id -u)" -f "^(/[^ ]*/)?sleep $secs\$" || true)
  [ "$(echo "$sleeps" | grep -c .)" -ge 4 ] && break
  sleep 0.5
done
t_is "$(echo "$sleeps" | grep -c .)" 4 "the batch script and its 3 containerized tasks are running" "job $jid"
# stepd_of PID: the slurmstepd above PID
stepd_of () {
  local p=$1
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmstepd ] && { echo "$p"; return; }
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
  done
}
# each sleep's slurmstepd has one sprout holder; the holder's child is the step's proxy
for s in $sleeps; do
  stepd=$(stepd_of "$s")
  for h in $(pgrep -P "$stepd" -x sprout 2>/dev/null); do ours="$ours $h $(pgrep -P "$h" 2>/dev/null | tr '\n' ' ')"; done
  dirs="$dirs $({ tr '\0' '\n' < "/proc/$s/environ"; } 2>/dev/null | sed -n 's,^PATH=.*:\(/tmp/sprout-slurm\.[^/:]*\)/bin$,\1,p')"
done
host_srun=$(pgrep -u "$(id -u)" -f "srun -N3 sleep $secs" || true)
t_is "$(echo "$ours" | wc -w)" 8 "4 helpers and their 4 proxies run for the job" "$ours"
t_is "$(echo "$dirs" | wc -w)" 4 "each containerized process sees its proxy directory on PATH" "$dirs"
[ -n "$host_srun" ] && t_ok "the script's srun runs on the host" || t_notok "the script's srun runs on the host"
scancel "$jid"
for _ in $(seq 1 60); do
  left=
  for p in $sleeps $ours $host_srun; do [ -d "/proc/$p" ] && left="$left $p"; done
  for d in $dirs; do [ -e "$d" ] && left="$left $d"; done
  [ -z "$left" ] && break
  sleep 0.5
done
t_is "$left" "" "after scancel no task, helper, proxy, proxy directory or host srun is left"

t_done
