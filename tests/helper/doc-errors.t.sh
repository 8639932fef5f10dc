#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# doc-errors.t.sh: every message the helper, the Slurm client and the plugin can print is in
# doc/troubleshooting.md, so the troubleshooting guide stays true as the code changes.
#
# How: a small C scanner (below, in Python) reads every .c file under helper/, plugin/ and lib/ with
# comments removed and collects the format string of every call that prints or builds a
# user-visible message:
#   sp_error_make, sp_error_wrap, sp_error_printf, fprintf (stderr, ...), fd_error (proxy), slurm_error,
#   slurm_info, child_fail / step_fail / task_fail (plugin), fail (Slurm client),
#   and snprintf into a buffer named msg or what, plus `static const char msg[]/what[] = "..."`
#   (messages written with write(2) where stdio cannot be used).
# Adjacent string literals are joined. Each format is cut at its printf conversions
# (%s, %zu, %lld...) into literal pieces; a piece is stripped of surrounding blanks and
# punctuation, and every piece of 4 or more characters must occur verbatim in the doc.
# (So the doc may write a message with placeholders, "<image>: blob <digest>: digest
# mismatch (content hashes to <sha256>)", and still pass; reword a message in the code and
# this test fails until the doc follows.) Formats with no such piece ("%s", "%s: %s": a
# path or a name followed by the system's reason) have nothing fixed to document: they
# are counted, not checked. The list of them is printed as TAP comments.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

doc=$SPROUT_SRC/doc/troubleshooting.md
if ! command -v python3 >/dev/null; then
  t_skip "error messages are documented" "python3 is not installed"
  t_done; exit
fi
if [ ! -f "$doc" ]; then
  t_notok "doc/troubleshooting.md exists"
  t_done; exit
fi

# ALLOW: formats deliberately left out of the doc. Keep it short, one reason each.
#   progress bar redraws (not messages):           "\r%s [%s] %6.1f ..." and friends
#   the terminal escape that erases the bar:       "\r\033[K"
allow='\r
\033[K'

out=$(SPROUT_ALLOW=$allow python3 - "$SPROUT_SRC" "$doc" <<'EOF'
import os, re, sys
src, doc = sys.argv[1], sys.argv[2]
allow = [a for a in os.environ.get("SPROUT_ALLOW", "").split("\n") if a]
text_doc = open(doc, encoding="utf-8").read()

call_re = re.compile(r"\b(?:(?:sp_error_make|sp_error_wrap|fd_error|slurm_error|slurm_info|child_fail|step_fail"
                     r"|task_fail|fail|sp_error_printf)\s*\(|fprintf\s*\(\s*stderr\s*,|snprintf\s*\(\s*(?:msg|what)\s*,)")
decl_re = re.compile(r"static\s+const\s+char\s+(?:msg|what)\s*\[\s*\]\s*=\s*")
lit_re = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"')
conv_re = re.compile(r"%[-+ #0]*[0-9*]*(?:\.[0-9*]+)?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]")

def strip_comments(s):
    out, i, n = [], 0, len(s)
    while i < n:
        if s.startswith("/*", i):
            j = s.find("*/", i + 2); j = n if j < 0 else j + 2
            out.append(" " + "\n" * s.count("\n", i, j)); i = j
        elif s.startswith("//", i):
            j = s.find("\n", i); i = n if j < 0 else j
        elif s[i] in "\"'":
            q = s[i]; j = i + 1
            while j < n and s[j] != q:
                j += 2 if s[j] == "\\" else 1
            out.append(s[i:j + 1]); i = j + 1
        else:
            out.append(s[i]); i += 1
    return "".join(out)

def call_literals(s, pos):
    """The string literals (adjacent ones joined) after pos, up to the end of the call."""
    depth, i, n, out = 0, pos, len(s), []
    while i < n:
        c = s[i]
        if c == '"':
            parts, j = [], i
            while True:
                m = lit_re.match(s, j)
                if not m: break
                parts.append(m.group(1)); j = m.end()
            out.append("".join(parts)); i = j
            continue
        if c == "(": depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0: break
        elif c == ";": break
        i += 1
    return out

STRIP = " \t:;,.'\"()[]"
def fixed(f):
    """The literal pieces of format f that a reader would search for (4+ characters)."""
    pieces = [x.strip(STRIP) for x in conv_re.split(unescape(f))]
    return [x for x in pieces if len(x) >= 4]

def unescape(f):
    return f.replace('\\"', '"').replace("\\n", "").replace("\\\\", "\\")

formats = []
for d in ("helper", "plugin", "lib"):
    # helper/ is in folders by concern (cli/, cache/, ...): walk them all
    paths = sorted(os.path.relpath(os.path.join(r, f), src)
                   for r, _, fs in os.walk(os.path.join(src, d)) for f in fs if f.endswith(".c"))
    for rel in paths:
        s = strip_comments(open(os.path.join(src, rel), encoding="utf-8").read())
        for rx in (call_re, decl_re):
            for m in rx.finditer(s):
                if rx is decl_re:
                    m2 = lit_re.match(s, m.end()); lits = [m2.group(1)] if m2 else []
                else:
                    lits = call_literals(s, m.end())
                    # sp_error_printf (PROG, FMT, ...): the program's name comes first
                    if m.group(0).startswith("sp_error_printf"):
                        lits = lits[1:]
                if not lits:
                    continue
                line = s.count("\n", 0, m.start()) + 1
                formats.append((f"{rel}:{line}", lits[0]))
                # a format without fixed text ("%s") prints its arguments: step_fail ("%s",
                # "out of memory"), or x ? x : "cannot read"; those literals are messages too
                if not fixed(lits[0]):
                    formats.extend((f"{rel}:{line}", a) for a in lits[1:])

checked = unfixed = 0
for where, f in formats:
    if f in allow or any(f.startswith(a) for a in allow):
        continue
    pieces = fixed(f)
    f = unescape(f)
    if not pieces:
        unfixed += 1
        print(f"# no fixed text: {where}: {f}")
        continue
    checked += 1
    missing = [x for x in pieces if x not in text_doc]
    if missing:
        print(f"MISSING {where}: \"{f}\" (not in the doc: " + " | ".join(f"'{x}'" for x in missing) + ")")
print(f"# {len(formats)} formats, {checked} checked, {unfixed} without fixed text")
EOF
)
st=$?
printf '%s\n' "$out" | grep '^#'
t_is "$st" 0 "the message scanner runs"
n=$(printf '%s\n' "$out" | grep -Eo '^# [0-9]+ formats' | grep -Eo '[0-9]+')
# about 400 today; 103 when the scanner missed helper/'s folders
if [ "${n:-0}" -ge 300 ]; then t_ok "the scanner finds the sources' messages ($n formats)"
else t_notok "the scanner finds the sources' messages" "only ${n:-0} formats found: is the scanner broken?"; fi
missing=$(printf '%s\n' "$out" | grep '^MISSING' || true)
if [ -z "$missing" ]; then t_ok "every error message of the helper and the plugin is in doc/troubleshooting.md"
else t_notok "every error message of the helper and the plugin is in doc/troubleshooting.md" \
  "$(printf '%s\n' "$missing" | wc -l) messages missing:" "$missing"; fi
t_done
