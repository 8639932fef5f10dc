#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# doc-options.t.sh: the man pages document every option the code accepts, and nothing else.
#
#   sprout(1)        every long and short option of sprout and its verbs (the struct option
#                    tables and getopt strings of helper/cli/*.c, sprout-import's included)
#   sprout-spank(8)  every SPANK option of the plugin (the struct spank_option tables of
#                    plugin/*.c), every SPROUT_CONTAINER_* twin the plugin reads, every
#                    plugstack.conf key (the strcmp (key, "...") tests of plugin/config.c)
#
# Code to doc: each name must appear in the page as rendered by man(1), and in the roff source
# with each hyphen written \- (a plain `-` renders as a hyphen, U+2010, on most systems: such
# an option cannot be searched for or pasted); groff -ww must have no warning.
# Doc to code: each option in a .TP tag (the term of an entry) of the page's OPTIONS-like
# sections, each SPROUT_CONTAINER_* name and each key in PLUGSTACK ARGUMENTS must exist in the
# code. Everything is extracted from the sources with sed/grep, never from a list kept here.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

src=$SPROUT_SRC
man1=$src/doc/sprout.1
man8=$src/doc/sprout-spank.8

# render PAGE: the page as a reader sees it, one long line per paragraph (so that no
# option is hyphenated at a line's end; a break that happens anyway is joined again: its
# U+2010 hyphen is not the ASCII one an option has, so the join cannot make one pass)
render () {
  if command -v man >/dev/null 2>&1; then
    MANWIDTH=1000 MAN_KEEP_FORMATTING= man -l "$1" 2>/dev/null | col -b
  else
    groff -man -Tutf8 -rLL=1000n "$1" 2>/dev/null | col -b
  fi | sed -z 's/\xe2\x80\x90\n[[:space:]]*/\xe2\x80\x90/g'
}
if ! command -v man >/dev/null 2>&1 && ! command -v groff >/dev/null 2>&1; then
  t_skip "options are documented" "neither man nor groff is installed"; t_done; exit
fi

# ---- the code's names
# sprout: { "name", no_argument|required_argument|optional_argument, ... } in helper/cli/*.c
helper_long=$(cat "$src"/helper/cli/*.c |
  grep -oE '\{[[:space:]]*"[a-z][a-z0-9-]*",[[:space:]]*(no|required|optional)_argument' |
  sed -E 's/^\{[[:space:]]*"([^"]*)".*/\1/' | sort -u)
# short options: the letters of each getopt_long optstring ("+m:w:e:h")
helper_short=$(cat "$src"/helper/cli/*.c | tr '\n' ' ' |
  grep -oE 'getopt_long[[:space:]]*\([^,]*,[^,]*,[[:space:]]*"[^"]*"' |
  sed -E 's/.*"([^"]*)"$/\1/' | tr -d '+:' | fold -w1 | sort -u)
# plugin: the first field of each entry of every struct spank_option table in plugin/*.c,
# and of every single struct spank_option (an option registered only on a condition)
plugin_opts=$(for f in "$src"/plugin/*.c; do
  sed -n '/struct spank_option [A-Za-z_]*\[\][[:space:]]*=/,/^};/p' "$f" |
    grep -oE '^[[:space:]]*\{[[:space:]]*"[a-z][a-z0-9-]*"' | grep -oE '"[^"]*"' | tr -d '"'
  sed -n '/struct spank_option [A-Za-z_]*[[:space:]]*=[[:space:]]*{/,/^};/p' "$f" |
    grep -oE '"[a-z][a-z0-9-]*"' | head -n 1 | tr -d '"'
done | sort -u)
twins=$(cat "$src"/plugin/*.c | grep -oE '"SPROUT_CONTAINER_[A-Z_]+' | tr -d '"' | sort -u)
keys=$(grep -oE 'strcmp[[:space:]]*\([[:space:]]*key[[:space:]]*,[[:space:]]*"[a-z_]+"' "$src/plugin/config.c" |
  grep -oE '"[a-z_]+"' | tr -d '"' | sort -u)

count () { printf '%s\n' "$1" | grep -c .; }
# a scanner that finds (next to) nothing passes vacuously: insist on what the code has today
[ "$(count "$helper_long")" -ge 15 ] && t_ok "sprout's long options are read from the source ($(count "$helper_long"))" \
  || t_notok "sprout's long options are read from the source" "found: $helper_long"
[ "$(count "$helper_short")" -ge 7 ] && t_ok "sprout's short options are read from the source ($(echo $helper_short))" \
  || t_notok "sprout's short options are read from the source" "found: $helper_short"
[ "$(count "$plugin_opts")" -ge 9 ] && t_ok "the plugin's options are read from the source ($(count "$plugin_opts"))" \
  || t_notok "the plugin's options are read from the source" "found: $plugin_opts"
[ "$(count "$twins")" -ge 6 ] && t_ok "the plugin's SPROUT_CONTAINER_* twins are read from the source ($(count "$twins"))" \
  || t_notok "the plugin's SPROUT_CONTAINER_* twins are read from the source" "found: $twins"
[ "$(count "$keys")" -ge 6 ] && t_ok "the plugstack.conf keys are read from the source ($(echo $keys))" \
  || t_notok "the plugstack.conf keys are read from the source" "found: $keys"

# the keys the plugin names in its own error messages ("(keys: helper, cache_dir, ...)")
listed=$(grep -oE '\(keys: [a-z_, ]+\)' "$src/plugin/config.c" | sed 's/^(keys: //; s/)$//' | tr ',' '\n' |
  tr -d ' ' | sort -u)
if [ -n "$listed" ]; then
  t_is "$(echo $listed)" "$(echo $keys)" "the keys listed in plugin/config.c's messages are the keys it parses"
fi

# ---- the pages
r1=$(render "$man1")
r8=$(render "$man8")
t_match "$r1" 'sprout' "sprout(1) renders"
t_match "$r8" 'sprout' "sprout-spank(8) renders"
for page in "$man1" "$man8"; do
  w=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
  t_is "$w" "" "groff -man -ww: no warnings for ${page##*/}"
done

# in_roff PAGE NAME: NAME is in the roff source, each hyphen written \- (a plain - renders as
# a hyphen on most systems, not the ASCII minus an option needs to be searched or pasted;
# Debian maps it back, so the rendered page cannot tell)
in_roff () {
  local esc end='(?![A-Za-z0-9_]|\\-)'
  esc=$(printf '%s' "$2" | sed -e 's/[.[*^$+?(){}|]/\\&/g' -e 's/-/\\\\-/g')
  case $2 in *=) end= ;; esac  # key=VALUE
  grep -v '^\.\\"' "$1" | grep -qP -- "(?<!\\\\-)$esc$end"
}
# in_page RENDERED NAME: NAME appears whole in the rendered page
in_page () {
  local end='([^A-Za-z0-9_-]|$)'
  case $2 in *=) end= ;; esac
  printf '%s\n' "$1" | grep -qE -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$2" | sed 's/[.[\*^$]/\\&/g')$end"
}
# missing_from PAGE RENDERED PREFIX NAMES: the names (with PREFIX) not in the page, as
# written (roff) and as read (rendered)
missing_from () {
  local page=$1 r=$2 p=$3 n out=
  for n in $4; do { in_roff "$page" "$p$n" && in_page "$r" "$p$n"; } || out="$out $p$n"; done
  printf '%s' "$out"
}
t_is "$(missing_from "$man1" "$r1" -- "$helper_long")" "" "sprout(1) documents every long option of sprout (as \-\-name)"
t_is "$(missing_from "$man1" "$r1" - "$helper_short")" "" "sprout(1) documents every short option of sprout (as \-x)"
t_is "$(missing_from "$man8" "$r8" -- "$plugin_opts")" "" "sprout-spank(8) documents every option of the plugin (as \-\-name)"
t_is "$(missing_from "$man8" "$r8" '' "$twins")" "" "sprout-spank(8) documents every SPROUT_CONTAINER_* twin"
t_is "$(missing_from "$man8" "$r8" '' "$(printf '%s=\n' $keys)")" "" "sprout-spank(8) documents every plugstack.conf key (as key=)"
# an option anywhere in a page written with a plain hyphen: --x, \-\-x-y, \-x-y
for page in "$man1" "$man8"; do
  bad=$(grep -nE -- '(^|[^\\A-Za-z0-9])--?[a-z]|\\-\\-[a-z0-9]+(\\-[a-z0-9]+)*-[a-z]' "$page" | grep -v '^[0-9]*:\.\\"' | head -5)
  t_is "$bad" "" "${page##*/} writes every option with \\- (none with a plain hyphen)"
done

# ---- doc to code
# tags PAGE SECTION-REGEX: the lines that follow a .TP inside the sections whose .SH/.SS
# title matches, roff escapes for hyphens turned into hyphens
tags () {
  awk -v re="$2" '/^\.S[HS] / { on = ($0 ~ re) } on && tp { print; tp = 0; next } /^\.TP/ { tp = 1 }' "$1" |
    sed 's/\\-/-/g'
}
documented_long () { grep -oE -- '(^|[^a-z-])--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sed 's/^--//' | sort -u; }
documented_short () { grep -oE -- '(^|[ "])-[A-Za-z]([ "]|$)' | grep -oE -- '-[A-Za-z]' | sed 's/^-//' | sort -u; }

t1=$(tags "$man1" 'OPTIONS|Options')
extra=$(comm -23 <(printf '%s\n' "$t1" | documented_long) <(printf '%s\n' $helper_long | sort -u) | tr '\n' ' ')
t_is "$extra" "" "every long option in sprout(1)'s option lists exists in helper/cli"
extra=$(comm -23 <(printf '%s\n' "$t1" | documented_short) <(printf '%s\n' $helper_short | sort -u) | tr '\n' ' ')
t_is "$extra" "" "every short option in sprout(1)'s option lists exists in helper/cli"

t8=$(tags "$man8" '^\.SH OPTIONS')
# --[no-]container-mount-home: both spellings
t8_long=$(printf '%s\n' "$t8" | sed 's/--\[no-\]/--no-/g' | documented_long)
extra=$(comm -23 <(printf '%s\n' "$t8_long") <(printf '%s\n' $plugin_opts | sort -u) | tr '\n' ' ')
t_is "$extra" "" "every option in sprout-spank(8)'s OPTIONS exists in the plugin"
extra=$(comm -23 <(grep -oE 'SPROUT_CONTAINER_[A-Z_]+' "$man8" | sort -u) <(printf '%s\n' $twins | sort -u) | tr '\n' ' ')
t_is "$extra" "" "every SPROUT_CONTAINER_* name in sprout-spank(8) is read by the plugin"
page_keys=$(tags "$man8" '^\.SH PLUGSTACK' | grep -oE '^\.B[IR]? +[a-z_]+=' | sed -E 's/^\.B[IR]? +//; s/=$//' | sort -u)
[ -n "$page_keys" ] || t_notok "sprout-spank(8) lists plugstack.conf keys under PLUGSTACK ARGUMENTS" "none found"
extra=$(comm -23 <(printf '%s\n' "$page_keys") <(printf '%s\n' $keys | sort -u) | tr '\n' ' ')
t_is "$extra" "" "every key in sprout-spank(8)'s PLUGSTACK ARGUMENTS is parsed by plugin/config.c"

t_done
