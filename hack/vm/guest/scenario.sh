#!/bin/bash
# The host test, run as root inside the VM by kinc-vm-job from the data disk
# (/mnt/kinc). For each runtime mode (docker rootful, podman rootful, podman
# rootless as $KINC_VM_USER) it loads the images, prints `kinc doctor`,
# creates the clusters named in scenarios.txt and checks that they work, then
# deletes them and checks that nothing is left. Every check that fails is
# named; nothing is skipped without a FAIL or SKIP line saying why.
#
# Output lines the host collects (hack/vm/test-hosts.sh):
#   KINC-FACT|key|value
#   KINC-DOCTOR|mode|line of kinc doctor
#   KINC-TIME|mode|what|seconds
#   KINC-RESULT|mode|cluster|PASS or FAIL|create seconds|nodes Ready seconds|failed checks
# No `set -e`: one failing scenario must not hide the others' results.
set -uo pipefail

# KINC_VM_DATA: another directory laid out like the data disk (debug-vm.sh).
D=${KINC_VM_DATA:-/mnt/kinc}
OUT=$D/out
export PATH=$D/bin:/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck disable=SC1091
. "$D/config" # KINC_VM_HOST, KINC_VM_USER, KINC_VM_WAIT, KINC_TIMEOUT_SCALE
# A system service has no HOME; kinc keeps root's kubeconfig in ~/.kube.
export HOME=/root
# kinc's fixed waits and kubeadm's, times this: TCG is 6-70x slower than a
# real host, more when the host is busy.
export KINC_TIMEOUT_SCALE
KUSER=$KINC_VM_USER
KUID=$(id -u "$KUSER")
TEST_IMAGE=kinc.test/busybox:vm

say() { echo "--- $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
fact() { echo "KINC-FACT|$1|$2"; }

# as MODE CMD...: run CMD as root, or as the rootless user in a login
# session (su -l goes through PAM and pam_systemd, as an ssh login would:
# XDG_RUNTIME_DIR and the user's D-Bus are there for podman).
as() {
	local mode=$1
	shift
	if [ "$mode" = rootless ]; then
		su -l "$KUSER" -c "$(printf '%q ' env PATH="$PATH" KINC_TIMEOUT_SCALE="$KINC_TIMEOUT_SCALE" "$@")"
	else
		"$@"
	fi
}

runtime_of() { case "$1" in docker) echo docker ;; *) echo podman ;; esac; }

# --- image stores made on the build host (hack/vm/stores.sh) ----------------
# Bind-mounted where the runtimes keep theirs (root's docker and podman, the
# rootless user's podman), before any is first used here: then nothing is
# loaded in the VM for that mode.
# Only for the modes the scenarios run (a dockerd restart costs a minute).
use_stores() {
	local t modes
	modes=" $(awk '$1 !~ /^#/ && NF { print $1 }' "$D/scenarios.txt" | tr '\n' ' ')"
	if [[ $modes == *" docker "* ]] && [ -d "$D/stores/docker" ] && ! mountpoint -q /var/lib/docker; then
		t=$(now)
		systemctl stop docker.socket docker.service
		mkdir -p /var/lib/docker
		mount --bind "$D/stores/docker" /var/lib/docker
		systemctl start docker.service
		echo "KINC-TIME|docker|store mount and dockerd restart|$(since "$t")"
	fi
	if [[ $modes == *" podman "* ]] && [ -d "$D/stores/podman" ] && ! mountpoint -q /var/lib/containers/storage; then
		# Nothing may have made a store there yet: no podman command ran.
		mkdir -p /var/lib/containers/storage
		mount --bind "$D/stores/podman" /var/lib/containers/storage
		echo "KINC-TIME|podman|store mount|0"
	fi
	# The rootless store, made on the build host with the user's ids: in
	# place before the user's podman first runs (it would make its own).
	local home
	home=$(getent passwd "$KUSER" | cut -d: -f6)
	if [[ $modes == *" rootless "* ]] && [ -d "$D/stores/rootless" ] && ! mountpoint -q "$home/.local/share/containers/storage"; then
		runuser -u "$KUSER" -- mkdir -p "$home/.local/share/containers/storage"
		mount --bind "$D/stores/rootless" "$home/.local/share/containers/storage"
		echo "KINC-TIME|rootless|store mount|0"
	fi
}
# Sourced with KINC_VM_LIB=1 (debugging) the VM is left as it is.
[ -n "${KINC_VM_LIB:-}" ] || use_stores

# --- the host --------------------------------------------------------------
fact host "$KINC_VM_HOST"
fact kernel "$(uname -r)"
fact cgroup-fs "$(stat -fc %T /sys/fs/cgroup)"
fact cgroup-controllers "$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
fact cmdline "$(cat /proc/cmdline)"
fact cpus "$(nproc)"
fact memory "$(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
fact docker "$(docker version --format '{{.Server.Version}}' 2>&1)"
fact podman "$(podman version --format '{{.Client.Version}}' 2>&1)"
fact containerd "$(containerd --version 2>&1 | awk '{ print $3 }')"
fact systemd "$(systemctl --version | head -1)"
fact kinc "$(kinc version 2>&1 | head -1)"
fact user "$KUSER uid $KUID subuid $(grep "^$KUSER:" /etc/subuid) subgid $(grep "^$KUSER:" /etc/subgid)"
# What systemd delegates to the user (Delegate= in user@.service.d).
fact user-delegated "$(cat "/sys/fs/cgroup/user.slice/user-$KUID.slice/user@$KUID.service/cgroup.controllers" 2>&1)"
fact linger "$(loginctl show-user "$KUSER" -p Linger 2>&1)"

# The store's driver: rootless podman must not use vfs (every node a full
# copy of the 1 GB image). build-disk.sh writes the user's storage.conf; a
# store made before that is reset here.
storage_driver() {
	case "$1" in
	docker) docker info --format '{{.Driver}}' 2>&1 ;;
	*) as "$1" podman info --format '{{.Store.GraphDriverName}}' 2>&1 ;;
	esac
}
ensure_overlay() {
	local mode=$1 driver
	driver=$(storage_driver "$mode")
	if [ "$mode" = rootless ] && [ "$driver" = vfs ]; then
		say "rootless podman uses vfs: switching $KUSER to overlay (podman system reset)"
		as rootless sh -c 'mkdir -p ~/.config/containers && printf "[storage]\ndriver = \"overlay\"\n" >~/.config/containers/storage.conf && podman system reset -f'
		driver=$(storage_driver "$mode")
	fi
	fact "storage-$mode" "$driver"
}

# --- load the images into every store ---------------------------------------
# The node image and the load balancer image, saved on the build host.
load() {
	local mode=$1 rt t i have=1
	rt=$(runtime_of "$mode")
	t=$(now)
	# A store made on the build host already has them.
	local store=$rt
	[ "$mode" != rootless ] || store=rootless
	if [ -d "$D/stores/$store" ] && [ -s "$D/images/names" ]; then
		while read -r i; do
			[ -n "$i" ] || continue
			as "$mode" "$rt" image inspect "$i" >/dev/null 2>&1 || { have=0; say "$i is not in the $mode store"; }
		done <"$D/images/names"
		if [ "$have" = 1 ]; then
			as "$mode" "$rt" images
			echo "KINC-TIME|$mode|image load (store made on the build host)|$(since "$t")"
			return 0
		fi
	fi
	if [ ! -f "$D/images/kinc-images.tar" ]; then
		echo "KINC-TIME|$mode|image load FAILED (no archive on the data disk)|$(since "$t")"
		return 1
	fi
	if as "$mode" "$rt" load -i "$D/images/kinc-images.tar" >"$OUT/load-$mode.log" 2>&1; then
		echo "KINC-TIME|$mode|image load|$(since "$t")"
		return 0
	fi
	echo "KINC-TIME|$mode|image load FAILED|$(since "$t")"
	tail -5 "$OUT/load-$mode.log"
	return 1
}

# The test pods' image: the VM's static busybox, imported into the runtime
# (nothing can be pulled), then into every node.
build_test_image() {
	local mode=$1 rt dir
	rt=$(runtime_of "$mode")
	dir=$(mktemp -d)
	mkdir -p "$dir"/{bin,proc,sys,dev,tmp,run,etc,var,root}
	cp /bin/busybox "$dir/bin/busybox"
	for a in sh wget nslookup httpd hostname mkdir cat echo sleep timeout; do ln -s busybox "$dir/bin/$a"; done
	chmod -R a+rX "$dir"
	tar -C "$dir" -c . | as "$mode" "$rt" import --change 'ENTRYPOINT ["/bin/sh"]' - "$TEST_IMAGE" >/dev/null
	rm -rf "$dir"
}

# HOOK(kinc load image): `kinc load image` is being added by another
# engineer. Once `kinc load image --help` answers, the scenario uses it (and
# so tests it) instead of saving the image and importing it into each node's
# containerd by hand; the log line says which one ran.
load_test_image() {
	local mode=$1 name=$2 rt n
	shift 2
	rt=$(runtime_of "$mode")
	if as "$mode" kinc load image --help >/dev/null 2>&1; then
		say "test image into the nodes with: kinc load image"
		as "$mode" kinc --provider "$rt" load image --name "$name" "$TEST_IMAGE"
		return
	fi
	say "test image into the nodes by hand (kinc load image does not exist yet)"
	local archive=/tmp/kinc-vm-test-image-$mode.tar
	rm -f "$archive"
	as "$mode" "$rt" save -o "$archive" "$TEST_IMAGE" || return 1
	for n in "$@"; do
		as "$mode" "$rt" exec -i "$n" ctr -n k8s.io images import - <"$archive" >/dev/null || return 1
	done
	rm -f "$archive"
}

web_pods() {
	local i=0 n
	for n in "$@"; do
		cat <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: web-$i
  labels: {app: web, kinc-vm: "w$i"}
spec:
  nodeName: $n
  tolerations: [{operator: Exists}]
  containers:
  - name: web
    image: $TEST_IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web-$i
spec:
  selector: {kinc-vm: "w$i"}
  ports: [{port: 80, targetPort: 8080}]
YAML
		i=$((i + 1))
	done
}

# What the runtime holds for the cluster's label (empty: nothing).
labelled() {
	local mode=$1 name=$2 rt l=label=io.kinc.cluster=$2
	rt=$(runtime_of "$mode")
	{
		as "$mode" "$rt" ps -a --filter "$l" --format 'container {{.Names}}'
		as "$mode" "$rt" volume ls --filter "$l" --format 'volume {{.Name}}'
		as "$mode" "$rt" network ls --filter "$l" --format 'network {{.Name}}'
	} 2>&1 | tr '\n' ' ' | sed 's/ *$//'
}

# The rootless user's processes that are not its systemd manager or podman's
# pause process (which holds the user namespace and lives on by design).
user_leftovers() {
	ps -u "$KUSER" -o pid=,comm=,args= | awk '$2 != "systemd" && $2 != "(sd-pam)" && $2 != "catatonit" && $2 != "ps" && $2 != "dbus-daemon"' | tr '\n' ';'
}

# run_cluster MODE NAME NODES [CONFIG]
run_cluster() {
	local mode=$1 name=$2 want=$3 config=${4:-} rt fails=() t create_s ready_s kubeconfig kubectl
	rt=$(runtime_of "$mode")
	say "cluster $name on $mode ($want nodes)"
	local log=$OUT/create-$mode-$name.log
	local args=(--provider "$rt" create cluster --name "$name" --wait "$KINC_VM_WAIT")
	[ -n "$config" ] && args+=(--config "$D/specs/$config")
	t=$(now)
	if [ -n "${KINC_VM_EXISTING:-}" ]; then
		# Debugging only (debug-vm.sh): check a cluster created by hand,
		# its create output in $log, its time in KINC_VM_EXISTING.
		create_s=$KINC_VM_EXISTING
	elif as "$mode" kinc "${args[@]}" >"$log" 2>&1; then
		create_s=$(since "$t")
	else
		create_s=$(since "$t")
		fails+=("create")
	fi
	cat "$log"
	ready_s=$(sed -n 's/.*all nodes Ready at \([0-9.]*\)s.*/\1/p' "$log" | tail -1)
	if [ ${#fails[@]} -gt 0 ]; then
		echo "KINC-RESULT|$mode|$name|FAIL|$create_s|${ready_s:--}|create: $(grep -m1 -i error "$log" | cut -c1-200)"
		return 1
	fi

	kubeconfig=$(as "$mode" sh -c 'echo $HOME')/.kube/config
	kubectl=$D/bin/kubectl
	k() { as "$mode" "$kubectl" --kubeconfig "$kubeconfig" --context "kinc-$name" --request-timeout=120s "$@"; }

	# Nodes Ready.
	local nodes
	nodes=$(k get nodes -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
	echo "$nodes"
	local names=() l
	while read -r l; do
		[ -n "$l" ] || continue
		names+=("${l%%=*}")
		[ "${l#*=}" = True ] || fails+=("node ${l%%=*} not Ready")
	done <<<"$nodes"
	[ ${#names[@]} = "$want" ] || fails+=("${#names[@]} nodes, want $want")
	k get pods -A -o wide

	# A pod on every node, DNS, pod->ClusterIP service across nodes.
	build_test_image "$mode" || fails+=("build test image")
	load_test_image "$mode" "$name" "${names[@]}" || fails+=("load test image")
	web_pods "${names[@]}" >"$OUT/web-$mode-$name.yaml"
	k apply -f "$OUT/web-$mode-$name.yaml" >/dev/null || fails+=("apply pods")
	if ! k wait --for=condition=Ready pod -l app=web --timeout=900s; then
		fails+=("web pods not Ready")
		k get pods -o wide
		k describe pods | tail -40
	fi
	k get pods -o wide
	local i j got want_host
	for i in "${!names[@]}"; do
		got=$(k get pod "web-$i" -o jsonpath='{.spec.nodeName}')
		[ "$got" = "${names[$i]}" ] || fails+=("web-$i on '$got', want ${names[$i]}")
	done
	got=$(k exec web-0 -- nslookup kubernetes.default.svc.cluster.local 2>&1)
	echo "$got"
	grep -q 10.96.0.1 <<<"$got" || fails+=("web-0 cannot resolve kubernetes.default")
	got=$(k exec web-0 -- nslookup kubernetes.default 2>&1)
	grep -q 10.96.0.1 <<<"$got" || fails+=("web-0 cannot resolve the short name kubernetes.default")
	for i in "${!names[@]}"; do
		for j in "${!names[@]}"; do
			# Across nodes only, where there is more than one.
			[ ${#names[@]} -gt 1 ] && [ "$i" = "$j" ] && continue
			want_host=web-$j
			# busybox's wget -T crashes: bound it with timeout.
			got=$(k exec "web-$i" -- timeout 20 wget -qO- "http://web-$j.default.svc.cluster.local/" 2>&1)
			if [ "$(echo "$got" | tr -d '[:space:]')" = "$want_host" ]; then
				echo "web-$i (${names[$i]}) -> service web-$j (${names[$j]}): ok"
			else
				fails+=("web-$i -> service web-$j: '$got'")
			fi
		done
	done

	# Delete; nothing left.
	t=$(now)
	as "$mode" kinc --provider "$rt" delete cluster --name "$name" || fails+=("delete")
	echo "KINC-TIME|$mode|delete $name|$(since "$t")"
	local left
	left=$(labelled "$mode" "$name")
	[ -z "$left" ] || fails+=("left after delete: $left")
	if [ "$mode" = rootless ]; then
		# Nothing of the cluster in the user's store: no container, no
		# volume, no network but podman's default.
		left=$(as rootless podman ps -a --format '{{.Names}}' | tr '\n' ' ')
		left+=$(as rootless podman volume ls --format '{{.Name}}' | tr '\n' ' ')
		left+=$(as rootless podman network ls --format '{{.Name}}' | grep -v -x podman | tr '\n' ' ')
		[ -z "${left// /}" ] || fails+=("left in the user's store: $left")
		sleep 2
		left=$(user_leftovers)
		[ -z "$left" ] || fails+=("user processes left: $left")
	fi
	as "$mode" "$rt" rmi "$TEST_IMAGE" >/dev/null 2>&1 || true

	if [ ${#fails[@]} -eq 0 ]; then
		echo "KINC-RESULT|$mode|$name|PASS|$create_s|${ready_s:--}|"
	else
		local IFS=';'
		echo "KINC-RESULT|$mode|$name|FAIL|$create_s|${ready_s:--}|${fails[*]}"
		as "$mode" kinc --provider "$rt" export logs "$OUT/logs-$mode-$name" --name "$name" >/dev/null 2>&1 || true
		as "$mode" kinc --provider "$rt" delete cluster --name "$name" >/dev/null 2>&1 || true
	fi
}

# Sourced with KINC_VM_LIB=1 (debugging): the functions only.
[ -z "${KINC_VM_LIB:-}" ] || return 0

# --- the scenarios -----------------------------------------------------------
# scenarios.txt: one "MODE NAME NODES [SPEC]" a line (MODE: docker, podman,
# rootless).
loaded=" "
# Read first: the commands below must not eat the list from stdin.
mapfile -t scenarios <"$D/scenarios.txt"
for line in "${scenarios[@]}"; do
	read -r mode name nodes spec <<<"$line"
	case "$mode" in '' | '#'*) continue ;; esac
	if [[ $loaded != *" $mode "* ]]; then
		ensure_overlay "$mode"
		say "mode $mode: kinc doctor"
		as "$mode" kinc --provider "$(runtime_of "$mode")" doctor 2>&1 | sed "s/^/KINC-DOCTOR|$mode|/"
		say "mode $mode: loading the images"
		if ! load "$mode"; then
			echo "KINC-RESULT|$mode|$name|FAIL|-|-|image load failed"
			continue
		fi
		loaded+="$mode "
	fi
	run_cluster "$mode" "$name" "$nodes" "$spec" </dev/null
done
say "done"
