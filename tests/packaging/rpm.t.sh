#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/packaging/rpm.t.sh: `make dist` then `rpmbuild -tb` on the tarball builds the binary
# RPMs of sprout.spec, holding what a RHEL-family node needs. Debian's rpm has no database of
# the build dependencies, hence --nodeps. Runs as root or not; builds in a temporary directory.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/packaging/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

missing=$(pkg_missing_tools rpmbuild rpm rpm2archive autoreconf make nm)
if [ -n "$missing" ]; then
  t_skip "RPM packages" "missing tools:$missing (apt-get install rpm autoconf automake libtool)"
  t_done; exit
fi

version=$(pkg_version)
t_is "$(sed -n 's/^Version:[[:space:]]*//p' "$SPROUT_SRC/sprout.spec")" "$version" \
  "sprout.spec's Version is configure.ac's version"

# ---- make dist from a copy (the source tree may lack configure and must not be written)
src=$T_TMP/src
pkg_copy_tree "$src"
if [ ! -x "$src/configure" ]; then
  t_status 0 "autoreconf makes configure" sh -c 'cd "$1" && autoreconf -fi' sh "$src"
fi
mkdir -p "$T_TMP/build"
t_status 0 "make dist makes the tarball" \
  sh -c 'cd "$1" && "$2/configure" --quiet && make -s dist' sh "$T_TMP/build" "$src"
tarball=$T_TMP/build/sprout-$version.tar.xz
if [ ! -f "$tarball" ]; then
  t_notok "the tarball is sprout-$version.tar.xz" "$(ls "$T_TMP/build")"; t_done; exit
fi
t_is "$(tar -tJf "$tarball" | grep -Ecx "sprout-$version/(sprout\.spec|debian/rules|debian/control)")" 3 \
  "the tarball carries sprout.spec and debian/"
listing=$(tar -tJf "$tarball")
missing=$(cd "$src" && find debian -type f | while read -r f; do
  printf '%s\n' "$listing" | grep -qxF "sprout-$version/$f" || printf ' %s' "$f"; done)
t_is "$missing" "" "every file of debian/ is in the tarball (EXTRA_DIST)"

# ---- rpmbuild -tb (the unit tests run elsewhere: --nocheck)
top=$T_TMP/rpmbuild
t_status 0 "rpmbuild -tb builds the binary RPMs from the tarball" \
  rpmbuild -tb --nodeps --nocheck --define "_topdir $top" --define 'debug_package %{nil}' "$tarball"
helper_rpm=$(ls "$top"/RPMS/*/sprout-"$version"-*.rpm 2>/dev/null | head -1)
plugin_rpm=$(ls "$top"/RPMS/*/slurm-spank-sprout-"$version"-*.rpm 2>/dev/null | head -1)
if [ -z "$helper_rpm" ] || [ -z "$plugin_rpm" ]; then
  t_notok "both RPMs were built" "$(find "$top/RPMS" -type f)"; t_done; exit
fi
t_ok "both RPMs were built"

libdir=$(rpm --eval '%{_libdir}')
helper_files=$(rpm -qlp "$helper_rpm" 2>/dev/null)
plugin_files=$(rpm -qlp "$plugin_rpm" 2>/dev/null)
t_match "$helper_files" '^/usr/bin/sprout$' "sprout.rpm ships /usr/bin/sprout"
t_match "$helper_files" '^/usr/share/man/man1/sprout\.1' "sprout.rpm ships sprout(1)"
t_match "$helper_files" "^$(rpm --eval '%{_libexecdir}')/sprout/sprout-slurm-client\$" \
  "sprout.rpm ships sprout-slurm-client where sprout looks for it"
t_match "$plugin_files" "^$libdir/slurm/sprout\\.so\$" "the plugin RPM ships sprout.so in Slurm's plugin directory"
t_match "$plugin_files" '^/usr/share/man/man8/sprout-spank\.8' "the plugin RPM ships sprout-spank(8)"
t_is "$(printf '%s\n' "$helper_files" "$plugin_files" | grep -c '\.la$')" 0 "no libtool archive is shipped"
t_is "$(rpm -qcp "$plugin_rpm" 2>/dev/null)" /etc/slurm/plugstack.conf.d/sprout.conf \
  "plugstack.conf.d/sprout.conf is the plugin's only config file"
requires=$(rpm -qRp "$plugin_rpm" 2>/dev/null)
t_match "$requires" "^sprout\\(x86-64\\) = $version-|^sprout = $version-" "the plugin requires the helper of the same version"
t_match "$requires" '^slurm >= [0-9]+\.[0-9]+' "the plugin requires the Slurm release it was built for"

x=$T_TMP/x
# rpm2archive (from rpm) writes the payload as a tar: no cpio needed
mkdir -p "$x" && rpm2archive -n - < "$plugin_rpm" 2>/dev/null | tar -C "$x" -xf -
conf=$x/etc/slurm/plugstack.conf.d/sprout.conf
t_is "$(grep -Evc '^[[:space:]]*(#|$)' "$conf" 2>&1)" 0 "the shipped plugstack.conf.d/sprout.conf is all comments (disabled)"
allowed=$(sed -n '/global:/,/local:/s/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' "$SPROUT_SRC/plugin/sprout.lds" | sort -u)
exported=$(nm -D --defined-only "$x$libdir/slurm/sprout.so" 2>/dev/null | awk '{ print $3 }' | sort -u)
t_is "$(comm -23 <(echo "$exported") <(echo "$allowed") | tr '\n' ' ')" "" \
  "the RPM's sprout.so exports only the SPANK symbols of plugin/sprout.lds"
t_match "$exported" '^slurm_spank_init$' "the RPM's sprout.so exports slurm_spank_init"

t_done
