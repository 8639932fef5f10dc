#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/test: as root
# tests/slurm/container-request.t.sh: --container=IMAGE reaches sprout, never Slurm's own
# container code (no oci.conf here). Since Slurm 23.02 a launch request that names a container
# makes slurmstepd keep a container record of its own: --mpi=pmix then fails, every node logs
# "No oci.conf file" per step, and a missing working directory kills the step. The plugin takes
# the image out of srun/sbatch/salloc's options after Slurm exported it as SLURM_CONTAINER.
# Every way to give the image is tried (srun, SRUN_CONTAINER, a heterogeneous step, sbatch,
# #SBATCH, SBATCH_CONTAINER, salloc); then the nodes' logs must hold none of those lines.
# Runs as root (the slurmd logs are root's) and submits as the test user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
T=${SPROUT_TEST_TIMEOUT:-120}
skip_all () { t_skip "--container and Slurm's launch request (all)" "$1"; t_done; exit; }
t_slurm_root_prelude skip_all "for the slurmd logs"
[ -e "$(dirname "$SLURM_CONF")/oci.conf" ] && skip_all "oci.conf exists: Slurm's own runtime owns --container there"
BB=$(t_image busybox.oci) || skip_all "test image busybox.oci not built (scripts/mkimage)"
logs=$SPROUT_STATE/log
ls "$logs"/slurmd-*.log >/dev/null 2>&1 || skip_all "no slurmd logs in $logs"
motd="sprout busybox test image"
version=$(sinfo -V | awk '{print $2}')
w=$T_TMP/w
mkdir -p "$w" && chown "$U:" "$w" && chmod 0755 "$T_TMP"
cd "$w" || exit 1
as_user () {
  runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$(getent passwd "$U" | cut -d: -f6)" \
    LANG=C.UTF-8 SLURM_CONF="$SLURM_CONF" "$@"
}
# the slurmd log lines written from here on
declare -A mark
for f in "$logs"/slurmd-*.log; do mark[$f]=$(stat -c %s "$f"); done
new_log () { local f; for f in "${!mark[@]}"; do tail -c +"$((mark[$f] + 1))" "$f"; done; }
# wait_job ID: until the job has left the queue
wait_job () {
  local i
  for i in $(seq 1 $((T * 10))); do
    [ -z "$(squeue -h -j "$1" -o %A 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}
# job_container ID: what slurmctld recorded as the job's container ("" when none); asked right
# after submission (MinJobAge=2 purges a finished job at once). A field of its own: 26.05 puts
# ContainerType= before it, SubmitLine= quotes the command. "no record" must not pass.
job_container () {
  local rec
  [[ $1 =~ ^[0-9]+(\+[0-9]+)?$ ]] && rec=$(scontrol show job "$1" 2>/dev/null) && [ -n "$rec" ] || { echo "no record of job '$1'"; return; }
  printf '%s\n' "$rec" | tr -s ' ' '\n' | sed -n 's/^Container=//p' | grep -vx '(null)'
}

# ---- srun -----------------------------------------------------------------------------------------
out=$(as_user timeout "$T" srun -N1 --container="$BB" sh -c 'cat /etc/motd; echo "SC=$SLURM_CONTAINER"' 2>&1)
t_is "$out" "$motd
SC=$BB" "srun --container: the task runs in the image and keeps SLURM_CONTAINER (Slurm $version)"
out=$(as_user SRUN_CONTAINER="$BB" timeout "$T" srun -N1 cat /etc/motd 2>&1)
t_is "$out" "$motd" "SRUN_CONTAINER: the task runs in the image"
# (srun says on stderr when the new heterogeneous job waits for resources)
out=$(as_user timeout "$T" srun -N1 -n1 --container="$BB" cat /etc/motd : -N1 -n1 --container="$BB" cat /etc/motd 2>&1 \
      | grep -v '^srun: job [0-9]* ')
t_is "$out" "$motd
$motd" "a heterogeneous srun, --container on each component: both run in the image"
out=$(as_user timeout "$T" srun -N1 --container="$BB" --mpi=pmi2 sh -c 'test -n "$PMI_FD" && cat /etc/motd' 2>&1)
t_is "$out" "$motd" "srun --mpi=pmi2 --container runs (PMI_FD set)"
if srun --mpi=list 2>&1 | grep -qw pmix; then
  out=$(as_user timeout "$T" srun -N2 -n2 --container="$BB" --mpi=pmix sh -c 'test -n "$PMIX_SERVER_URI41$PMIX_SERVER_URI4$PMIX_SERVER_URI3" && cat /etc/motd' 2>&1)
  t_is "$out" "$motd
$motd" "srun --mpi=pmix --container runs on 2 nodes (a PMIx server URI in the task)"
elif [[ $version == 26.05.* ]]; then
  # Debian's 26.05 package builds no mpi/pmix plugin: not a gap of this cluster (pmi2 above is)
  echo "# srun --mpi=pmix --container not tested: Debian's Slurm $version has no mpi/pmix plugin"
else
  t_skip "srun --mpi=pmix --container" "Slurm $version has no mpi/pmix plugin here"
fi

# ---- a working directory missing on the node: as on a bare step ----------------------------------
gone=/nonexistent-$$
as_user timeout "$T" srun -N1 --chdir="$gone" true >/dev/null 2>&1; bare=$?
out=$(as_user timeout "$T" srun -N1 --chdir="$gone" --container="$BB" true 2>&1); st=$?
t_is "$st" "$bare" "srun --chdir=MISSING --container exits as the bare step does ($bare)" "$out"

# ---- sbatch, #SBATCH, SBATCH_CONTAINER -------------------------------------------------------------
printf '#!/bin/sh\n#SBATCH --container=%s\ncat /etc/motd\necho "SC=$SLURM_CONTAINER"\n' "$BB" > hash.sh
chmod 0644 hash.sh
for how in option hash env; do
  case $how in
    option) id=$(as_user sbatch --parsable -N1 -o "$w/$how.out" --container="$BB" --wrap 'cat /etc/motd; echo "SC=$SLURM_CONTAINER"' 2>&1) ;;
    hash) id=$(as_user sbatch --parsable -N1 -o "$w/$how.out" hash.sh 2>&1) ;;
    env) id=$(as_user SBATCH_CONTAINER="$BB" sbatch --parsable -N1 -o "$w/$how.out" --wrap 'cat /etc/motd; echo "SC=$SLURM_CONTAINER"' 2>&1) ;;
  esac
  rec=$(job_container "$id")
  if [[ $id =~ ^[0-9]+$ ]] && wait_job "$id"; then
    t_is "$(cat "$w/$how.out" 2>&1)" "$motd
SC=$BB" "sbatch ($how): the batch script runs in the image with SLURM_CONTAINER"
    t_is "$rec" "" "sbatch ($how): slurmctld records no container for the job"
  else
    t_notok "sbatch ($how): the batch script runs in the image with SLURM_CONTAINER" "sbatch: $id"
    t_notok "sbatch ($how): slurmctld records no container for the job"
  fi
done
id=$(as_user sbatch --parsable -o "$w/het.out" -n1 --container="$BB" : -n1 --container="$BB" \
  --wrap 'srun --het-group=0,1 cat /etc/motd' 2>&1)
rec="$(job_container "$id+0")$(job_container "$id+1")"
if [[ $id =~ ^[0-9]+$ ]] && wait_job "$id"; then
  t_is "$(cat "$w/het.out" 2>&1)" "$motd
$motd" "a heterogeneous sbatch: the step of both components runs in the image"
  t_is "$rec" "" "a heterogeneous sbatch: no container recorded for either component"
else
  t_notok "a heterogeneous sbatch: the step of both components runs in the image" "sbatch: $id"
  t_notok "a heterogeneous sbatch: no container recorded for either component"
fi

# ---- salloc ---------------------------------------------------------------------------------------
out=$(as_user timeout "$T" salloc -N1 --container="$BB" sh -c 'echo "SC=$SLURM_CONTAINER"; srun cat /etc/motd; scontrol show job "$SLURM_JOB_ID" > salloc.job' 2>&1 \
      | grep -v '^salloc: ')
t_is "$out" "SC=$BB
$motd" "salloc --container: its steps run in the image"
rec=$(tr -s ' ' '\n' < salloc.job 2>&1 | sed -n 's/^Container=//p' | grep -vx '(null)')
grep -q JobId= salloc.job 2>/dev/null || rec="no record in salloc.job"
t_is "$rec" "" "salloc --container: slurmctld records no container for the job"

# ---- the nodes' logs ------------------------------------------------------------------------------
sleep 1
log=$(new_log)
t_is "$(printf '%s\n' "$log" | grep -c 'No oci.conf')" 0 "no node logged 'No oci.conf file' for these steps" \
  "$(printf '%s\n' "$log" | grep 'No oci.conf' | head -n 3)"
t_is "$(printf '%s\n' "$log" | grep -cE 'container|oci' | tr -d ' ')" 0 "no node logged anything about containers or OCI" \
  "$(printf '%s\n' "$log" | grep -E 'container|oci' | head -n 5)"
t_done
