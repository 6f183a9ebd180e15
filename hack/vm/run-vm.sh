#!/usr/bin/env bash
# Boots a VM of SUITE (built by build-disk.sh) under QEMU's TCG with the data
# disk DATA attached; the VM runs its job (kinc-vm-job) and powers off.
# A throw-away qcow2 overlay keeps the built root disk pristine, so every
# run starts from the same fresh host.
#
# usage: run-vm.sh SUITE DATA.img RUNDIR
#   RUNDIR/console.log  the kernel and systemd console (ttyS0)
#   RUNDIR/job.log      the job's output (ttyS1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

suite=${1:?usage: run-vm.sh SUITE DATA.img RUNDIR}
data=${2:?usage: run-vm.sh SUITE DATA.img RUNDIR}
rundir=${3:?usage: run-vm.sh SUITE DATA.img RUNDIR}
vm_check_suite "$suite"
disk="$KINC_VM_DIR/$suite"
[ -f "$disk/root.img" ] || vm_die "no root disk for $suite: run hack/vm/build-disk.sh $suite"
command -v qemu-system-x86_64 >/dev/null || vm_die "qemu is missing: apt-get install -y qemu-system-x86 qemu-utils"

mkdir -p "$rundir"
rm -f "$rundir/overlay.qcow2" "$rundir/console.log" "$rundir/job.log"
qemu-img create -q -f qcow2 -b "$disk/root.img" -F raw "$rundir/overlay.qcow2"

# KVM guests hang on this project's machines (ENVIRONMENT.md): TCG only.
# cache=unsafe: the disks are scratch, host-side write-back is the fastest.
# The VM's job ends by powering off; the timeout is for a job that hangs.
# KINC_VM_SHARE=DIR (debug-vm.sh): DIR shared with the VM over 9p, and the
# job serves commands from it instead of running the scenario.
extra=()
append=${KINC_VM_APPEND:-}
if [ -n "${KINC_VM_SHARE:-}" ]; then
	extra+=(-virtfs "local,path=$KINC_VM_SHARE,mount_tag=host,security_model=none,id=host")
	append+=" kinc.debug"
fi
mem=${KINC_VM_MEMORY:-8G}
cpus=${KINC_VM_CPUS:-2}
limit=${KINC_VM_TIMEOUT:-21600}
vm_say "$suite: booting (TCG, $cpus vCPUs, $mem, timeout ${limit}s), console: $rundir/console.log, job: $rundir/job.log"
start=$SECONDS
rc=0
timeout --foreground "$limit" qemu-system-x86_64 \
	-name "kinc-$suite" \
	-machine q35 -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem" \
	-kernel "$disk/vmlinuz" -initrd "$disk/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 net.ifnames=0 panic=-1 $append" \
	-drive "file=$rundir/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
	-drive "file=$data,if=virtio,format=raw,cache=unsafe" \
	-nic user,model=virtio-net-pci "${extra[@]}" \
	-display none -monitor none -no-reboot \
	-serial "file:$rundir/console.log" -serial "file:$rundir/job.log" || rc=$?
vm_say "$suite: VM ran $((SECONDS - start)) s (qemu exit $rc)"
rm -f "$rundir/overlay.qcow2"
[ "$rc" = 0 ] || vm_die "qemu for $suite exited $rc (124: the VM did not power off within ${limit}s)"
