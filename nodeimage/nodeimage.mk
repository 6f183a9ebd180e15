# Included from the Makefile. The node image is built by kinc itself.
.PHONY: node-image bench-image e2e-nodeimage

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
