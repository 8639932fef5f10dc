#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/helper/proxy.t.sh: `sprout start --slurm-proxy`: Slurm's command names
# inside the container reach the host through the step's proxy: argv, cwd, environment (the
# host's PATH, no LD_*), stdin/stdout/stderr, exit status, death by signal, relayed SIGINT;
# the image's tools win (the proxy's directory ends PATH); the directory goes with the holder.
# Fake "host" Slurm commands on SPROUT_HOST_PATH stand in for Slurm. Run as the test user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

if [ "$(id -u)" = 0 ]; then
  t_skip "proxy tests" "run as an unprivileged user (runuser -u sprout-test)"; t_done; exit
fi
if ! command -v nsenter >/dev/null || ! command -v python3 >/dev/null; then
  t_skip "proxy tests" "nsenter and python3 are needed on the host"; t_done; exit
fi
t_need_image busybox.oci "sprout start --slurm-proxy with busybox.oci" || { t_done; exit; }
BB=$(t_image busybox.oci)
if [ ! -x "$(dirname "$SPROUT")/sprout-slurm-client" ]; then
  t_skip "proxy tests" "sprout-slurm-client is not next to $SPROUT"; t_done; exit
fi
DRIVER=$SPROUT_SRC/tests/helper/start-driver.py
W=$T_TMP/work
mkdir -p "$W" "$T_TMP/hostbin" && cd "$W" || exit 1

# the "host's" Slurm: sinfo reports what it got, scancel dies of SIGTERM, squeue waits for SIGINT
cat > "$T_TMP/hostbin/sinfo" <<'EOF'
#!/bin/sh
echo "argv:$*"
echo "cwd:$(pwd)"
echo "foo:$FOO"
echo "ld:${LD_LIBRARY_PATH-unset}"
echo "path:$PATH"
read -r line; echo "stdin:$line"
echo "to-stderr" >&2
exit 3
EOF
printf '#!/bin/sh\nkill -TERM $$\n' > "$T_TMP/hostbin/scancel"
cat > "$T_TMP/hostbin/squeue" <<'EOF'
#!/bin/sh
trap 'kill $s; echo got-int; exit 9' INT
sleep 20 & s=$!
echo waiting
wait $s
echo no-signal
EOF
printf '#!/bin/sh\ncat; echo "closed-ok:$?"\n' > "$T_TMP/hostbin/sstat"
chmod 0755 "$T_TMP"/hostbin/*
hpath=$T_TMP/hostbin:/usr/bin:/bin

script='
P=$(printf "%s\n" "$REC_ENV" | sed -n "s/^PATH=//p")
echo "recpath:$P"
echo "mode:$(stat -c %a "${P##*:}/..")"
J="nsenter -U -m --preserve-credentials -t $HOLDER_PID --"
$J sh -c '\''cd "$0" && export PATH="$1" FOO=bar LD_LIBRARY_PATH=/img/lib && echo "which:$(command -v sinfo)" && echo hello | sinfo a "b c"; echo "rc:$?"'\'' "$REC_CWD" "$P" 2>&1
$J sh -c '\''cd "$0" && export PATH="$1" && scancel; echo "killed-rc:$?"'\'' "$REC_CWD" "$P" 2>&1
$J sh -c '\''cd "$0" && export PATH="$1" && sstat <&-'\'' "$REC_CWD" "$P" 2>&1
$J sh -c '\''cd "$0" && export PATH="$1" && { squeue & p=$!; sleep 1; kill -INT $p; wait $p; echo "int-rc:$?"; }'\'' "$REC_CWD" "$P" 2>&1
'
out=$(SPROUT_HOST_PATH=$hpath python3 "$DRIVER" "$SPROUT" --slurm-proxy "$BB" -- "$script" 2>&1)
j=$(printf '%s\n' "$out" | sed -n 's/^joiner: //p')
recpath=$(printf '%s\n' "$j" | sed -n 's/^recpath://p')
dir=${recpath##*:}
dir=${dir%/bin}
t_match "$recpath" ':/tmp/sprout-slurm\.[A-Za-z0-9]+/bin$' "the PATH record ends with the proxy's bin directory" "$out"
t_is "$(printf '%s\n' "$j" | sed -n 's/^mode://p')" 700 "the proxy's directory is private (0700)"
t_is "$(printf '%s\n' "$j" | sed -n 's/^which://p')" "$dir/bin/sinfo" "sinfo inside is the proxy's client"
t_is "$(printf '%s\n' "$j" | sed -n 's/^argv://p')" "a b c" "the host command gets the arguments"
t_is "$(printf '%s\n' "$j" | sed -n 's/^cwd://p')" "$W" "... runs in the caller's working directory (same path)"
t_is "$(printf '%s\n' "$j" | sed -n 's/^foo://p')" "bar" "... gets the caller's environment"
t_is "$(printf '%s\n' "$j" | sed -n 's/^ld://p')" "unset" "... without the image's LD_* variables"
t_is "$(printf '%s\n' "$j" | sed -n 's/^path://p')" "$hpath" "... with the host's PATH"
t_is "$(printf '%s\n' "$j" | sed -n 's/^stdin://p')" "hello" "... reads the caller's stdin"
t_is "$(printf '%s\n' "$j" | grep -c '^to-stderr$')" 1 "... writes to the caller's stderr"
t_is "$(printf '%s\n' "$j" | sed -n 's/^rc://p')" 3 "its exit status 3 comes back"
t_is "$(printf '%s\n' "$j" | sed -n 's/^closed-ok://p')" 0 "a caller with stdin closed passes /dev/null"
t_is "$(printf '%s\n' "$j" | sed -n 's/^killed-rc://p')" 143 "a host command killed by SIGTERM kills its caller the same way (143)"
t_is "$(printf '%s\n' "$j" | grep -E '^(waiting|got-int|no-signal)$' | tr '\n' ' ')" "waiting got-int " \
  "SIGINT to the caller reaches the host command"
t_is "$(printf '%s\n' "$j" | sed -n 's/^int-rc://p')" 9 "... whose exit status comes back (9)"
base=$(python3 "$DRIVER" "$SPROUT" "$BB" -- true 2>&1 | sed -n 's/^record: env=PATH=//p')
t_is "${recpath%:*}" "$base" "the image's own PATH comes first (its tools win over the proxy's)"
t_match "$(printf '%s\n' "$out" | grep '^holder-status')" 'holder-status: 0' "the holder ends with status 0"
for _ in $(seq 1 50); do [ -e "$dir" ] || break; sleep 0.1; done
t_is "$([ -e "$dir" ] && echo left)" "" "the proxy removes its directory when the holder's fd 0 closes"

# a holder that fails after forking the proxy removes the proxy's directory itself
if command -v strace >/dev/null; then
  strace -f -e trace=mkdir -o "$T_TMP/mkdir.trace" "$SPROUT" start --slurm-proxy --workdir /nonexistent "$BB" \
    < /dev/null > /dev/null 2>&1
  fdir=$(grep -o '/tmp/sprout-slurm\.[A-Za-z0-9]*' "$T_TMP/mkdir.trace" | head -n1)
  t_match "$fdir" '^/tmp/sprout-slurm\.' "a failing start (missing --workdir) had made its proxy directory"
  t_is "$([ -e "$fdir" ] && echo left)" "" "... and removes it when it fails"
else
  t_skip "a failing start removes its proxy directory" "strace is not installed"
fi

t_status 125 "sprout run refuses --slurm-proxy" "$SPROUT" run --slurm-proxy "$BB" true
t_match "$T_OUT" '^sprout: error: run: --slurm-proxy is for start' "with one line"
t_status 125 "the client alone refuses to run" "$(dirname "$SPROUT")/sprout-slurm-client"
t_match "$T_OUT" '^sprout: error: sprout-slurm-client: run it as a Slurm command' "with one line"

t_done
