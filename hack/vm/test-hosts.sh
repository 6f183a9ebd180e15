#!/usr/bin/env bash
# make test-hosts: proves kinc on the hosts its users have, in QEMU VMs built
# here from Debian packages only. For each host (KINC_VM_HOSTS, default
# "bookworm"): builds the VM's root disk (cached while its recipe holds),
# carries kinc, kubectl, the node and load balancer images and the scenario
# in on a data disk, boots the VM, which runs hack/vm/guest/scenario.sh and
# powers off, and prints the results table: host x runtime x cluster ->
# PASS/FAIL and the measured create time. Exits 1 unless every cell passed.
#
# As root, on the build machine with the node image built (make node-image).
# KINC_VM_HOSTS: the hosts, default "bookworm"; KINC_VM_SCENARIOS: see
# data-disk.sh; KINC_VM_WAIT: kinc create's --wait inside the VM (60m); KINC_TIMEOUT_SCALE: kinc's fixed waits there (10).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ "$(id -u)" = 0 ] || vm_die "test-hosts needs root (debootstrap, docker save)"
hosts=${KINC_VM_HOSTS:-bookworm}

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v debugfs >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
	vm_say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

results="$KINC_VM_DIR/results.md"
{
	echo "| host | runtime | cluster | result | create (s) | nodes Ready (s) | failed checks |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$results.rows"
ok=1
for host in $hosts; do
	vm_check_suite "$host"
	bash "$here/build-disk.sh" "$host"
	versions=$(tr '\n' ' ' <"$KINC_VM_DIR/$host/versions")
	rundir="$KINC_VM_DIR/runs/$host-$(date -u +%Y%m%dT%H%M%SZ)"
	mkdir -p "$rundir"
	img="$rundir/data.img"
	bash "$here/data-disk.sh" "$host" "$img"
	bash "$here/run-vm.sh" "$host" "$img" "$rundir" || ok=0
	# The job's files (logs, exported cluster logs) back out of the data disk.
	debugfs -R "rdump /out $rundir" "$img" >/dev/null 2>&1 || vm_say "no /out on the data disk"
	rm -f "$img"
	grep -a '^KINC-' "$rundir/job.log" >"$rundir/results.txt" || true
	sed -n 's/^KINC-FACT|//p' "$rundir/results.txt" | sed "s/^/$host: /"
	sed -n 's/^KINC-DOCTOR|//p' "$rundir/results.txt" | sed "s/^/$host doctor: /"
	sed -n 's/^KINC-TIME|//p' "$rundir/results.txt" | sed "s/^/$host time: /"
	# A scenario without a result line is a failure, never a silent skip.
	while read -r mode name nodes spec; do
		case "$mode" in '' | '#'*) continue ;; esac
		line=$(grep -a "^KINC-RESULT|$mode|$name|" "$rundir/results.txt" | tail -1 || true)
		if [ -z "$line" ]; then
			line="KINC-RESULT|$mode|$name|FAIL|-|-|no result from the VM (see $rundir/job.log)"
		fi
		IFS='|' read -r _ m n status create ready why <<<"$line"
		case "$m" in docker) rt="docker (root)" ;; podman) rt="podman (root)" ;; rootless) rt="podman (rootless)" ;; *) rt=$m ;; esac
		echo "| $host | $rt | $n ($nodes node$([ "$nodes" = 1 ] || echo s)) | $status | $create | $ready | ${why:-} |" >>"$results.rows"
		[ "$status" = PASS ] || ok=0
	done <"$KINC_VM_DIR/data/scenarios.txt"
	vm_say "$host: $versions"
	vm_say "$host: logs in $rundir"
done
mv "$results.rows" "$results"
echo
cat "$results"
echo
echo "(table also in $results)"
[ "$ok" = 1 ]
