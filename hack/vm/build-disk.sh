#!/usr/bin/env bash
# Builds a VM root disk for one Debian suite from Debian packages only
# (debootstrap + apt; no downloaded disk image): systemd as init, the unified
# cgroup v2 hierarchy, docker.io, podman and what rootless podman needs, a
# non-root user with subordinate ids, cgroup delegation for user@.service and
# lingering. Output, under $KINC_VM_DIR/SUITE/: root.img (ext4, raw, sparse),
# vmlinuz and initrd.img for direct kernel boot.
#
# usage: build-disk.sh SUITE        (bookworm | trixie); as root.
# A disk whose recipe (this script) did not change is reused; FORCE=1 rebuilds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

suite=${1:?usage: build-disk.sh SUITE}
vm_check_suite "$suite"
[ "$(id -u)" = 0 ] || vm_die "build-disk.sh needs root (debootstrap, chroot)"
for c in debootstrap mkfs.ext4 chroot; do
	command -v "$c" >/dev/null || vm_die "$c is missing: apt-get install -y debootstrap e2fsprogs"
done

out="$KINC_VM_DIR/$suite"
# The disk is reused only when built by this very recipe.
recipe=$(cat "$0" "$here/lib.sh" "$here/guest/kinc-vm-job.service" "$here/guest/kinc-vm-job" | sha256sum | cut -c1-16)
if [ "${FORCE:-0}" != 1 ] && [ -f "$out/root.img" ] && [ "$(cat "$out/recipe" 2>/dev/null)" = "$recipe" ]; then
	vm_say "$suite: root disk up to date ($out/root.img)"
	exit 0
fi

mkdir -p "$out"
rootfs="$out/rootfs"
start=$SECONDS
# A run that died in the chroot may have left /proc, /sys, /dev bound in
# it: unmount them before anything is removed, and never cross into a mount.
remove_rootfs() {
	local m
	for m in $(findmnt -rn -o TARGET | grep -F "$rootfs/" | sort -r); do umount -l "$m"; done
	rm -rf --one-file-system "$rootfs"
}
remove_rootfs
rm -f "$out/root.img" "$out/recipe"

# minbase, then apt inside: apt resolves the dependencies of the big packages
# (docker.io, podman) properly, which debootstrap's --include does not always.
vm_say "$suite: debootstrap"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,apt,ca-certificates \
	"$suite" "$rootfs" "$KINC_VM_MIRROR" >"$out/debootstrap.log" 2>&1 ||
	{ tail -20 "$out/debootstrap.log" "$rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null; vm_die "debootstrap $suite failed (log: $out/debootstrap.log)"; }
vm_say "$suite: debootstrap took $((SECONDS - start)) s"

mounted=()
cleanup() {
	local m
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
	rm -f "$rootfs/usr/sbin/policy-rc.d"
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
	mount --bind "/$m" "$rootfs/$m"
	mounted+=("$rootfs/$m")
done
# Nothing may start inside the chroot (docker's postinst would start dockerd).
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod +x "$rootfs/usr/sbin/policy-rc.d"

cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $KINC_VM_MIRROR $suite main
SRC

# What the hosts kinc is for have: both runtimes from the distribution, and
# what rootless podman needs (subordinate ids, slirp4netns/passt for its
# network, a user D-Bus for the systemd cgroup manager, fuse-overlayfs).
# busybox-static builds the scenario's test image (nothing can be pulled).
install=(
	linux-image-amd64 initramfs-tools udev kmod
	iproute2 iptables procps util-linux e2fsprogs less busybox-static
	libpam-systemd dbus-user-session
	docker.io containerd runc
	podman crun conmon uidmap slirp4netns passt fuse-overlayfs netavark aardvark-dns catatonit
	containers-storage
)

vm_say "$suite: apt-get install ${install[*]}"
t=$SECONDS
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get update -qq >>"$out/apt.log" 2>&1
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
	apt-get install -y --no-install-recommends "${install[@]}" >>"$out/apt.log" 2>&1 ||
	{ tail -30 "$out/apt.log" >&2; vm_die "apt-get install in the $suite rootfs failed (log: $out/apt.log)"; }
chroot "$rootfs" apt-get clean
vm_say "$suite: packages took $((SECONDS - t)) s"

# --- configuration ---------------------------------------------------------
echo "kinc-$suite" >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 kinc-%s\n' "$suite" >"$rootfs/etc/hosts"
cat >"$rootfs/etc/fstab" <<'FSTAB'
/dev/vda / ext4 rw,errors=remount-ro 0 1
FSTAB
chroot "$rootfs" passwd -d root >/dev/null # a console login for debugging by hand

# The VM's network: qemu's user-mode NIC, DHCP by systemd-networkd. Nodes only
# talk to each other, but kinc reads the host's resolver for the pods.
mkdir -p "$rootfs/etc/systemd/network"
cat >"$rootfs/etc/systemd/network/10-en.network" <<'NET'
[Match]
Name=en* eth*
[Network]
DHCP=ipv4
NET
chroot "$rootfs" systemctl enable systemd-networkd >/dev/null 2>&1
printf 'nameserver 10.0.2.3\n' >"$rootfs/etc/resolv.conf"

# Kernel modules the runtimes and kubelet expect (docker loads some itself,
# rootless podman and the nodes cannot).
cat >"$rootfs/etc/modules-load.d/kinc.conf" <<'MOD'
overlay
br_netfilter
veth
bridge
nf_conntrack
iptable_nat
iptable_filter
ip6table_nat
ip6table_filter
xt_MASQUERADE
xt_conntrack
xt_comment
xt_mark
xt_addrtype
nf_nat
tun
fuse
MOD
cat >"$rootfs/etc/sysctl.d/90-kinc.conf" <<'SYS'
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
fs.inotify.max_user_instances = 1024
fs.inotify.max_user_watches = 524288
SYS

# The rootless user: subordinate ids (useradd adds them from login.defs, but
# we write them so the ranges are known), cgroup delegation, lingering.
chroot "$rootfs" useradd -m -s /bin/bash "$KINC_VM_USER"
uid=$(chroot "$rootfs" id -u "$KINC_VM_USER")
grep -q "^$KINC_VM_USER:" "$rootfs/etc/subuid" || echo "$KINC_VM_USER:100000:65536" >>"$rootfs/etc/subuid"
grep -q "^$KINC_VM_USER:" "$rootfs/etc/subgid" || echo "$KINC_VM_USER:100000:65536" >>"$rootfs/etc/subgid"
mkdir -p "$rootfs/etc/systemd/system/user@.service.d"
cat >"$rootfs/etc/systemd/system/user@.service.d/delegate.conf" <<'DELEGATE'
# Rootless podman (and the kubelet inside a rootless node) need these
# controllers delegated to the user's systemd.
[Service]
Delegate=cpu cpuset io memory pids
DELEGATE
# Rootless podman on stock Debian 12 picks the vfs driver (storage.conf is in
# containers-storage, only a Suggests of podman): every node would be a full
# copy of the 1 GB image. The user's own storage.conf asks for overlay, which
# kernel 6.1 mounts natively in a user namespace (no fuse-overlayfs needed).
mkdir -p "$rootfs/home/$KINC_VM_USER/.config/containers"
cat >"$rootfs/home/$KINC_VM_USER/.config/containers/storage.conf" <<'STORAGE'
[storage]
driver = "overlay"
STORAGE
chroot "$rootfs" chown -R "$KINC_VM_USER:$KINC_VM_USER" "/home/$KINC_VM_USER/.config"
mkdir -p "$rootfs/var/lib/systemd/linger"
touch "$rootfs/var/lib/systemd/linger/$KINC_VM_USER"
echo "$uid" >"$out/user-uid"

# The VM's job: run the scenario from the data disk, report on ttyS1, power off.
install -m 0755 "$here/guest/kinc-vm-job" "$rootfs/usr/local/sbin/kinc-vm-job"
install -m 0644 "$here/guest/kinc-vm-job.service" "$rootfs/etc/systemd/system/kinc-vm-job.service"
chroot "$rootfs" systemctl enable kinc-vm-job.service >/dev/null 2>&1
# No getty on the serial ports the job and the console use.
chroot "$rootfs" systemctl mask serial-getty@ttyS1.service >/dev/null 2>&1
# dockerd starts at boot, as on the hosts users have.
chroot "$rootfs" systemctl enable docker.service containerd.service >/dev/null 2>&1 || true

cleanup
trap - EXIT
mounted=()

kver=$(ls "$rootfs/lib/modules" | sort -V | tail -1)
[ -f "$rootfs/boot/initrd.img-$kver" ] || vm_die "no initramfs for kernel $kver in the $suite rootfs"
cp "$rootfs/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$out/initrd.img"
echo "$kver" >"$out/kernel-version"
chroot "$rootfs" dpkg-query -W -f='${Package} ${Version}\n' docker.io podman containerd runc crun systemd linux-image-amd64 >"$out/versions"

# A sparse raw ext4 image made from the directory (no loop mount). The room
# is for three image stores (docker, podman, rootless podman) and the nodes'
# containerd volumes.
t=$SECONDS
rm -f "$out/root.img"
truncate -s "${KINC_VM_DISK_SIZE:-40G}" "$out/root.img"
mkfs.ext4 -q -F -L kinc-root -d "$rootfs" "$out/root.img"
vm_say "$suite: mkfs.ext4 -d took $((SECONDS - t)) s"
remove_rootfs
echo "$recipe" >"$out/recipe"
vm_say "$suite: root disk built in $((SECONDS - start)) s: $out/root.img (kernel $kver)"
