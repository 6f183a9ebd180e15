# Shared by the hack/vm scripts (sourced, not run).
# Everything big (rootfs, kernels, disks, logs) lives under KINC_VM_DIR, never in git.
KINC_VM_DIR=${KINC_VM_DIR:-/var/tmp/kinc-vm}
# The apt mirror the VM is built from (the one this machine's apt uses).
KINC_VM_MIRROR=${KINC_VM_MIRROR:-http://deb.debian.org/debian}
# The non-root user inside the VM that runs rootless podman.
KINC_VM_USER=${KINC_VM_USER:-kincuser}

vm_say() { echo "vm: $*" >&2; }
vm_die() { echo "vm: ERROR: $*" >&2; exit 1; }

# The suites we know how to build, and the codename debootstrap wants.
vm_check_suite() {
	case "$1" in
	bookworm | trixie) ;;
	*) vm_die "unknown host suite '$1' (bookworm or trixie)" ;;
	esac
}
