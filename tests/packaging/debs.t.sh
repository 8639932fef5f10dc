#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/packaging/debs.t.sh: the Debian packages build from a copy of the tree, pass lintian,
# install into a throwaway Debian root (never this machine), and there a user runs the helper
# (--version, an import of an image made by umoci) and Slurm's own srun loads the plugin from
# its plugin directory. Runs as root. The base root (mmdebstrap) is cached, keyed by the
# packages' dependencies: about 45 s with the cache, a minute more when it is rebuilt.
#
# Environment:
#   SPROUT_PKGTEST_CACHE  where the base root tarball is cached (default /var/tmp)
#   SPROUT_DEB_MIRRORS    apt source lines for mmdebstrap, ';'-separated
#                         (default: deb.debian.org bookworm, bookworm-updates, bookworm-security)
#   SPROUT_DEB_BUILD_OPTIONS  DEB_BUILD_OPTIONS for the build (default: "nocheck noautodbgsym": the unit
#                         tests run elsewhere; set to "" to run them inside the build too)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/packaging/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SUITE=bookworm
CACHE=${SPROUT_PKGTEST_CACHE:-/var/tmp}
MIRRORS=${SPROUT_DEB_MIRRORS:-deb http://deb.debian.org/debian bookworm main;deb http://deb.debian.org/debian bookworm-updates main;deb http://deb.debian.org/debian-security bookworm-security main}

if [ "$(id -u)" != 0 ]; then
  t_skip "Debian packages" "needs root (dpkg-buildpackage, chroot)"; t_done; exit
fi
missing=$(pkg_missing_tools dpkg-buildpackage dh dh_autoreconf mmdebstrap lintian nm chroot unshare)
if [ -n "$missing" ]; then
  t_skip "Debian packages" "missing tools:$missing (apt-get install debhelper lintian mmdebstrap binutils)"
  t_done; exit
fi

version=$(pkg_version)
t_match "$version" '^[0-9]+\.[0-9]+' "the version is read from configure.ac"
t_is "$(sed -n '1s/^sprout (\([^)]*\)).*/\1/p' "$SPROUT_SRC/debian/changelog")" "$version" \
  "debian/changelog's top entry is configure.ac's version"

# ---- build
src=$T_TMP/build/sprout-$version
pkg_copy_tree "$src"
# a failed build's cause is at the end of its log: show that end
if out=$(cd "$src" && DEB_BUILD_OPTIONS="${SPROUT_DEB_BUILD_OPTIONS-nocheck noautodbgsym} parallel=$(nproc)" \
           dpkg-buildpackage -us -uc -b 2>&1); then
  t_ok "dpkg-buildpackage -us -uc -b builds from a copy of the tree"
else
  t_notok "dpkg-buildpackage -us -uc -b builds from a copy of the tree" "$(printf '%s\n' "$out" | tail -40)"
fi
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
helper_deb=$T_TMP/build/sprout_${version}_$arch.deb
plugin_deb=$T_TMP/build/slurm-spank-sprout_${version}_$arch.deb
if [ ! -f "$helper_deb" ] || [ ! -f "$plugin_deb" ]; then
  t_notok "both packages were built" "$(ls -l "$T_TMP/build")"
  t_done; exit
fi
t_ok "both packages were built"

# ---- what they hold
helper_files=$(dpkg-deb -c "$helper_deb" | awk '{ print $6 }')
plugin_files=$(dpkg-deb -c "$plugin_deb" | awk '{ print $6 }')
t_match "$helper_files" '^\./usr/bin/sprout$' "sprout ships /usr/bin/sprout"
t_match "$helper_files" '^\./usr/share/man/man1/sprout\.1\.gz$' "sprout ships sprout(1)"
t_match "$helper_files" '^\./usr/libexec/sprout/sprout-slurm-client$' \
  "sprout ships sprout-slurm-client where sprout looks for it"
t_match "$helper_files" '^\./usr/share/sprout/apparmor/usr\.bin\.sprout$' \
  "sprout ships the AppArmor profile for Ubuntu's user-namespace restriction (admin guide)"
t_match "$plugin_files" "^\./usr/lib/$multiarch/slurm-wlm/sprout\.so\$" \
  "slurm-spank-sprout ships sprout.so in Debian's Slurm plugin directory"
t_match "$plugin_files" '^\./usr/share/man/man8/sprout-spank\.8\.gz$' "slurm-spank-sprout ships sprout-spank(8)"
t_match "$plugin_files" '^\./usr/share/doc/slurm-spank-sprout/examples/plugstack\.conf\.example$' \
  "slurm-spank-sprout ships the plugstack.conf example"
t_is "$(printf '%s\n' "$helper_files" "$plugin_files" | grep -c '\.la$')" 0 "no libtool archive is shipped"
t_is "$(dpkg-deb -f "$plugin_deb" Depends | tr ',' '\n' | grep -c "^ *sprout (= $version)\$")" 1 \
  "the plugin depends on the helper of the same version"
t_match "$(dpkg-deb -f "$plugin_deb" Depends)" 'slurm-wlm-basic-plugins \(>= [0-9]+\.[0-9]+\), slurm-wlm-basic-plugins \(<< [0-9]+\.[0-9]+\)' \
  "the plugin depends on the Slurm release it was built for"
t_is "$(dpkg-deb --ctrl-tarfile "$plugin_deb" | tar -xOf - ./conffiles 2>/dev/null)" \
  /etc/slurm/plugstack.conf.d/sprout.conf "plugstack.conf.d/sprout.conf is a conffile"

x=$T_TMP/x
mkdir -p "$x" && dpkg-deb -x "$plugin_deb" "$x"
conf=$x/etc/slurm/plugstack.conf.d/sprout.conf
t_is "$(grep -Evc '^[[:space:]]*(#|$)' "$conf")" 0 "the shipped plugstack.conf.d/sprout.conf is all comments (disabled)"

so=$x/usr/lib/$multiarch/slurm-wlm/sprout.so
t_is "$(ldd "$so" 2>&1 | grep -c 'not found')" 0 "sprout.so: every library it needs is found (ldd)"
allowed=$(sed -n '/global:/,/local:/s/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' "$SPROUT_SRC/plugin/sprout.lds" | sort -u)
exported=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sort -u)
t_is "$(comm -23 <(echo "$exported") <(echo "$allowed") | tr '\n' ' ')" "" \
  "sprout.so exports only the SPANK symbols of plugin/sprout.lds"
t_is "$(comm -12 <(echo "$exported") <(printf '%s\n' plugin_name plugin_type plugin_version) | tr '\n' ' ')" \
  "plugin_name plugin_type plugin_version " "sprout.so exports the symbols Slurm's loader requires"

# ---- lintian: errors and warnings fail the test (accepted tags: debian/*.lintian-overrides);
# info and pedantic tags are listed as comments
lint=$(lintian --fail-on error,warning --info --pedantic "$helper_deb" "$plugin_deb" 2>&1 | grep -v 'running with root privileges'; exit "${PIPESTATUS[0]}"); st=$?
if [ $st = 0 ]; then t_ok "lintian: no errors or warnings"; else t_notok "lintian: no errors or warnings" "$lint"; fi
[ -n "$lint" ] && printf '%s\n' "$lint" | sed 's/^/# lintian: /'

# ---- a throwaway root with what the packages depend on, plus srun to load the plugin
deps=$( { dpkg-deb -f "$helper_deb" Depends; echo ,; dpkg-deb -f "$plugin_deb" Depends; echo ", slurm-client"; } |
  tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v -e '^$' -e '^sprout$' | sort -u | paste -sd, -)
key=$(printf '%s\n' "$SUITE" "$MIRRORS" "$deps" | sha256sum | cut -c1-16)
base=$CACHE/sprout-pkgtest-$SUITE-$key.tar
if [ ! -s "$base" ]; then
  IFS=';' read -r -a mirror_args <<< "$MIRRORS"
  if out=$(mmdebstrap --quiet --variant=essential --format=tar --include="$deps" "$SUITE" "$base.tmp" \
             "${mirror_args[@]}" </dev/null 2>&1) && mv "$base.tmp" "$base"; then
    # keep one base root: older ones were for other package lists
    find "$CACHE" -maxdepth 1 -name "sprout-pkgtest-$SUITE-*.tar" ! -name "${base##*/}" -delete
    t_ok "mmdebstrap made a base root with the packages' dependencies"
  else
    rm -rf "$base.tmp"
    t_notok "mmdebstrap made a base root with the packages' dependencies" "$out"
    t_done; exit
  fi
else
  t_ok "the cached base root fits the packages' dependencies (${base##*/})"
fi

root=$T_TMP/root
if ! out=$(mkdir -p "$root" && tar -C "$root" -xf "$base" 2>&1 && cp "$helper_deb" "$plugin_deb" "$root/tmp/" 2>&1); then
  t_notok "the base root unpacks" "$out"; t_done; exit
fi
# in_root [--userspec=U:G] ROOT CMD...: chroot(8) into the root, in private mount and PID
# namespaces that give it /proc and the host's /dev (T_TMP may be on a nodev file system);
# both mounts go away with the command
in_root () {
  unshare --mount --propagation private --pid --fork --mount-proc="$root/proc" \
    sh -c 'root=$1; shift; mount --rbind /dev "$root/dev" && exec chroot "$@"' sh "$root" "$@"
}
failed=$_t_failed
t_status 0 "dpkg -i installs both packages into the throwaway root" \
  in_root "$root" dpkg -i "/tmp/${helper_deb##*/}" "/tmp/${plugin_deb##*/}"
[ "$_t_failed" = "$failed" ] || { t_done; exit; }

t_status 0 "sprout --version runs there as an unprivileged user" \
  in_root --userspec=65534:65534 "$root" /usr/bin/sprout --version
t_match "$T_OUT" "^sprout $version" "sprout --version prints the package's version"

# the importer is found where the package put it and runs with what the package depends on
if command -v umoci >/dev/null 2>&1; then
  img=$root/tmp/img.oci
  echo "hello from the package test" > "$T_TMP/hello"
  if out=$( { umoci init --layout "$img" && umoci new --image "$img:t" &&
              umoci insert --image "$img:t" "$T_TMP/hello" /hello && chown -R 65534:65534 "$img"; } 2>&1); then
    t_status 0 "sprout import, run by a user there, unpacks an image made by umoci" \
      in_root --userspec=65534:65534 "$root" /usr/bin/sprout --cache-dir /tmp/sprout-cache import /tmp/img.oci:t
    t_match "$T_OUT" '^sha256:[0-9a-f]{64}$' "sprout import prints the image's digest"
    t_is "$(find "$root/tmp/sprout-cache" -name hello -type f -exec cat {} + 2>/dev/null)" \
      "hello from the package test" "the image's file is in the user's cache"
  else
    t_notok "umoci makes a one-file image" "$out"
  fi
else
  t_skip "sprout import in the throwaway root" "umoci not installed"
fi

# srun reads plugstack.conf before it parses options: --help loads the plugin, no daemon needed
cat > "$root/etc/slurm/slurm.conf" <<'EOF'
ClusterName=pkgtest
SlurmctldHost=localhost
NodeName=localhost CPUs=1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES
EOF
sed -i 's/^#required sprout\.so/required sprout.so/' "$root/etc/slurm/plugstack.conf.d/sprout.conf"
t_is "$(grep -c '^required sprout\.so' "$root/etc/slurm/plugstack.conf.d/sprout.conf")" 1 \
  "uncommenting the shipped line enables the plugin, as its comment says"
t_status 0 "srun --help, run by a user, loads sprout.so from Slurm's plugin directory" \
  in_root --userspec=65534:65534 "$root" srun --help
t_is "$(printf '%s\n' "$T_OUT" | grep -c '^srun: error')" 0 "srun --help prints no error"
t_match "$(printf '%s\n' "$T_OUT" | awk '/^Options provided by plugins/ { f = 1; next } f && /^[^ ].*:$/ { exit } f')" '--container-[a-z]' \
  "srun --help lists sprout's --container-* options under the plugins' options"
# the same check must fail for a plugin that cannot load
echo "required sprout-no-such-plugin.so" > "$root/etc/slurm/plugstack.conf.d/zz-control.conf"
in_root --userspec=65534:65534 "$root" srun --help >/dev/null 2>&1; st=$?
if [ $st != 0 ]; then t_ok "control: srun --help fails for a missing required plugin"
else t_notok "control: srun --help fails for a missing required plugin" "it exited 0"; fi
rm -f "$root/etc/slurm/plugstack.conf.d/zz-control.conf"

# removal (not purge) keeps the conffile: an enabled `required sprout.so` left in it would
# break every srun on the host (the control above); postrm comments it out
conf_in_root=$root/etc/slurm/plugstack.conf.d/sprout.conf
t_status 0 "dpkg --remove slurm-spank-sprout, with the plugin enabled" in_root "$root" dpkg --remove slurm-spank-sprout
t_is "$(ls "$root/usr/lib/$multiarch/slurm-wlm/sprout.so" 2>/dev/null)" "" "the plugin is gone"
t_is "$(grep -Ec '^[[:space:]]*required[[:space:]]+sprout\.so' "$conf_in_root" 2>&1)" 0 \
  "the conffile that stays has no active required sprout.so line"
t_is "$(grep -c '^#required sprout\.so' "$conf_in_root" 2>&1)" 1 "the line is there, commented out"
t_status 0 "srun --help still works after the plugin's removal" in_root --userspec=65534:65534 "$root" srun --help
t_is "$(printf '%s\n' "$T_OUT" | grep -c '^srun: error')" 0 "srun --help prints no error after the removal"

t_status 0 "dpkg --purge removes both packages" in_root "$root" dpkg --purge slurm-spank-sprout sprout
t_is "$(ls "$root/usr/bin/sprout" "$root/usr/lib/$multiarch/slurm-wlm/sprout.so" \
  "$root/etc/slurm/plugstack.conf.d/sprout.conf" 2>/dev/null)" "" "nothing of them is left behind"

t_done
