# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# tests/slurm/lib.sh: sourced by the tests/slurm files that run steps on a cluster with the
# plugin; brings tests/lib.sh along.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# t_slurm_prelude SKIP: point at the cluster (SPROUT_STATE, else /var/tmp/sprout-cluster;
# SLURM_CONF exported), work in $T_TMP, drop the caller's sprout and container variables
# (the cluster's plugstack.conf chooses the cache: ours would only be a fallback), then call
# SKIP REASON (the file's skip-everything function, which exits) unless a cluster answers
# and its plugstack.conf, left in $plugstack, loads sprout.so.
t_slurm_prelude () {
  SPROUT_STATE=${SPROUT_STATE:-/var/tmp/sprout-cluster}
  export SLURM_CONF=${SLURM_CONF:-$SPROUT_STATE/slurm.conf}
  cd "$T_TMP" || exit 1
  unset SPROUT_CACHE_DIR SPROUT_CONTAINER_MOUNTS SPROUT_CONTAINER_WORKDIR SPROUT_CONTAINER_ENV \
    SPROUT_CONTAINER_REMAP_ROOT SPROUT_CONTAINER_WRITABLE SPROUT_CONTAINER_MOUNT_HOME \
    SLURM_CONTAINER SRUN_CONTAINER SBATCH_CONTAINER SALLOC_CONTAINER
  sinfo -h >/dev/null 2>&1 || "$1" "no cluster answers at $SLURM_CONF (scripts/cluster start)"
  plugstack=$(scontrol show config 2>/dev/null | sed -n 's/^PlugStackConfig *= *//p')
  grep -qs 'sprout\.so' "$plugstack" || "$1" "the cluster's plugstack.conf ($plugstack) does not load sprout.so"
}

# t_slurm_root_prelude SKIP WHY: the same checks for a file that runs as root and submits as
# the test user $U (set here): root (WHY says what for), the user, a cluster that answers, a
# plugstack.conf that loads sprout.so. Nothing is unset: root's environment is scripts/test's.
t_slurm_root_prelude () {
  SPROUT_STATE=${SPROUT_STATE:-/var/tmp/sprout-cluster}
  export SLURM_CONF=${SLURM_CONF:-$SPROUT_STATE/slurm.conf}
  U=${SPROUT_TEST_USER:-sprout-test}
  [ "$(id -u)" = 0 ] || "$1" "run as root (scripts/test does, $2)"
  id "$U" >/dev/null 2>&1 || "$1" "no user $U"
  sinfo -h >/dev/null 2>&1 || "$1" "no cluster answers at $SLURM_CONF (scripts/cluster start)"
  plugstack=$(scontrol show config 2>/dev/null | sed -n 's/^PlugStackConfig *= *//p')
  grep -qs 'sprout\.so' "$plugstack" || "$1" "the cluster's plugstack.conf does not load sprout.so"
}
