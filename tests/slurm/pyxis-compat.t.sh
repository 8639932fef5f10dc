#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/slurm/pyxis-compat.t.sh: pyxis's spellings on the local cluster: --container-image
# as --container in srun, sbatch, #SBATCH and salloc (the same SLURM_CONTAINER for the tasks,
# the same inheritance and override in a job's steps), --no-container-remap-root, pyxis's
# +-joined mount flags; and --container-image left to pyxis where a plugin named pyxis is
# loaded (a tiny stand-in registering that option, in a private plugstack.conf for srun).
# Run as the test user with SLURM_CONF (or SPROUT_STATE) pointing at a cluster started with
# `scripts/cluster start --plugin sprout.so --helper sprout`; images from scripts/mkimage.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=${SPROUT_TEST_TIMEOUT:-180}
S () { timeout "$T" srun "$@"; }
sb () { timeout "$T" sbatch --wait "$@"; }

skip_all () {
  t_skip "pyxis spellings (all)" "$1"
  t_done; exit
}
t_slurm_prelude skip_all
chmod 0755 "$T_TMP"
PY3=$(t_image py3.oci) || true
BB=$(t_image busybox.oci) || true
[ -n "$PY3" ] && [ -n "$BB" ] || skip_all "test images py3.oci and busybox.oci not built (scripts/mkimage)"
srun --help 2>&1 | tr -s ' \n' '  ' | grep -q -- "--container-image=IMAGE \\[sprout\\]" \
  || skip_all "srun --help lists no --container-image (pyxis loaded on this cluster, or an older sprout.so)"
probe='if [ -x /usr/bin/python3 ]; then /usr/bin/python3 -c "import sys; print(sys.version_info[1])"; else echo nopy; fi'

# 1. srun: the same image, the same SLURM_CONTAINER as --container
a=$(S -N1 --container="$PY3" sh -c "$probe; echo \$SLURM_CONTAINER" 2>&1)
b=$(S -N1 --container-image="$PY3" sh -c "$probe; echo \$SLURM_CONTAINER" 2>&1)
t_is "$b" "$a" "srun --container-image=IMAGE runs as --container=IMAGE, with the same SLURM_CONTAINER"
t_is "$(printf '%s\n' "$b" | head -n1)" 13 "... in the image"
t_is "$(cd "$(dirname "$BB")" && S -N1 --container-image="$(basename "$BB")" sh -c "$probe" 2>&1)" nopy \
  "a relative --container-image is taken against srun's working directory"
t_status 1 "--container-image and --container naming two images is an error" S -N1 --container-image="$PY3" --container="$BB" true
t_match "$T_OUT" "sprout: error: --container-image=$PY3 and --container=$BB contradict each other" "... in one line"
t_status 0 "--container-image and --container naming the same image is not" S -N1 --container-image="$PY3" --container="$PY3" true
t_status 1 "--container-image with --no-container is an error" S -N1 --container-image="$PY3" --no-container true
t_status 1 "a sprout option without an image is still refused" S -N1 --no-container-remap-root true
t_match "$T_OUT" "sprout: error: --no-container-remap-root needs an image" "... naming the option"

# 2. sbatch, #SBATCH: the batch script and its steps as with --container; a step's own image wins
mkdir -p data && echo one > data/f && chmod -R a+rX data
cat > job.sh <<EOF
#!/bin/sh
#SBATCH --container-image=$PY3
echo "batch \$($probe) \$SLURM_CONTAINER"
echo "step \$(srun -N1 sh -c '$probe; echo \$SLURM_CONTAINER' | tr '\n' ' ')"
echo "override \$(srun -N1 --container=$BB sh -c '$probe')"
echo "override-image \$(srun -N1 --container-image=$BB sh -c '$probe')"
echo "hoststep \$(srun -N1 --no-container sh -c '$probe' | head -c 20)"
EOF
sed '/^#SBATCH/d' job.sh > plain.sh
chmod 0755 job.sh plain.sh
sb -o "$T_TMP/hash.out" job.sh > /dev/null 2> sb.err; st=$?
t_is "$st" 0 "a batch script with #SBATCH --container-image exits 0" "$(cat sb.err)" "$(cat hash.out 2>/dev/null)"
sb -o "$T_TMP/opt.out" --container-image="$PY3" plain.sh > /dev/null 2>&1
sb -o "$T_TMP/ref.out" --container="$PY3" plain.sh > /dev/null 2>&1
# the jobs' output without srun's own notes ("step creation temporarily disabled": timing)
o () { grep -v '^srun: ' "$1" 2>/dev/null; }
t_is "$(o hash.out)" "$(o ref.out)" "#SBATCH --container-image: the same output as sbatch --container"
t_is "$(o opt.out)" "$(o ref.out)" "sbatch --container-image: the same output as sbatch --container"
out=$(o opt.out)
t_is "$(printf '%s\n' "$out" | sed -n 's/^batch //p')" "13 $PY3" "the batch script runs in the image and sees SLURM_CONTAINER=IMAGE"
t_is "$(printf '%s\n' "$out" | sed -n 's/^step //p')" "13 $PY3 " "its steps inherit the image"
t_is "$(printf '%s\n' "$out" | sed -n 's/^override //p')" nopy "a step's --container wins over the job's --container-image"
t_is "$(printf '%s\n' "$out" | sed -n 's/^override-image //p')" nopy "a step's --container-image wins too"
host_py=$(sh -c "$probe" | head -c 20)
t_is "$(printf '%s\n' "$out" | sed -n 's/^hoststep //p')" "$host_py" "srun --no-container inside runs on the host"

# 3. salloc: the shell stays on the host with SLURM_CONTAINER, its srun runs in the image
out=$(timeout "$T" salloc -N1 --container-image="$PY3" sh -c "echo env \$SLURM_CONTAINER; srun sh -c '$probe'" 2>/dev/null)
ref=$(timeout "$T" salloc -N1 --container="$PY3" sh -c "echo env \$SLURM_CONTAINER; srun sh -c '$probe'" 2>/dev/null)
t_is "$out" "$ref" "salloc --container-image: as salloc --container"
t_is "$(printf '%s\n' "$out" | tail -n1)" 13 "... srun inside runs in the image"

# 4. --no-container-remap-root undoes --container-remap-root and its twin
t_is "$(S -N1 --container="$PY3" --container-remap-root id -u 2>&1)" 0 "--container-remap-root: uid 0 inside"
t_is "$(S -N1 --container="$PY3" --container-remap-root --no-container-remap-root id -u 2>&1)" "$(id -u)" \
  "--no-container-remap-root after it: the user's uid"
t_is "$(SPROUT_CONTAINER_REMAP_ROOT=1 S -N1 --container="$PY3" --no-container-remap-root id -u 2>&1)" "$(id -u)" \
  "--no-container-remap-root wins over SPROUT_CONTAINER_REMAP_ROOT=1"

# 5. pyxis's mount flags
out=$(S -N1 --container="$PY3" --container-mounts="$T_TMP/data:/data:ro+rprivate" sh -c 'cat /data/f; echo x > /data/g' 2>&1)
t_match "$out" "^one" "--container-mounts SRC:DST:ro+rprivate binds SRC"
t_match "$out" "Read-only file system" "... read-only"
t_is "$(S -N1 --container="$PY3" --container-mounts="$T_TMP/data:/data:rbind+rw+rslave" sh -c 'echo two > /data/g && cat /data/g' 2>&1)" two \
  "rbind+rw+rslave: a writable recursive bind"
t_status 1 "rshared is refused before anything runs" S -N1 --container="$PY3" --container-mounts="$T_TMP/data:/data:rshared" true
t_match "$T_OUT" "flag 'rshared' is not possible rootless" "... saying why"
t_is "$(printf '%s\n' "$T_OUT" | grep -c 'sprout: error')" 1 "... in one line"
t_status 1 "an unknown flag is refused" S -N1 --container="$PY3" --container-mounts="$T_TMP/data:/data:ro+x-create=dir" true
t_match "$T_OUT" "unknown mount flag 'x-create=dir'" "... naming it"

# 6. a plugin named pyxis keeps --container-image: a stand-in that registers it, loaded
# before or after sprout.so in a private plugstack.conf that this test's srun reads (its file
# is not called spank_pyxis.so: sprout must know it by its plugin_name)
plugstack=$(scontrol show config 2>/dev/null | sed -n 's/^PlugStackConfig *= *//p')
so=$(grep -v '^#' "$plugstack" 2>/dev/null | grep -o '/[^ ]*sprout\.so' | head -n1)
args=$(grep -v '^#' "$plugstack" | grep 'sprout\.so' | head -n1 | sed 's/^.*sprout\.so//')
if command -v cc >/dev/null && [ -f /usr/include/slurm/spank.h ] && [ -n "$so" ]; then
  mkdir -p conf
  cat > conf/pyxis.c <<'EOF'
#include <stddef.h>
#include <slurm/spank.h>
SPANK_PLUGIN (pyxis, 1);
static int cb (int val, const char *optarg, int remote) { return 0; }
static struct spank_option image = {
  "container-image", "[USER@][REGISTRY#]IMAGE[:TAG]|PATH", "[stand-in pyxis] image", 1, 0, cb,
};
/* as pyxis does: its options are registered in slurm_spank_init */
int slurm_spank_init (spank_t sp, int ac, char **av) { return spank_option_register (sp, &image); }
EOF
  if cc -shared -fPIC -o conf/standin.so conf/pyxis.c 2> conf/cc.err; then
    sed "s|^PlugStackConfig=.*|PlugStackConfig=$T_TMP/conf/plugstack.conf|" "$SLURM_CONF" > conf/slurm.conf
    for order in after before; do
      if [ $order = after ]; then printf 'required %s%s\nrequired %s\n' "$so" "$args" "$T_TMP/conf/standin.so"
      else printf 'required %s\nrequired %s%s\n' "$T_TMP/conf/standin.so" "$so" "$args"; fi > conf/plugstack.conf
      # one line: srun --help wraps a plugin's help text
      help=$(SLURM_CONF=$T_TMP/conf/slurm.conf srun --help 2>&1 | tr -s ' \n' '  ')
      t_match "$help" 'stand-in pyxis\] image' "pyxis loaded $order sprout: srun --help shows pyxis's --container-image"
      t_is "$(printf '%s\n' "$help" | grep -c "(pyxis's spelling)")" 0 "... and not sprout's" "$help"
      t_match "$help" 'container-mounts' "... sprout's other options are still there"
    done
    printf 'required %s%s\n' "$so" "$args" > conf/plugstack.conf
    t_match "$(SLURM_CONF=$T_TMP/conf/slurm.conf srun --help 2>&1 | tr -s ' \n' '  ')" "\\[sprout\\] the same as --container=IMAGE \\(pyxis's spelling\\)" \
      "without the stand-in, the same plugstack gives sprout's --container-image"
  else
    t_skip "a plugin named pyxis keeps --container-image" "cannot build the stand-in: $(head -n1 conf/cc.err)"
  fi
else
  t_skip "a plugin named pyxis keeps --container-image" "no cc or slurm/spank.h to build a stand-in"
fi

t_done
