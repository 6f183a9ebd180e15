#!/usr/bin/env bash
# Installs what kinc's build, tests and clusters need on this host and makes
# sure docker answers. On Debian/Ubuntu as root it installs what is missing
# with apt-get and starts dockerd; anywhere else it stops with the one thing
# the user must do. Safe to run again: it does nothing when all is in place.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
DOCKER_WAIT=${DOCKER_WAIT:-60} # seconds to wait for dockerd to answer

say() { echo "prereqs: $*"; }
die() { echo "prereqs: ERROR: $*" >&2; exit 1; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# A static busybox builds the e2e tests' image (nothing can be pulled).
static_busybox() {
	[ -x /bin/busybox ] || return 1
	if command -v readelf >/dev/null; then
		! readelf -l /bin/busybox 2>/dev/null | grep -q 'Requesting program interpreter'
	else
		installed busybox-static
	fi
}

missing=()
optional=() # installed with the rest where the distribution has them
command -v dockerd >/dev/null || missing+=(docker.io)
if ! command -v podman >/dev/null; then
	missing+=(podman)
	# netavark and aardvark-dns give podman networks with name resolution.
	optional+=(netavark aardvark-dns)
fi
command -v debootstrap >/dev/null || missing+=(debootstrap)
static_busybox || missing+=(busybox-static)
command -v iptables >/dev/null || missing+=(iptables)
command -v make >/dev/null || missing+=(make)
command -v git >/dev/null || missing+=(git)
# The node image builds the pause binary with gcc -static (gcc and libc's
# headers and libc.a) and runc with cgo, statically linked with libseccomp
# (libseccomp-dev: its headers and libseccomp.a). Its containerd store is
# filled by the containerd it builds, not the host's.
[ -e /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
static_cc() {
	local dir
	dir=$(mktemp -d) || return 1
	printf '#include <stdio.h>\nint main(void) { return puts("") < 0; }\n' >"$dir/t.c"
	gcc -static -o "$dir/t" "$dir/t.c" >/dev/null 2>&1
	local rc=$?
	rm -rf "$dir"
	return $rc
}
if ! command -v gcc >/dev/null; then
	missing+=(gcc libc6-dev)
elif ! static_cc; then
	missing+=(libc6-dev)
fi

# Go is not taken from apt (the distributions' Go is older than go.mod's).
want_go=$(sed -n 's/^go //p' "$(dirname "$0")/../go.mod")
go_problem=""
if ! command -v go >/dev/null; then
	go_problem="Go is not installed: install Go $want_go or newer from https://go.dev/dl and put it on PATH"
else
	have_go=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
	if [ "$(printf '%s\n%s\n' "$want_go" "$have_go" | sort -V | head -n1)" != "$want_go" ]; then
		go_problem="Go $have_go is too old: install Go $want_go or newer from https://go.dev/dl and put it on PATH"
	fi
fi

if [ ${#missing[@]} -gt 0 ]; then
	also=""
	[ -z "$go_problem" ] || also="; and $go_problem"
	if ! command -v apt-get >/dev/null; then
		die "this is not a Debian/Ubuntu host: install ${missing[*]} (docker, podman, debootstrap, a static busybox, gcc with static libc) with its package manager, then run make again$also"
	fi
	if [ "$(id -u)" != 0 ]; then
		die "missing ${missing[*]}: run sudo bash hack/prereqs.sh$also"
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	for p in "${optional[@]}"; do
		if apt-cache show "$p" >/dev/null 2>&1; then missing+=("$p"); fi
	done
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -z "$go_problem" ] || die "$go_problem"

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! docker_answers; then
	[ "$(id -u)" = 0 ] || die "docker's daemon does not answer: run sudo bash hack/prereqs.sh (or start dockerd yourself)"
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		say "starting docker (systemctl start docker)"
		systemctl start docker
	else
		say "starting dockerd (log: $DOCKERD_LOG)"
		setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
	fi
	for ((i = 0; i < DOCKER_WAIT; i++)); do
		docker_answers && break
		sleep 1
	done
	if ! docker_answers; then
		[ -f "$DOCKERD_LOG" ] && tail -n 20 "$DOCKERD_LOG" >&2
		die "docker's daemon did not answer within ${DOCKER_WAIT}s: see $DOCKERD_LOG (or journalctl -u docker)"
	fi
fi
say "docker $(docker version --format '{{.Server.Version}}'), podman $(podman version --format '{{.Client.Version}}'), $(go version | cut -d' ' -f3): ready"
