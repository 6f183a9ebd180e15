#!/usr/bin/env bash
# Prepares what a VM's job needs, in $KINC_VM_DIR/data, and makes the data
# disk from it: kinc (this tree's bin/kinc), the cluster's kubectl, the node
# and load balancer images (one `docker save` archive, loaded inside with
# `docker load` / `podman load`), the scenario and its specs.
#
# usage: data-disk.sh HOST OUT.img       (as root; HOST: bookworm | trixie)
# KINC_VM_SCENARIOS: a file of "MODE NAME NODES [SPEC]" lines (default below).
# KINC_VM_STORES: the modes (docker, podman, rootless) whose image store is
# made here (stores.sh) instead of loaded in the VM; default: every mode the
# scenarios use, "none" for none. The rootless store is made with the VM
# user's uid and subordinate ids, read from the root disk.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

host=${1:?usage: data-disk.sh HOST OUT.img}
img=${2:?usage: data-disk.sh HOST OUT.img}
vm_check_suite "$host"
# kinc's own waits inside the VM: TCG is 6-70x slower than this host.
wait_for=${KINC_VM_WAIT:-60m}

# --- what goes in: kinc, kubectl, the images ---------------------------------
kinc=$repo/bin/kinc
[ -x "$kinc" ] || vm_die "no $kinc: run make build"
mapfile -t images < <(cd "$repo" && go run ./hack/vm/imagenames)
node_image=${images[0]}
# A cache hit when the image is there; builds it otherwise (~12 min cold).
"$kinc" build node-image --provider docker
for i in "${images[@]}"; do
	docker image inspect "$i" >/dev/null 2>&1 || vm_die "image $i is not in docker: run make node-image"
done

data="$KINC_VM_DIR/data"
mkdir -p "$data/bin" "$data/images" "$data/specs"
if [ -n "${KINC_VM_SCENARIOS:-}" ]; then
	cp "$KINC_VM_SCENARIOS" "$data/scenarios.txt"
else
	cat >"$data/scenarios.txt" <<'SCEN'
# MODE     NAME          NODES  SPEC
docker     vm-docker-1   1
podman     vm-podman-1   1
rootless   vm-rootless-1 1
rootless   vm-rootless-3 3      workers.toml
SCEN
fi
modes=$(awk '$1 !~ /^#/ && NF { print $1 }' "$data/scenarios.txt" | sort -u | tr '\n' ' ')
if [ -z "${KINC_VM_STORES:-}" ]; then
	stores=
	for m in $modes; do
		case "$m" in docker | podman | rootless) stores+="$m " ;; esac
	done
elif [ "$KINC_VM_STORES" = none ]; then
	stores=
else
	stores=$KINC_VM_STORES
fi
# The archive goes on the disk only when the VM loads it itself.
need_archive=0
for m in $modes; do
	[[ " $stores " == *" $m "* ]] || need_archive=1
done

# The image archive is big: saved again only when the images change. It is
# kept beside the data directory and linked in when the VM needs it.
cache="$KINC_VM_DIR/images"
mkdir -p "$cache"
ids=$(docker image inspect --format '{{.Id}}' "${images[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$cache/ids" 2>/dev/null)" != "$ids" ] || [ ! -f "$cache/kinc-images.tar" ]; then
	t=$SECONDS
	rm -f "$cache/kinc-images.tar" "$cache/ids"
	docker save -o "$cache/kinc-images.tar" "${images[@]}"
	# The rootless user loads it too.
	chmod 0644 "$cache/kinc-images.tar"
	echo "$ids" >"$cache/ids"
	vm_say "docker save ${images[*]}: $((SECONDS - t)) s"
fi
rm -f "$data/images/"*
printf '%s\n' "${images[@]}" >"$data/images/names"
if [ "$need_archive" = 1 ]; then
	ln "$cache/kinc-images.tar" "$data/images/kinc-images.tar" 2>/dev/null ||
		cp "$cache/kinc-images.tar" "$data/images/kinc-images.tar"
fi
# The stores, made here (seconds) instead of in the VM (minutes).
room=${KINC_VM_DATA_ROOM:-4096}
if [[ " $stores " == *" rootless "* ]]; then
	# The rootless store's files carry the VM user's ids (stores.sh).
	root_img=$KINC_VM_DIR/$host/root.img
	[ -f "$root_img" ] || vm_die "no $root_img (the rootless store needs the VM user's ids): run build-disk.sh $host"
	KINC_VM_UID=$(cat "$KINC_VM_DIR/$host/user-uid")
	KINC_VM_SUBUID=$(debugfs -R "cat /etc/subuid" "$root_img" 2>/dev/null | sed -n "s/^$KINC_VM_USER:\([0-9]*:[0-9]*\)\$/\1/p" | head -1)
	KINC_VM_SUBGID=$(debugfs -R "cat /etc/subgid" "$root_img" 2>/dev/null | sed -n "s/^$KINC_VM_USER:\([0-9]*:[0-9]*\)\$/\1/p" | head -1)
	[ -n "$KINC_VM_UID" ] && [ -n "$KINC_VM_SUBUID" ] && [ -n "$KINC_VM_SUBGID" ] ||
		vm_die "cannot read $KINC_VM_USER's uid and subordinate ids from $root_img"
	export KINC_VM_UID KINC_VM_SUBUID KINC_VM_SUBGID
	ids+=" $KINC_VM_UID $KINC_VM_SUBUID $KINC_VM_SUBGID"
fi
if [ -n "${stores// /}" ]; then
	if [ "$(cat "$data/stores/ids" 2>/dev/null)" != "$ids $stores" ]; then
		rm -rf --one-file-system "$data/stores"
		t=$SECONDS
		# shellcheck disable=SC2086 # one word a mode
		bash "$here/stores.sh" "$cache/kinc-images.tar" "$data/stores" $stores
		rm -f "$data/stores/dockerd.log"
		echo "$ids $stores" >"$data/stores/ids"
		vm_say "stores ($stores): $((SECONDS - t)) s"
	fi
	# The stores hold the nodes' containers and volumes in the VM too.
	for m in $stores; do room=$((room + 6144)); done
else
	rm -rf --one-file-system "$data/stores"
fi
install -m 0755 "$kinc" "$data/bin/kinc"
# The cluster's own kubectl, from the node image.
cid=$(docker create --entrypoint /usr/bin/kubectl "$node_image")
docker cp "$cid:/usr/bin/kubectl" "$data/bin/kubectl"
docker rm "$cid" >/dev/null
install -m 0644 "$here/guest/scenario.sh" "$data/scenario.sh"
install -m 0644 "$here/guest/job.sh" "$data/job.sh"
install -m 0644 "$repo/testdata/e2e/workers.toml" "$data/specs/workers.toml"
cat >"$data/config" <<CONF
KINC_VM_HOST=$host
KINC_VM_USER=$KINC_VM_USER
KINC_VM_WAIT=$wait_for
KINC_TIMEOUT_SCALE=${KINC_TIMEOUT_SCALE:-10}
CONF
rm -rf "$data/out"
size=$(($(du -sm "$data" | cut -f1) + room))
rm -f "$img"
mkfs.ext4 -q -F -L kinc-data -d "$data" "$img" "${size}M"
vm_say "data disk $img (${size} MiB)"
