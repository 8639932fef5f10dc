#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/hostile.t.sh: option and environment abuse through the SPANK plugin:
# --container-mounts, --container-workdir and --container-env with over-long values, control
# characters, relative or `..` targets, targets inside /proc or /sys, /proc/self/fd/N as the
# working directory (runc CVE-2024-21626's shape), and the same values through the SPROUT_*
# twins. Each step fails with one `sprout: error:` line and runs nothing; the nodes' daemons
# survive it all (same slurmd pids, nodes still idle). Unknown plugstack keys are
# plugin-config.t.sh's. Run as the test user against a cluster with the plugin.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=${SPROUT_TEST_TIMEOUT:-120}
n_cases=0 n_contained=0
finish () {
  t_done; local st=$?
  echo "# hostile: $n_cases cases, $n_contained contained"
  exit $st
}
skip_all () { t_skip "hostile srun options (all)" "$1"; finish; }
t_slurm_prelude skip_all
BB=$(t_image busybox.oci) || skip_all "test image busybox.oci not built (scripts/mkimage)"

slurmd_pids () { pgrep -f "^slurmd -f $SPROUT_STATE/slurm.conf " 2>/dev/null | sort | tr '\n' ' '; }
daemons_before=$(slurmd_pids)
mkdir -p "$T_TMP/canary"
echo secret > "$T_TMP/canary/secret"
marker=$T_TMP/ran
# the step's command: leaves a marker if it ran at all
cmd=(sh -c "touch $marker")

# refused DESC [ENV=VAL...] -- SRUN-ARGS...: the step fails, one sprout error line, nothing ran
refused () {
  local d=$1 envs=() out st nerr; shift
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  n_cases=$((n_cases + 1))
  rm -f "$marker"
  out=$(env "${envs[@]}" timeout "$T" srun -N1 -t 2 --container="$BB" "$@" "${cmd[@]}" 2>&1 </dev/null); st=$?
  nerr=$(printf '%s\n' "$out" | grep -c '^sprout: error: ')
  if [ "$st" != 0 ] && [ "$st" != 124 ] && [ "$nerr" = 1 ] && [ ! -e "$marker" ]; then
    n_contained=$((n_contained + 1)); t_ok "$d: refused (exit $st), one error line, nothing ran"
  else
    t_notok "$d: refused, one error line, nothing ran" "exit $st; ran: $([ -e "$marker" ] && echo yes || echo no)" "${out:0:1500}"
  fi
}
long=$(head -c 5000 /dev/zero | tr '\0' a)

# every hostile value twice: as the srun option, and as its SPROUT_* twin
both () {
  local d=$1 opt=$2 var=$3 val=$4
  refused "$opt: $d" -- "--$opt=$val"
  refused "$var: $d" "$var=$val" --
}
both "destination inside /proc" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/proc"
both "destination under /proc/sys" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/proc/sys/x"
both "destination inside /sys" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/sys/fs"
both "relative destination" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:rel"
both "destination with .." container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/a/../../etc"
both "destination /" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/"
both "a bad mode after DST" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/x:y:z"
both "a newline in the destination" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/x"$'\n'"y"
both "an escape sequence in the destination" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/x"$'\e[2J'
both "a good entry, then /proc after a comma" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/ok,$T_TMP/canary:/proc"
both "over-long destination (5,000 bytes)" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/canary:/$long"
both "a source that does not exist" container-mounts SPROUT_CONTAINER_MOUNTS "$T_TMP/nope:/x"
both "relative" container-workdir SPROUT_CONTAINER_WORKDIR "rel"
both "over-long (5,000 bytes)" container-workdir SPROUT_CONTAINER_WORKDIR "/$long"
both "/proc/1/root" container-workdir SPROUT_CONTAINER_WORKDIR "/proc/1/root"
for n in 3 4 5 6 7 8 9 10 11 12; do
  both "/proc/self/fd/$n (CVE-2024-21626 shape)" container-workdir SPROUT_CONTAINER_WORKDIR "/proc/self/fd/$n"
done
both "a name with a newline" container-env SPROUT_CONTAINER_ENV $'A\nB'
both "a name that is not one" container-env SPROUT_CONTAINER_ENV "A B,C"
refused "SPROUT_CONTAINER_WRITABLE: not a boolean" "SPROUT_CONTAINER_WRITABLE=2" --
refused "SPROUT_CONTAINER_REMAP_ROOT: not a boolean" "SPROUT_CONTAINER_REMAP_ROOT=yes please" --

# a good step still works afterwards, on every node
out=$(timeout "$T" srun -N3 --container="$BB" sh -c 'test -x /bin/busybox && echo ok' 2>&1)
t_is "$(printf '%s\n' "$out" | grep -cx ok)" 3 "after all that, a good step runs on all 3 nodes"
t_is "$(slurmd_pids)" "$daemons_before" "the slurmds survived (same pids)"
# plnd (24.11+): the backfill scheduler holds the node for a pending job, a healthy state
down=$(sinfo -h -o '%t' | grep -vE '^(idle|mix|alloc|plnd)$' | head -n 3)
t_is "$down" "" "no node is down or drained"
t_is "$(cat "$T_TMP/canary/secret") $(ls -A "$T_TMP/canary")" "secret secret" "the canary is untouched"
finish
