# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib.sh: the shell test harness. Each tests/*/NAME.t.sh sources this and prints TAP;
# scripts/test adds the results up. Container tests run as the unprivileged test user.
#
# Environment (set by scripts/test; defaults suit a developer running one file by hand):
#   SPROUT          the sprout binary under test
#   SPROUT_SRC      the source tree (fixtures, scripts)
#   SPROUT_IMAGES   directory of test images built by scripts/mkimage
#   SPROUT_STATE    the local cluster's state directory (Slurm tests); SLURM_CONF set from it
#   CI=true         a test that cannot run fails instead of skipping

set -u
SPROUT_SRC=${SPROUT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SPROUT=${SPROUT:-$SPROUT_SRC/helper/sprout}
SPROUT_IMAGES=${SPROUT_IMAGES:-/var/tmp/sprout-test-images}
export SPROUT SPROUT_SRC SPROUT_IMAGES

_t_n=0
_t_failed=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sprout-test.XXXXXX")
# a private cache per test file, so tests never share state by accident
export SPROUT_CACHE_DIR=$T_TMP/cache
trap 't_cleanup' EXIT

t_cleanup () {
  chmod -R u+rwX "$T_TMP" 2>/dev/null
  rm -rf "$T_TMP"
}

# t_ok DESC / t_notok DESC [DETAIL...]: report one result; details go out as TAP comments
t_ok () { _t_n=$((_t_n + 1)); echo "ok $_t_n - $1"; }
t_notok () {
  _t_n=$((_t_n + 1)); _t_failed=$((_t_failed + 1))
  echo "not ok $_t_n - $1"; shift
  local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /' | head -40; done
}

# t_skip DESC REASON: a gap, not a pass; in CI it is a failure
t_skip () {
  if [ "${CI:-}" = true ]; then t_notok "$1 (cannot run here: $2)"
  else _t_n=$((_t_n + 1)); echo "ok $_t_n - $1 # SKIP $2"; fi
}

# t_check DESC CMD...: passes when CMD exits 0
t_check () {
  local d=$1 out; shift
  if out=$("$@" 2>&1); then t_ok "$d"; else t_notok "$d" "command: $*" "exit $?; output:" "$out"; fi
}

# t_status WANT DESC CMD...: passes when CMD exits with status WANT; output in $T_OUT
t_status () {
  local want=$1 d=$2 st; shift 2
  T_OUT=$("$@" 2>&1); st=$?
  if [ "$st" = "$want" ]; then t_ok "$d"; else t_notok "$d" "command: $*" "exit $st, wanted $want; output:" "$T_OUT"; fi
}

# t_is GOT WANT DESC: string equality
t_is () {
  if [ "$1" = "$2" ]; then t_ok "$3"; else t_notok "$3" "got:  $1" "want: $2"; fi
}

# t_match GOT REGEX DESC: extended regex match
t_match () {
  if printf '%s' "$1" | grep -Eq -- "$2"; then t_ok "$3"; else t_notok "$3" "got:  $1" "want match: $2"; fi
}

# t_image NAME: path of a test image, or "" (and a skip/fail is up to the caller)
t_image () { [ -e "$SPROUT_IMAGES/$1" ] && echo "$SPROUT_IMAGES/$1"; }

# t_need_image NAME DESC: returns 1 and records a skip when the image is missing
t_need_image () {
  [ -e "$SPROUT_IMAGES/$1" ] && return 0
  t_skip "$2" "test image $1 not built (scripts/mkimage)"; return 1
}

# t_done: print the plan; exit non-zero if anything failed
t_done () { echo "1..$_t_n"; [ "$_t_failed" -eq 0 ]; }
