#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drive `sprout start` the way the SPANK plugin does (tests/helper/run-start.t.sh).

usage: start-driver.py SPROUT [START ARGS...] -- JOINER-SCRIPT
Starts `SPROUT start START-ARGS` with fd 0 = keep-alive pipe, fd 1 = report pipe,
fd 2 = captured; prints each record on its own line as "record: ...", then runs
JOINER-SCRIPT with sh, with HOLDER_PID set and the records' cwd/env exported as
REC_CWD / REC_ENV (newline-separated), prints "joiner-status: N", closes the
keep-alive pipe and prints "holder-status: N" (the holder's exit status) and
"holder-stderr: ..." lines.
"""
import os
import subprocess
import sys

def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    sprout, start_args, script = argv[0], argv[1:sep], argv[sep + 1]
    r, w = os.pipe()
    holder = subprocess.Popen([sprout, "start"] + start_args, stdin=r,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(r)
    out = holder.stdout.read()
    records = [x.decode() for x in out.split(b"\0")]
    if records and records[-1] == "":
        records.pop()
    for rec in records:
        print("record: " + rec)
    env = dict(os.environ)
    env["HOLDER_PID"] = str(holder.pid)
    env["REC_CWD"] = next((x[4:] for x in records if x.startswith("cwd=")), "")
    env["REC_ENV"] = "\n".join(x[4:] for x in records if x.startswith("env="))
    if records and records[-1] == "ready":
        js = subprocess.run(["sh", "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
        for line in js.stdout.decode().splitlines():
            print("joiner: " + line)
        print("joiner-status: %d" % js.returncode)
        alive = holder.poll() is None
        print("holder-alive-before-close: %d" % alive)
    os.close(w)
    try:
        st = holder.wait(timeout=10)
    except subprocess.TimeoutExpired:
        holder.kill()
        st = "timeout"
    print("holder-status: %s" % st)
    for line in holder.stderr.read().decode().splitlines():
        print("holder-stderr: " + line)

main()
