# Included from the Makefile. The node image is built by kinc itself.
.PHONY: node-image bench-image e2e-nodeimage e2e-version

# node-image: the default node image (cache hit when present in every runtime).
node-image: build
	./bin/kinc build node-image --provider all

# bench-image: a cold build (empty Go build and module caches, no debootstrap
# rootfs) into docker and podman, its peak disk use, then a cache hit.
bench-image:
	go test -tags bench -run '^$$' -bench BenchmarkNodeImage -benchtime 1x -timeout 60m ./nodeimage/

# e2e-nodeimage: boots a node from the image on docker and podman.
e2e-nodeimage:
	go test -tags e2e -run TestE2ENodeImageBoots -count 1 -timeout 60m -v ./nodeimage/

# e2e-version: the 1+2 cluster test (workloads, services, leak, DNS, day 2)
# on docker and podman, from a node image of KUBERNETES_VERSION (built first;
# a cache hit when present). Not part of `make test`: each version is a
# cold Kubernetes compile the first time. README "Kubernetes versions".
KUBERNETES_VERSION ?= v1.33.13
e2e-version: build bin/testreport
	set -o pipefail; ./bin/kinc build node-image --provider all --kubernetes-version $(KUBERNETES_VERSION) | tee bin/e2e-version.log
	image=$$(sed -n '1s/^Building node image \([^ ]*\) .*/\1/p' bin/e2e-version.log); \
	test -n "$$image" || { echo "e2e-version: no image name in the build's first line"; exit 1; }; \
	set -o pipefail; KINC_E2E_NODE_IMAGE=$$image KINC_E2E_KUBERNETES_VERSION=$(KUBERNETES_VERSION) \
	$(E2E_TEST) -run 'TestE2EClusters/(docker|podman)/workers' ./lifecycle/e2e/ | bin/testreport
