#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/faults.t.sh: faults under a running Slurm step: the image file deleted
# while a step runs does not disturb it and the next step says the image is gone; the node
# caches' entry deleted under a running step crashes no daemon (same slurmd pids, no node
# down or drained) and the next step imports again. Run as the test user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SPROUT_STATE=${SPROUT_STATE:-/var/tmp/sprout-cluster}
export SLURM_CONF=${SLURM_CONF:-$SPROUT_STATE/slurm.conf}
cd "$T_TMP" || exit 1
unset SPROUT_CACHE_DIR SPROUT_CONTAINER_MOUNTS SPROUT_CONTAINER_WORKDIR SPROUT_CONTAINER_ENV \
  SLURM_CONTAINER SRUN_CONTAINER SBATCH_CONTAINER
T=${SPROUT_TEST_TIMEOUT:-120}
skip_all () { t_skip "fault tests under Slurm (all)" "$1"; t_done; exit; }
sinfo -h >/dev/null 2>&1 || skip_all "no cluster answers at $SLURM_CONF (scripts/cluster start)"
plugstack=$(scontrol show config 2>/dev/null | sed -n 's/^PlugStackConfig *= *//p')
grep -qs 'sprout\.so' "$plugstack" || skip_all "the cluster's plugstack.conf does not load sprout.so"
BB=$(t_image busybox.oci) || skip_all "test image busybox.oci not built (scripts/mkimage)"
cache_tmpl=$(grep -o 'cache_dir=[^ ]*' "$plugstack" | head -n 1); cache_tmpl=${cache_tmpl#cache_dir=}
slurmd_pids () { pgrep -f "^slurmd -f $SPROUT_STATE/slurm.conf " | sort | tr '\n' ' '; }
daemons=$(slurmd_pids)

# ---- the image deleted while a step runs --------------------------------------------------------
cp -a "$BB" img.oci
timeout "$T" srun -N3 --container="$T_TMP/img.oci" sh -c 'sleep 3; test -x /bin/busybox && echo alive' > run1.out 2> run1.err &
step=$!
sleep 1.5
rm -rf img.oci
wait "$step"; st=$?
t_is "$st:$(grep -c '^alive$' run1.out)" "0:3" "image deleted mid-step: the running step finishes on all 3 nodes" 
out=$(timeout "$T" srun -N1 --container="$T_TMP/img.oci" true 2>&1); st=$?
t_match "$st" '^[1-9][0-9]*$' "image deleted: the next step fails (exit $st)"
t_is "$(printf '%s\n' "$out" | grep -c '^sprout: error: ')" 1 "image deleted: one sprout error line" "$out"
t_match "$out" "img.oci.*No such file or directory" "image deleted: the line says the image is gone"

# ---- the cache entry deleted under a running step -----------------------------------------------
cp -a "$BB" img.oci
digest=$(SPROUT_CACHE_DIR=$T_TMP/c "$SPROUT" inspect img.oci 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])' 2>/dev/null)
[ -n "$digest" ] || digest=$(SPROUT_CACHE_DIR=$T_TMP/c "$SPROUT" import img.oci 2>/dev/null)
timeout "$T" srun -N3 --container="$T_TMP/img.oci" sh -c 'sleep 3; ls / > /dev/null; echo done' > run2.out 2> run2.err &
step=$!
sleep 1.5
removed=0
for n in $(sinfo -h -N -o '%N' | sort -u); do
  d=${cache_tmpl//%n/$n}; d=${d//%u/$(id -u)}/images/${digest#sha256:}
  if [ -d "$d" ]; then chmod -R u+rwX "$d" 2>/dev/null; rm -rf "$d" && removed=$((removed + 1)); fi
done
t_is "$removed" 3 "the entry was removed from the 3 node caches while the step ran"
wait "$step"; st=$?
# the step may see its files vanish; what matters is that nothing crashed
t_match "$st" '^([0-9]|[1-9][0-9]|1[0-1][0-9]|12[0-7])$' "entry deleted mid-step: the step ended without a signal (exit $st)"
t_is "$(slurmd_pids)" "$daemons" "entry deleted: the slurmds did not crash (same pids)"
# plnd (24.11+): the backfill scheduler holds the node for a pending job, a healthy state
down=$(sinfo -h -o '%t' | grep -vE '^(idle|mix|alloc|comp|plnd)$' | head -n 3)
t_is "$down" "" "entry deleted: no node down or drained"
out=$(timeout "$T" srun -N3 --container="$T_TMP/img.oci" sh -c 'test -x /bin/busybox && echo again' 2>&1)
t_is "$(printf '%s\n' "$out" | grep -c '^again$')" 3 "entry deleted: the next step imports again and runs on all nodes" "$out"
t_done
