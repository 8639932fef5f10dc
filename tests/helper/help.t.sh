#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# help.t.sh: `sprout --help` and every verb's `--help` answer with a usage line and exit 0,
# and an unknown option gets one error line and sprout's failure status.
#
# The verbs are read from the source (the verbs[] table of helper/cli/main.c), so a new verb
# is tested without touching this file. Convention (helper/cli/cli.h, cmd_store.c): an unknown
# option prints exactly one line, `sprout: error: ...` naming the option, on stderr, nothing on
# stdout, and exits 125 (SP_EXIT_FAILURE), as every other error of sprout does.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

main_c=$SPROUT_SRC/helper/cli/main.c
cli_h=$SPROUT_SRC/helper/cli/cli.h
# { "import", cmd_via_importer, "..." }: the first string of each entry of the verbs table
verbs=$(sed -n '/sp_cli_verb verbs\[\]/,/^};/s/^[[:space:]]*{[[:space:]]*"\([a-z][a-z0-9-]*\)".*/\1/p' "$main_c")
n=$(printf '%s\n' "$verbs" | grep -c .)
if [ "$n" -ge 5 ]; then t_ok "the verbs are read from helper/cli/main.c ($n: $(echo $verbs))"
else t_notok "the verbs are read from helper/cli/main.c" "found $n: is the table still called verbs[]?"; fi
fail_status=$(sed -n 's/^#define SP_EXIT_FAILURE[[:space:]]*\([0-9]*\).*/\1/p' "$cli_h")
t_match "$fail_status" '^[0-9]+$' "sprout's failure status is read from helper/cli/cli.h ($fail_status)"
fail_status=${fail_status:-125}

t_status 0 "sprout --help exits 0" "$SPROUT" --help
top=$T_OUT
t_match "$top" '^Usage: sprout ' "sprout --help starts with a usage line"
missing=
for v in $verbs; do
  printf '%s\n' "$top" | grep -Eq "^  $v +[^ ]" || missing="$missing $v"
done
t_is "$missing" "" "sprout --help lists every verb with its one-line help"

# one_error_line DESC WANT_NAMED CMD...: exit $fail_status, nothing on stdout, one line on
# stderr that starts with "sprout: error:" and holds WANT_NAMED
one_error_line () {
  local d=$1 named=$2 out err st; shift 2
  out=$("$@" 2>"$T_TMP/err" </dev/null); st=$?
  err=$(cat "$T_TMP/err")
  if [ "$st" = "$fail_status" ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] \
     && printf '%s\n' "$err" | grep -q '^sprout: error: ' && printf '%s\n' "$err" | grep -qF -- "$named"; then
    t_ok "$d"
  else
    t_notok "$d" "command: $*" "exit $st (want $fail_status); stdout:" "$out" "stderr (want one 'sprout: error:' line naming $named):" "$err"
  fi
}

one_error_line "sprout --bogus: one error line naming it, exit $fail_status" --bogus "$SPROUT" --bogus
one_error_line "sprout no-such-verb: one error line naming it, exit $fail_status" no-such-verb "$SPROUT" no-such-verb

for v in $verbs; do
  t_status 0 "sprout $v --help exits 0" "$SPROUT" "$v" --help
  t_match "$(printf '%s\n' "$T_OUT" | head -n 1)" "^Usage: sprout $v( |\$)" "sprout $v --help starts with 'Usage: sprout $v'"
  one_error_line "sprout $v --bogus: one error line naming it, exit $fail_status" --bogus "$SPROUT" "$v" --bogus
done

t_done
