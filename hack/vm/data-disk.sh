#!/usr/bin/env bash
# Prepares what a VM's job needs, in $KINC_VM_DIR/data, and makes the data
# disk from it: kinc (this tree's bin/kinc), the cluster's kubectl, the node
# and load balancer images (one `docker save` archive, loaded inside with
# `docker load` / `podman load`), the scenario and its specs.
#
# usage: data-disk.sh HOST OUT.img       (as root; HOST: bookworm | trixie)
# KINC_VM_SCENARIOS: a file of "MODE NAME NODES [SPEC]" lines (default below).
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
# The image archive is big: saved again only when the images change.
ids=$(docker image inspect --format '{{.Id}}' "${images[@]}" | sha256sum | cut -c1-16)
if [ "$(cat "$data/images/ids" 2>/dev/null)" != "$ids" ]; then
	t=$SECONDS
	rm -f "$data/images/"*
	docker save -o "$data/images/kinc-images.tar" "${images[@]}"
	# The rootless user loads it too.
	chmod 0644 "$data/images/kinc-images.tar"
	echo "$ids" >"$data/images/ids"
	vm_say "docker save ${images[*]}: $((SECONDS - t)) s"
fi
install -m 0755 "$kinc" "$data/bin/kinc"
# The cluster's own kubectl, from the node image.
cid=$(docker create --entrypoint /usr/bin/kubectl "$node_image")
docker cp "$cid:/usr/bin/kubectl" "$data/bin/kubectl"
docker rm "$cid" >/dev/null
install -m 0644 "$here/guest/scenario.sh" "$data/scenario.sh"
install -m 0644 "$here/guest/job.sh" "$data/job.sh"
install -m 0644 "$repo/testdata/e2e/workers.toml" "$data/specs/workers.toml"
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

cat >"$data/config" <<CONF
KINC_VM_HOST=$host
KINC_VM_USER=$KINC_VM_USER
KINC_VM_WAIT=$wait_for
KINC_TIMEOUT_SCALE=${KINC_TIMEOUT_SCALE:-10}
CONF
rm -rf "$data/out"
size=$(($(du -sm "$data" | cut -f1) + 4096))
rm -f "$img"
mkfs.ext4 -q -F -L kinc-data -d "$data" "$img" "${size}M"
vm_say "data disk $img (${size} MiB)"
