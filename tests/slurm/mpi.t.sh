#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/mpi.t.sh: MPI jobs in containers on the local cluster. With
# --mpi=pmix: a 6-rank mpi4py allreduce over 3 nodes (ranks == SLURM_PROCID, right sum, the
# ranks of a node in one mount namespace), shared memory with cross-memory attach between
# ranks of a node, a rank exiting 1 fails srun, scancel leaves nothing (process, PMIx
# directory) on any node. With --mpi=pmi2: MPICH (mpich.oci, Debian trixie: newer than the
# host) runs a C allreduce over the task's inherited PMI_FD, and a PMI-1 wire-protocol exchange
# from Python shows the fd itself (Debian's Open MPI has no PMI-2 client).
# Run as the test user against a cluster started with `scripts/cluster start --plugin ...`;
# images from `scripts/mkimage mpi-bookworm.oci mpi.oci mpich.oci`.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=${SPROUT_TEST_TIMEOUT:-120}
S () { timeout "$T" srun "$@"; }

skip_all () {
  t_skip "MPI in containers (all MPI tests)" "$1"
  t_done; exit
}
t_slurm_prelude skip_all
unset SLURM_MPI_TYPE "${!OMPI_MCA_@}" "${!PMIX_@}"
MPI=$(t_image mpi-bookworm.oci) || true
[ -n "$MPI" ] || skip_all "test image mpi-bookworm.oci not built (scripts/mkimage mpi-bookworm.oci)"
MPI5=$(t_image mpi.oci) || true
MPICH=$(t_image mpich.oci) || true
have_pmix=false pmix5=false
srun --mpi=list 2>&1 | grep -qw pmix && have_pmix=true
# Slurm built against PMIx 5 (Debian 13's 24.11) lists pmix_v5; 22.05 on Debian 12 has v4
srun --mpi=list 2>&1 | grep -qw pmix_v5 && pmix5=true

host_ns=$(readlink /proc/self/ns/mnt)
conf () { scontrol show config 2>/dev/null | sed -n "s/^$1 *= *//p"; }
spool=$(conf SlurmdSpoolDir)
tmpfs=$(conf TmpFS)
nodes=$(sinfo -h -N -o '%N' | sort -u)

# The cluster's nodes share one host: one hostname and one /dev/shm, where Open MPI's vader
# names its segments by hostname and local rank, so ranks of two "nodes" would collide (bare
# steps too). Each node's segments go to its own PMIx client directory instead (TmpFS/%n,
# bound into the container by the plugin: this also proves that binding is writable).
cat > nodelocal.py <<'EOF'
import os
d = "%s/spmix_appdir_%d_%s.%s" % (
    os.environ["SPROUT_TEST_TMPFS"].replace("%n", os.environ["SLURMD_NODENAME"]),
    os.getuid(), os.environ["SLURM_JOB_ID"], os.environ["SLURM_STEP_ID"])
os.environ["OMPI_MCA_btl_vader_backing_directory"] = d  # Open MPI 4
os.environ["OMPI_MCA_btl_sm_backing_directory"] = d     # Open MPI 5 (vader became sm)
EOF
export SPROUT_TEST_TMPFS=$tmpfs
cat > allreduce.py <<'EOF'
import os, sys
import nodelocal
from mpi4py import MPI
c = MPI.COMM_WORLD
r = c.Get_rank()
s = c.allreduce(r, op=MPI.SUM)
print(os.environ["SLURMD_NODENAME"], r, os.environ["SLURM_PROCID"], c.Get_size(), s,
      os.readlink("/proc/self/ns/mnt"), flush=True)
EOF
cat > bigsend.py <<'EOF'
import nodelocal
from mpi4py import MPI
c = MPI.COMM_WORLD
n = 4 << 20
if c.Get_rank() == 0:
    c.Send([bytearray(b"x" * n), MPI.BYTE], dest=1)
else:
    b = bytearray(n)
    c.Recv([b, MPI.BYTE], source=0)
    assert b == bytearray(b"x" * n), "payload differs"
print("ok", flush=True)
EOF
cat > fail3.py <<'EOF'
import sys
import nodelocal
from mpi4py import MPI
c = MPI.COMM_WORLD
c.allreduce(1)
if c.Get_rank() == 3:
    sys.exit(1)
EOF
cat > pmi1.py <<'EOF'
import os, socket
s = socket.socket(fileno=int(os.environ["PMI_FD"]))
f = s.makefile("rw")
def cmd(line):
    f.write(line + "\n"); f.flush()
    reply = dict(kv.split("=", 1) for kv in f.readline().split())
    assert reply.get("rc", "0") == "0", (line, reply)
    return reply
cmd("cmd=init pmi_version=1 pmi_subversion=1")
kvs = cmd("cmd=get_my_kvsname")["kvsname"]
rank, size = int(os.environ["PMI_RANK"]), int(os.environ["PMI_SIZE"])
cmd("cmd=put kvsname=%s key=r%d value=%d" % (kvs, rank, rank))
cmd("cmd=barrier_in")
total = sum(int(cmd("cmd=get kvsname=%s key=r%d" % (kvs, i))["value"]) for i in range(size))
cmd("cmd=finalize")
print(os.environ["SLURMD_NODENAME"], rank, os.environ["SLURM_PROCID"], size, total,
      os.readlink("/proc/self/ns/mnt"), flush=True)
EOF
chmod a+r ./*.py

# check_ranks LABEL OUTPUT: lines "node rank procid size sum mntns" of a 6-rank job, 2 per node
check_ranks () {
  local label=$1 out=$2
  t_is "$(printf '%s\n' "$out" | awk 'NF == 6 && $2 == $3 {print $2}' | sort -n | tr '\n' ' ')" "0 1 2 3 4 5 " \
    "$label: six ranks, each equal to its SLURM_PROCID" "$out"
  t_is "$(printf '%s\n' "$out" | awk 'NF == 6 {print $4 "/" $5}' | sort -u)" "6/15" \
    "$label: every rank sees 6 ranks and the sum 0+...+5 = 15"
  t_is "$(printf '%s\n' "$out" | awk 'NF == 6 {print $1}' | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" \
    "node1:2 node2:2 node3:2 " "$label: two ranks on each of the three nodes"
  t_is "$(printf '%s\n' "$out" | awk 'NF == 6 {print $1, $6}' | sort -u | awk '{print $1}' | uniq -d)" "" \
    "$label: the ranks of a node share one mount namespace"
  t_is "$(printf '%s\n' "$out" | awk -v h="$host_ns" 'NF == 6 && $6 == h' )" "" \
    "$label: no rank runs in the host's mount namespace"
}

if $have_pmix; then
  # 1. pmix: the allreduce across three nodes; shared memory within a node, TCP between
  out=$(OMPI_MCA_btl=self,vader,tcp S --mpi=pmix -N3 -n6 --ntasks-per-node=2 --container="$MPI" \
    python3 allreduce.py 2>&1)
  t_is "$?" 0 "srun --mpi=pmix -N3 -n6 --container=mpi-bookworm.oci allreduce exits 0" "$out"
  check_ranks "pmix" "$out"

  # 2. shared memory only (vader, cross-memory attach for the 4 MB message): no TCP fallback.
  #    With the image whose PMIx matches the server's: Open MPI 4.1 against Slurm 24.11's PMIx 5
  #    server prints an unlink(2) error for its segment (already gone), though the ranks finish
  if $pmix5 && [ -n "$MPI5" ]; then
    out=$(OMPI_MCA_btl=self,sm OMPI_MCA_btl_sm_single_copy_mechanism=cma \
      S --mpi=pmix -N1 -n2 --container="$MPI5" python3 bigsend.py 2>&1)
    what="mpi.oci (Open MPI 5): two ranks of a node exchange 4 MB over sm with CMA single copy only (no TCP)"
  else
    out=$(OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=cma \
      S --mpi=pmix -N1 -n2 --container="$MPI" python3 bigsend.py 2>&1)
    what="two ranks of a node exchange 4 MB over vader with CMA single copy only (no TCP)"
  fi
  t_is "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "ok ok " "$what" "$out"
  # and that restriction has teeth: across nodes vader alone cannot connect the ranks
  t_check "the same restriction across two nodes fails (so the test above proves shared memory)" \
    sh -c "OMPI_MCA_btl=self,vader timeout $T srun --mpi=pmix -N2 -n2 --container='$MPI' python3 bigsend.py >/dev/null 2>&1; [ \$? -ne 0 ]"

  # 3. a rank that exits 1 fails the step
  S --mpi=pmix -N3 -n6 --container="$MPI" python3 fail3.py > fail3.out 2>&1
  st=$?
  if [ "$st" -ne 0 ] && [ "$st" -ne 124 ]; then t_ok "rank 3 exiting 1 makes srun fail (exit $st)"
  else t_notok "rank 3 exiting 1 makes srun fail" "exit $st: $(cat fail3.out)"; fi

  # 4. scancel mid-run: no task, no helper, no PMIx directory left on any node
  name=sprout-mpi-scancel-$$
  secs=$((RANDOM % 1000 + 6000))
  hold=hold-$secs.py
  cat > "$hold" <<EOF
import time
import nodelocal
from mpi4py import MPI
MPI.COMM_WORLD.Barrier()
print("up", flush=True)
time.sleep($secs)
EOF
  chmod a+r "$hold"
  timeout "$T" srun --mpi=pmix -N3 -n6 -J "$name" --container="$MPI" python3 "$hold" > hold.out 2>&1 &
  srun_pid=$!
  for _ in $(seq 1 300); do
    [ "$(grep -c '^up$' hold.out)" -ge 6 ] && break
    sleep 0.2
  done
  t_is "$(grep -c '^up$' hold.out)" 6 "six ranks of the held MPI job are up" "$(cat hold.out)"
  jobid=$(squeue -h -u "$(id -un)" -n "$name" -o %i | head -n1)
  dirs () {
    local n
    for n in $nodes; do
      ls -d "${spool//%n/$n}/pmix.$jobid."* "${tmpfs//%n/$n}/spmix_appdir_$(id -u)_$jobid."* 2>/dev/null
    done
  }
  t_is "$(dirs | wc -l)" 6 "while it runs, its two PMIx directories exist on each node"
  # the job's helpers: sprout processes whose parent is one of this job's slurmstepd
  helpers=$(for p in $(pgrep -u "$(id -u)" -x sprout); do
    grep -qs "\[$jobid\." "/proc/$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)/cmdline" && echo "$p"
  done)
  t_is "$(echo "$helpers" | grep -c .)" 3 "one sprout helper per node holds the job's containers"
  scancel -n "$name" -u "$(id -un)"
  wait "$srun_pid"
  left=
  for _ in $(seq 1 75); do
    left="$(pgrep -u "$(id -u)" -f "$hold" || true)$(dirs)"
    for h in $helpers; do [ -d "/proc/$h" ] && left="$left $h"; done
    [ -z "$left" ] && break
    sleep 0.2
  done
  t_is "$left" "" "after scancel no rank, no helper and no PMIx directory of the job is left on any node"
  for _ in $(seq 1 100); do [ -z "$(squeue -h -u "$(id -un)" -n "$name")" ] && break; sleep 0.2; done
  t_is "$(squeue -h -u "$(id -un)" -n "$name")" "" "the job is gone from the queue"

  # 5. the newer image (trixie: Open MPI 5, PMIx 5). Against a PMIx 5 server (Slurm 24.11 on
  #    Debian 13) shared memory and three ranks per node must work; against Slurm 22.05's PMIx
  #    4.2 server:
  #    The PMIx 5 client connects through what sprout binds, gets its rank and size and
  #    exchanges its keys; this cluster's nodes share one host and one address, which Open
  #    MPI 5's TCP interface pairing refuses, so the simulation confines its TCP to loopback.
  #    Two ranks per node: the allreduce is right, but the client finds no PMIX_LOCAL_PEERS
  #    from the 4.2 server, so the two ranks of a node talk TCP instead of shared memory; and
  #    with three ranks on a node MPI_Init fails (the server cannot unpack what the client
  #    sends: "PMIX ERROR: UNPACK-PAST-END"). A PMIx version limit of Slurm's server: TODO.
  if [ -n "$MPI5" ]; then
    out=$(OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl_base_verbose=30 \
          timeout 30 srun --mpi=pmix -N3 -n6 --ntasks-per-node=2 --container="$MPI5" python3 allreduce.py 2>ompi5.err)
    check_ranks "mpi.oci (Open MPI 5, PMIx 5 client)" "$out"
    if grep -q 'Using sm btl for send' ompi5.err; then
      t_ok "mpi.oci (Open MPI 5): the ranks of a node use shared memory"
    elif $pmix5; then
      t_notok "mpi.oci (Open MPI 5): the ranks of a node use shared memory" "$(tail -n 20 ompi5.err)"
    else
      t_ok "mpi.oci (Open MPI 5): the ranks of a node use shared memory # TODO no PMIX_LOCAL_PEERS from Slurm 22.05's PMIx 4.2 server: TCP between them"
    fi
    out=$(OMPI_MCA_btl_tcp_if_include=lo timeout 30 srun --mpi=pmix -N1 -n3 --container="$MPI5" python3 allreduce.py 2>&1)
    if [ "$(printf '%s\n' "$out" | awk 'NF == 6 {print $5}' | sort -u)" = 3 ]; then
      t_ok "mpi.oci (Open MPI 5): three ranks on a node"
    elif $pmix5; then
      t_notok "mpi.oci (Open MPI 5): three ranks on a node" "$out"
    else
      t_ok "mpi.oci (Open MPI 5): three ranks on a node # TODO Slurm 22.05's PMIx 4.2 server cannot unpack the PMIx 5 client's data (UNPACK-PAST-END)"
    fi
  else
    t_skip "mpi.oci (Open MPI 5) over pmix" "image mpi.oci not built"
  fi
elif sinfo -V | awk '{print $2}' | grep -q '^26\.05\.'; then
  # Debian's 26.05 package builds no mpi/pmix plugin: not a gap of this cluster (pmi2 below is)
  echo "# srun --mpi=pmix not tested: Debian's Slurm $(sinfo -V | cut -d' ' -f2) has no mpi/pmix plugin"
else
  t_skip "srun --mpi=pmix jobs" "this Slurm has no mpi/pmix plugin (Debian: install libpmix2)"
fi

# 6. pmi2: the PMI fd reaches the task inside the container; put, barrier, get across nodes
out=$(S --mpi=pmi2 -N3 -n6 --ntasks-per-node=2 --container="$MPI" python3 pmi1.py 2>&1)
t_is "$?" 0 "srun --mpi=pmi2 -N3 -n6 --container: PMI exchange over PMI_FD exits 0" "$out"
check_ranks "pmi2" "$out"

# 7. pmi2 with a real MPI: MPICH's own PMI client in mpich.oci. UCX (MPICH's transport) takes
#    the ranks of the other simulated nodes for local ones (one host) and would open their
#    /proc/PID/fd, which another node's user namespace forbids: named /dev/shm segments instead
if [ -n "$MPICH" ]; then
  out=$(UCX_POSIX_USE_PROC_LINK=n S --mpi=pmi2 -N3 -n6 --ntasks-per-node=2 --container="$MPICH" mpi-allreduce 2>&1)
  t_is "$?" 0 "srun --mpi=pmi2 -N3 -n6 --container=mpich.oci: MPICH's allreduce exits 0" "$out"
  check_ranks "pmi2 (MPICH)" "$out"
  t_is "$(printf '%s\n' "$out" | grep -ci 'error')" 0 "pmi2 (MPICH): no error printed" "$out"
else
  t_skip "srun --mpi=pmi2 with MPICH" "image mpich.oci not built (scripts/mkimage mpich.oci)"
fi

t_done
