#!/usr/bin/env bash
# Makes the VM's image stores on the build host, so the VM does not load the
# 1 GB node image itself (`docker load` in the VM under TCG: ~17 min,
# rootless `podman load` ~26 min; here: well under a minute each).
#
#   OUT/docker  a docker data root (overlay2) holding the archive's images,
#               made by a second, temporary dockerd (this host's docker.io,
#               the same version as bookworm's) that touches nothing of the
#               host's own docker: its own data root, exec root, socket and
#               pid file, no bridge, no iptables, and a private mount
#               namespace that hides the system containerd, so it runs its
#               own. Killed by its pid as soon as the load is done.
#   OUT/podman  a rootful podman (containers/storage overlay) graph root,
#               loaded with `podman --root`; libpod's database (it records
#               the graph root's path) is removed, podman remakes it.
#   OUT/rootless  the VM user's rootless podman graph root (overlay), made
#               by this host's podman in a user namespace that maps ids as
#               the VM's rootless podman does: 0 -> the user's uid, 1..N ->
#               its subordinate range (KINC_VM_UID, KINC_VM_SUBUID,
#               KINC_VM_SUBGID; "START:COUNT"). No host user is needed: root
#               writes the namespace's maps, and podman is told it is already
#               in its user namespace, as its own re-exec is. The layers'
#               files then carry the ids the VM user's podman expects, and
#               native overlay's markers (user.overlay.* xattrs, 0:0
#               whiteouts), which mkfs.ext4 -d copies onto the data disk.
# The VM bind-mounts them at /var/lib/docker, /var/lib/containers/storage and
# ~USER/.local/share/containers/storage (guest/scenario.sh, use_stores)
# before the runtime is first used.
#
# usage: stores.sh ARCHIVE OUT docker|podman|rootless...      (as root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

archive=${1:?usage: stores.sh ARCHIVE OUT docker|podman...}
out=${2:?usage: stores.sh ARCHIVE OUT docker|podman...}
shift 2
[ "$(id -u)" = 0 ] || vm_die "stores.sh needs root"
[ -f "$archive" ] || vm_die "no image archive $archive"
mkdir -p "$out"

# The temporary dockerd's pid (unshare execs it: the same process).
bg=
stop_dockerd() {
	# The temporary daemon only, by its own pid, never by name.
	[ -n "$bg" ] || return 0
	kill "$bg" 2>/dev/null || true
	wait "$bg" 2>/dev/null || true
	bg=
}

docker_store() {
	local root=$out/docker run=/run/kinc-vm-dockerd
	local sock=$run.sock pidfile=$run.pid cfg pid t=$SECONDS
	command -v dockerd >/dev/null || vm_die "no dockerd on this host"
	rm -rf --one-file-system "$root"
	mkdir -p "$root" "$run"
	rm -f "$sock" "$pidfile"
	cfg=$(mktemp)
	echo '{}' >"$cfg"
	# /run/containerd hidden: dockerd starts its own containerd (state in
	# $run, data in $root) instead of joining the host's. Its own network
	# namespace too (-n): a dockerd with --bridge=none deletes docker0, and
	# in the host's namespace that is the host dockerd's bridge.
	unshare -m -n --propagation private sh -c 'mount -t tmpfs tmpfs /run/containerd 2>/dev/null || true; exec "$@"' dockerd \
		dockerd --config-file "$cfg" --data-root "$root" --exec-root "$run" \
		-H "unix://$sock" --pidfile "$pidfile" --storage-driver overlay2 \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false \
		--containerd-namespace kinc-vm --containerd-plugins-namespace kinc-vm-plugins \
		>"$out/dockerd.log" 2>&1 &
	bg=$!
	trap stop_dockerd EXIT
	local i
	for ((i = 0; i < 120; i++)); do
		docker -H "unix://$sock" version >/dev/null 2>&1 && break
		kill -0 "$bg" 2>/dev/null || { tail -20 "$out/dockerd.log" >&2; vm_die "the temporary dockerd exited"; }
		sleep 1
	done
	docker -H "unix://$sock" version >/dev/null 2>&1 || vm_die "the temporary dockerd did not answer (log: $out/dockerd.log)"
	pid=$(cat "$pidfile")
	[ "$pid" = "$bg" ] || vm_say "temporary dockerd pid $pid (started as $bg)"
	docker -H "unix://$sock" load -i "$archive" >&2
	docker -H "unix://$sock" images >&2
	stop_dockerd
	trap - EXIT
	rm -f "$cfg"
	# State that belongs to this daemon, not to the images: the VM's
	# dockerd makes its own (its default bridge network above all).
	rm -rf --one-file-system "$root/network" "$root/containerd" "$root/runtimes" \
		"$root/tmp" "$root/containers" "$root/swarm" "$root/plugins" "$root/buildkit"
	rmdir "$run" 2>/dev/null || true
	vm_say "docker store $root: $((SECONDS - t)) s, $(du -sm "$root" | cut -f1) MiB"
}

podman_store() {
	local root=$out/podman run=/run/kinc-vm-podman t=$SECONDS
	command -v podman >/dev/null || vm_die "no podman on this host"
	rm -rf --one-file-system "$root" "$run"
	mkdir -p "$root" "$run/tmp"
	local p=(podman --root "$root" --runroot "$run" --tmpdir "$run/tmp" --storage-driver overlay
		--events-backend none --cgroup-manager cgroupfs)
	"${p[@]}" load -i "$archive" >&2
	"${p[@]}" images >&2
	# libpod's database records this graph root's path: the VM's podman
	# makes its own.
	rm -rf --one-file-system "$root/libpod" "$root/tmp" "$run"
	# A store that already holds images, and no defaultNetworkBackend file,
	# is taken by podman 4 for one made before netavark: it picks CNI
	# (whose plugins the VM does not have; kinc's network is then not
	# found). A fresh host's podman picks netavark; so does this store.
	# (No newline: podman compares the file's whole text.)
	printf netavark >"$root/defaultNetworkBackend"
	vm_say "podman store $root: $((SECONDS - t)) s, $(du -sm "$root" | cut -f1) MiB"
}

holder=
stop_holder() {
	[ -n "$holder" ] || return 0
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	holder=
}

rootless_store() {
	local root=$out/rootless tmp uid=${KINC_VM_UID:-1000} t=$SECONDS
	local subuid=${KINC_VM_SUBUID:-100000:65536} subgid=${KINC_VM_SUBGID:-100000:65536}
	command -v podman >/dev/null || vm_die "no podman on this host"
	[[ $subuid == *:* && $subgid == *:* ]] || vm_die "KINC_VM_SUBUID/KINC_VM_SUBGID: START:COUNT"
	rm -rf --one-file-system "$root"
	tmp=$(mktemp -d /tmp/kinc-vm-rootless.XXXXXX)
	mkdir -p "$root" "$tmp/run" "$tmp/tmp" "$tmp/home" "$tmp/config/containers"
	printf '[storage]\ndriver = "overlay"\n' >"$tmp/config/containers/storage.conf"
	# Namespace root is the user: it owns what podman writes.
	chown "$uid:$uid" "$root" "$tmp" "$tmp/run" "$tmp/tmp" "$tmp/home" "$tmp/config" "$tmp/config/containers"
	chmod 0700 "$tmp/run"
	# A holder process makes the namespaces; once root (here) has written
	# its maps, podman joins them as the namespace's root (nsenter: uid/gid
	# 0 there, the user on the disk, with the namespace's capabilities).
	local p=(podman --root "$root" --runroot "$tmp/run" --tmpdir "$tmp/tmp" --storage-driver overlay
		--events-backend none --cgroup-manager cgroupfs)
	unshare -U -m --propagation private sleep infinity &
	holder=$!
	trap stop_holder EXIT
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$holder/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
		sleep 0.1
	done
	# A map is written in one write(2) (bash's printf writes a line at a time).
	printf '0 %s 1\n1 %s %s\n' "$uid" "${subuid%%:*}" "${subuid#*:}" >"$tmp/uid_map"
	printf '0 %s 1\n1 %s %s\n' "$uid" "${subgid%%:*}" "${subgid#*:}" >"$tmp/gid_map"
	dd if="$tmp/uid_map" of="/proc/$holder/uid_map" bs=64k status=none
	dd if="$tmp/gid_map" of="/proc/$holder/gid_map" bs=64k status=none
	local in=(nsenter -t "$holder" -U -m --setuid 0 --setgid 0 --wd="$tmp/home"
		env -i PATH="$PATH" HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/config"
		_CONTAINERS_USERNS_CONFIGURED=done _CONTAINERS_ROOTLESS_UID="$uid" _CONTAINERS_ROOTLESS_GID="$uid")
	"${in[@]}" "${p[@]}" load -i "$archive" >&2 || vm_die "rootless podman load in a user namespace failed"
	"${in[@]}" "${p[@]}" images >&2
	stop_holder
	trap - EXIT
	# As for the rootful store: libpod's database (paths), podman's
	# scratch, and the driver's cached probes of this host's kernel (the
	# VM's kernel is probed again).
	rm -rf --one-file-system "$root/libpod" "$root/tmp" "$tmp"
	find "$root/overlay" -maxdepth 1 -type f \( -name '*()-*' -o -name '.has-mount-program' \) -print -delete >&2
	printf netavark >"$root/defaultNetworkBackend"
	chown "$uid:$uid" "$root/defaultNetworkBackend"
	vm_say "rootless podman store $root (uid $uid, subuid $subuid, subgid $subgid): $((SECONDS - t)) s, $(du -sm "$root" | cut -f1) MiB"
}

for m in "$@"; do
	case "$m" in
	docker) docker_store ;;
	podman) podman_store ;;
	rootless) rootless_store ;;
	*) vm_die "no store for mode '$m' (docker, podman or rootless)" ;;
	esac
done
