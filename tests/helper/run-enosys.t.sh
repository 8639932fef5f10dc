#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/helper/run-enosys.t.sh: all of run.t.sh again with openat2, close_range and
# mount_setattr reported missing (SPROUT_FORCE_ENOSYS=1, see lib/syscalls.h): the paths
# older kernels take (fd-relative O_NOFOLLOW walks, /proc/self/fd walk, remount).
export SPROUT_FORCE_ENOSYS=1
exec bash "$(dirname "${BASH_SOURCE[0]}")/run.t.sh" "$@"
