#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/plugin-config.t.sh: plugstack.conf arguments as srun sees them, and oci.conf
# next to slurm.conf. srun reads PlugStackConfig from the slurm.conf it is given, so the test
# user points srun at a private copy of the cluster's slurm.conf whose plugstack.conf loads
# the same sprout.so with the arguments under test; nothing of the cluster is changed.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SPROUT_STATE=${SPROUT_STATE:-/var/tmp/sprout-cluster}
export SLURM_CONF=${SLURM_CONF:-$SPROUT_STATE/slurm.conf}
cd "$T_TMP" || exit 1
unset SLURM_CONTAINER SRUN_CONTAINER
T=${SPROUT_TEST_TIMEOUT:-120}

skip_all () { t_skip "plugstack.conf arguments (all)" "$1"; t_done; exit; }
sinfo -h >/dev/null 2>&1 || skip_all "no cluster answers at $SLURM_CONF (scripts/cluster start)"
plugstack=$(scontrol show config 2>/dev/null | sed -n 's/^PlugStackConfig *= *//p')
so=$(grep -v '^#' "$plugstack" 2>/dev/null | grep -o '/[^ ]*sprout\.so' | head -n1)
[ -n "$so" ] || skip_all "the cluster's plugstack.conf does not load sprout.so"
PY3=$(t_image py3.oci) || skip_all "test image py3.oci not built (scripts/mkimage)"
helper=$(grep -v '^#' "$plugstack" | grep -o 'helper=[^ ]*' | head -n1)

mkdir conf
sed "s|^PlugStackConfig=.*|PlugStackConfig=$T_TMP/conf/plugstack.conf|" "$SLURM_CONF" > conf/slurm.conf
grep -q "^PlugStackConfig=$T_TMP/conf/plugstack.conf" conf/slurm.conf || skip_all "cannot rewrite PlugStackConfig"
# with_args ARGS...: srun of this test loads sprout.so with these plugstack arguments
with_args () { echo "required $so $*" > conf/plugstack.conf; }
S () { SLURM_CONF=$T_TMP/conf/slurm.conf timeout "$T" srun "$@"; }

with_args $helper
t_status 0 "srun loads sprout.so from a private plugstack.conf" S -N1 --container="$PY3" true

with_args $helper bogus=1
t_status 1 "an unknown plugstack key stops srun before anything runs" S -N1 true
t_match "$T_OUT" "sprout: error: plugstack.conf: unknown key 'bogus'" "... naming the key"

with_args $helper writable=2
t_status 1 "a plugstack boolean other than 0|1 is an error" S -N1 true
t_match "$T_OUT" "sprout: error: plugstack.conf: writable=2: the value must be 0 or 1" "... naming key and value"

with_args helper=relative/sprout
t_status 1 "a relative helper= is an error" S -N1 true
t_match "$T_OUT" "helper=relative/sprout: must be an absolute path" "... saying it must be absolute"

with_args $helper mounts=/tmp:relative
t_status 1 "a mounts= entry with a relative destination is an error" S -N1 true
t_match "$T_OUT" "plugstack.conf: mounts: '/tmp:relative': the destination must be an absolute path" "... naming the entry"

with_args $helper noequals
t_status 1 "an argument that is not KEY=VALUE is an error" S -N1 true
t_match "$T_OUT" "argument 'noequals' is not KEY=VALUE" "... naming it"

# oci.conf next to slurm.conf: Slurm's own runtime owns --container, sprout says so once
with_args $helper
echo 'RunTimeRun="true"' > conf/oci.conf
out=$(SLURM_CONF=$T_TMP/conf/slurm.conf timeout "$T" srun -N1 --container="$PY3" true 2>&1)
t_is "$(printf '%s\n' "$out" | grep -c "sprout: $T_TMP/conf/oci.conf exists: Slurm's own OCI runtime runs --container")" 1 \
  "with oci.conf next to slurm.conf srun says once that sprout stays out of the way"
rm -f conf/oci.conf

t_done
