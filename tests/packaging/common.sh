# SPDX-License-Identifier: GPL-2.0-or-later
# tests/packaging/common.sh: shared by the packaging tests (sourced after tests/lib.sh).
# shellcheck shell=bash

# pkg_missing_tools CMD...: print " CMD" for each command that is not on PATH
pkg_missing_tools () {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || printf ' %s' "$c"; done
}

# pkg_version: the version in configure.ac's AC_INIT
pkg_version () {
  sed -n 's/^AC_INIT(\[sprout\], *\[\([^]]*\)\].*/\1/p' "$SPROUT_SRC/configure.ac"
}

# pkg_copy_tree DEST: copy the source tree (as it is now, committed or not) to DEST without
# build outputs: in a git checkout the files git tracks or would track, else everything
pkg_copy_tree () {
  local dest=$1
  mkdir -p "$dest"
  local list
  if [ -e "$SPROUT_SRC/.git" ] && list=$(git -c safe.directory="$SPROUT_SRC" -C "$SPROUT_SRC" \
       ls-files -z --cached --others --exclude-standard 2>/dev/null | tr '\0' '\n'); then
    (cd "$SPROUT_SRC" && printf '%s\n' "$list" |
       while IFS= read -r f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f"; fi; done |
       tar --verbatim-files-from -T - -cf -) | tar -C "$dest" -xf -
  else
    (cd "$SPROUT_SRC" && tar -cf - .) | tar -C "$dest" -xf -
  fi
}
