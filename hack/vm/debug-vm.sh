#!/usr/bin/env bash
# Boots SUITE's VM for development: the same disks as test-hosts.sh, but the
# job serves commands from SHARE (vm-exec.sh) instead of running the
# scenario, so kinc's fixes can be tried without a reboot per try.
# `touch SHARE/poweroff` stops it.
# usage: debug-vm.sh SUITE DATA.img RUNDIR SHARE   (runs qemu in the foreground)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=${1:?usage: debug-vm.sh SUITE DATA.img RUNDIR SHARE}
share=${4:?usage: debug-vm.sh SUITE DATA.img RUNDIR SHARE}
mkdir -p "$share"
rm -f "$share/poweroff"
KINC_VM_SHARE=$(cd "$share" && pwd) exec bash "$here/run-vm.sh" "$suite" "$2" "$3"
