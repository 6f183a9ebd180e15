# kinc's build, tests and checks. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go

# The version stamped into the binary: the git tag, else the dev version
# and the commit.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo v0.1.0-dev-$$(git describe --always --dirty 2>/dev/null || echo unknown))
LDFLAGS := -s -w -X github.com/kinc-dev/kinc/cli.Version=$(VERSION)

# End-to-end tests drive real docker and podman (and, later, real clusters):
# they are the TestE2E* functions behind the e2e build tag.
E2E_TIMEOUT ?= 90m
E2E_RUN ?= ^TestE2E
# E2E_TEST runs e2e tests (add -run and the packages); pipe it into
# bin/testreport, under `set -o pipefail`.
E2E_TEST = $(GO) test -tags e2e -count=1 -p 1 -timeout $(E2E_TIMEOUT) -json

.PHONY: build test unit e2e lint prereqs cluster bench test-hosts

## build: the kinc binary at ./bin/kinc (static, version stamped)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kinc .

## test: unit tests, then the e2e tests against real docker and podman
test: lint unit e2e

## unit: go test ./... (no e2e tag: nothing touches a runtime)
unit:
	$(GO) test ./...

## e2e: only the real-runtime tests (TestE2E* behind the e2e tag); the
## default node image is built first (a cache hit when present). One package
## at a time (-p 1): the day-2 test restarts dockerd under everything else.
## The log ends with each failed test's messages (hack/testreport): CI keeps
## only a log's end, and they are printed far from it, when they happen.
e2e: node-image bin/testreport
	set -o pipefail; $(E2E_TEST) -run '$(E2E_RUN)' ./... | bin/testreport

bin/testreport: hack/testreport/main.go
	$(GO) build -o bin/testreport ./hack/testreport

## lint: gofmt -l must print nothing; go vet with and without the e2e tag
lint:
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt -l: run gofmt -w on:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...

## prereqs: install what is missing (as root on Debian/Ubuntu) and start dockerd
prereqs:
	bash hack/prereqs.sh

## bench: create and delete the 1-node and the 1+2 cluster on docker and
## podman (KINC_BENCH_RUNS times each, default 3); prints the per-stage medians;
## then day 2 on a 1+2 cluster: load image (100 MB), stop/start, create/delete node
bench: node-image
	$(GO) test -tags e2e -run '^$$' -bench 'Benchmark(Cluster|Day2)' -benchtime 1x -count=1 -timeout 90m ./lifecycle/e2e/

## test-hosts: the e2e scenario on other hosts (Debian 12/13 with cgroup v2:
## docker rootful, podman rootful and rootless) in QEMU VMs built here from
## Debian packages; prints host x runtime x cluster -> PASS/FAIL and create
## time. Slow (TCG), not part of CI; see README "Hosts". KINC_VM_HOSTS picks hosts.
test-hosts: node-image
	bash hack/vm/test-hosts.sh

## cluster: prereqs, build, the default node image, then create the default cluster
cluster: prereqs node-image
	./bin/kinc create cluster --wait 3m

include nodeimage/nodeimage.mk
