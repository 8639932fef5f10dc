#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/packaging/install.t.sh: a site building from source gets what configure's summary
# promised: `make install` honours --prefix and --with-slurm-plugindir, the plugin lands as
# PLUGINDIR/sprout.so with no libtool archive, and `make uninstall` takes it all away again.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/packaging/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

missing=$(pkg_missing_tools autoreconf make cc)
if [ -n "$missing" ]; then
  t_skip "make install" "missing tools:$missing"; t_done; exit
fi
if [ ! -e /usr/include/slurm/spank.h ]; then
  t_skip "make install" "no slurm/spank.h (libslurm-dev): the plugin would not be built"; t_done; exit
fi

src=$T_TMP/src
pkg_copy_tree "$src"
if [ ! -x "$src/configure" ]; then
  t_status 0 "autoreconf makes configure" sh -c 'cd "$1" && autoreconf -fi' sh "$src"
fi
build=$T_TMP/build
dest=$T_TMP/dest
prefix=/opt/sprout-test
plugindir=/opt/slurm-test/lib/slurm
mkdir -p "$build"
t_status 0 "configure --prefix --with-slurm-plugindir" \
  sh -c 'cd "$1" && "$2/configure" --prefix="$3" --with-slurm-plugindir="$4"' sh "$build" "$src" "$prefix" "$plugindir"
summary=$T_OUT
t_match "$summary" "helper: +$prefix/bin/sprout\$" "configure's summary says where the helper goes"
t_match "$summary" "SPANK plugin: +$plugindir/sprout\\.so\$" "configure's summary says where the plugin goes"
t_match "$summary" "man pages: +$prefix/share/man\$" "configure's summary says where the man pages go"

t_status 0 "make" make -C "$build" -j"$(nproc)"
t_status 0 "make install DESTDIR=..." make -C "$build" install DESTDIR="$dest"
installed=$(cd "$dest" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort)
t_match "$installed" "^$prefix/bin/sprout\$" "the helper is installed under --prefix"
t_match "$installed" "^$plugindir/sprout\\.so\$" "the plugin is installed as PLUGINDIR/sprout.so"
t_match "$installed" "^$prefix/libexec/sprout/sprout-slurm-client\$" \
  "the static Slurm commands client is installed in LIBEXECDIR/sprout (sprout-spank(8))"
t_match "$installed" "^$prefix/share/man/man1/sprout\\.1\$" "sprout(1) is installed"
t_match "$installed" "^$prefix/share/man/man8/sprout-spank\\.8\$" "sprout-spank(8) is installed"
t_is "$(printf '%s\n' "$installed" | grep -c '\.la$')" 0 "no libtool archive is installed"
t_is "$(printf '%s\n' "$installed" | grep -Evc "^($prefix|$plugindir)/")" 0 \
  "nothing is installed outside --prefix and the plugin directory"
t_status 0 "make uninstall DESTDIR=..." make -C "$build" uninstall DESTDIR="$dest"
t_is "$(cd "$dest" && find . \( -type f -o -type l \) | tr '\n' ' ')" "" "make uninstall removes every file"

t_done
