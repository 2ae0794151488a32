# backupview: see README.md. Every target works on a fresh machine (Go + the module proxy).
SHELL := /bin/bash
GO ?= go
BIN := _output/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
LDFLAGS := -X github.com/kubestash/backupview/pkg/version.Version=$(VERSION)
GOFILES := $(shell find cmd pkg plugins hack test -name node_modules -prune -o -name '*.go' -print 2>/dev/null)
# The packages whose tests need no control plane: the server, the kubectl plugin, the
# commands, and the tooling's own logic (scale shapes, loader, report, scrape, fixtures).
UNIT_PKGS := ./pkg/... ./plugins/... ./cmd/... ./test/controlplane/... ./test/scale/... ./test/scrape/... ./test/fixtures/...

.PHONY: node test-node cert-manager all build control-plane promtool helm chart krew image pause-image release update-deploy verify-deploy test test-race lint test-unit test-integration test-faults demo demo-down codegen verify fmt vet fuzz bench bench-scale clean headlamp-plugin test-headlamp

all: build

build: $(BIN)/backupview-apiserver $(BIN)/backupview-fixtures $(BIN)/kubectl-backupview $(BIN)/backupview-cluster

$(BIN)/backupview-apiserver: $(GOFILES) go.mod go.sum
	$(GO) build -ldflags "$(LDFLAGS)" -o $@ ./cmd/backupview-apiserver

$(BIN)/backupview-fixtures: $(GOFILES) go.mod go.sum
	$(GO) build -o $@ ./cmd/backupview-fixtures

# The local control plane's command line (hack/cluster.sh runs it).
$(BIN)/backupview-cluster: $(GOFILES) go.mod go.sum
	$(GO) build -o $@ ./cmd/backupview-cluster

# The kubectl plugin: kubectl finds it on PATH as `kubectl backupview`.
$(BIN)/kubectl-backupview: $(GOFILES) go.mod go.sum
	$(GO) build -ldflags "$(LDFLAGS)" -o $@ ./cmd/kubectl-backupview

# kube-apiserver, kubectl and etcd from the module proxy, built once and cached.
control-plane:
	hack/build-control-plane.sh

# A real node's parts: kubelet, kube-scheduler, kube-proxy (k8s.io/kubernetes) and containerd
# from the module proxy, built once and cached; runc and the CNI plugins from Debian.
node: control-plane
	hack/build-node.sh

# cert-manager's controller and CA injector (hack/build-cert-manager.sh), built once and cached:
# the node tests apply the kustomize base (deploy/) with them.
cert-manager:
	hack/build-cert-manager.sh

# Install tests on a real node (test/node, as root): the image and the packaged chart (pinned
# to the image's digest) installed with helm, then a pod deleted, a rolling update, evictions,
# both pods killed, an uninstall under load, and the kustomize base with cert-manager
# (docs/reliability.md, promises 22-29).
test-node: build node helm image pause-image cert-manager chart
	BACKUPVIEW_NODE_E2E=1 $(GO) test -count=1 -timeout 20m -v ./test/node/

# Krew (sigs.k8s.io/krew) from the module proxy, built once and cached, as
# _output/bin/kubectl-krew: test/release installs the released plugin with it.
krew:
	hack/build-krew.sh

# backupview-apiserver's image for linux/amd64 and linux/arm64, built without a Docker daemon
# or a registry (hack/image): an OCI layout of both platforms in _output/image/oci, its index
# digest in _output/image/digest (the same for the same commit and Go), the layout as one tar
# (_output/image/backupview-apiserver-oci.tar: `ctr -n k8s.io images import` keeps that
# digest) and, per platform, a docker-archive _output/image/backupview-apiserver-linux-<arch>.tar
# for `ctr images import` or `docker load` (containerd gives it a digest of its own).
IMAGE ?= ghcr.io/kubestash/backupview
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
image:
	$(GO) run ./hack/image -image $(IMAGE) -tag $(VERSION) -platforms $(IMAGE_PLATFORMS) -out _output/image

# The test node's pause image (hack/image/pause) as backupview.local/pause:3.10, for this
# machine's architecture: _output/image/pause-linux-<arch>.tar.
pause-image:
	$(GO) run ./hack/image -pkg ./hack/image/pause -image backupview.local/pause -tag 3.10 -version 3.10 -platforms host -oci=false -out _output/image

# The kubectl plugin's release (hack/release): archives for linux, darwin and windows on
# amd64 and arm64, SHA256SUMS and the rendered Krew manifest in _output/release, and the
# Helm chart (hack/package-chart.sh, with the image's digest when `make image` ran first).
release: helm
	$(GO) run ./hack/release -tag $(VERSION) -out _output/release

# Prometheus's promtool from the module proxy, built once and cached: the alert rules' tests
# (test/monitoring) run it.
promtool:
	hack/build-promtool.sh

# The Helm CLI from the module proxy, built once and cached: the chart's lint, package and
# tests (test/chart), and the rendering of deploy/ from the chart.
helm:
	hack/build-helm.sh

# The Helm chart (deploy/helm/backupview), linted (--strict) and packaged into _output/release
# with VERSION (and image.digest from _output/image/digest when `make image` wrote it).
chart: helm
	VERSION=$(VERSION) hack/package-chart.sh

# deploy/ (the kustomize base and the monitoring component) is rendered from the chart.
update-deploy: helm
	hack/update-deploy.sh

verify-deploy: helm
	hack/verify-deploy.sh

# Unit tests, then integration tests against a real kube-apiserver + etcd with backupview
# registered through an APIService, the alert rules through promtool, the chart through helm,
# and the plugin's release installed with Krew (test/release).
test: build control-plane promtool helm krew
	BACKUPVIEW_INTEGRATION=1 $(GO) test -count=1 -timeout 30m ./...

test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

test-integration: build control-plane promtool helm krew
	BACKUPVIEW_INTEGRATION=1 $(GO) test -count=1 -timeout 30m -v ./test/...

# Reliability and security promises (docs/reliability.md): startup against 2,000
# BackupConfigurations, kube-apiserver restarts, missing CRDs, odd objects, bad input, load,
# access, two replicas; each against the real control plane. Part of `make test` too.
test-faults: build control-plane
	BACKUPVIEW_INTEGRATION=1 $(GO) test -count=1 -timeout 40m ./test/reliability/...

# A local control plane with KubeStash objects and backupview, left running.
demo: build control-plane
	hack/demo.sh

demo-down:
	hack/cluster.sh down _output/demo

codegen:
	hack/update-codegen.sh

verify: fmt vet lint helm
	hack/verify-codegen.sh
	hack/verify-deploy.sh

# staticcheck, pinned, built from the module proxy (cached by Go's build cache). Generated
# code is left out: client-gen still uses client-go's deprecated ListFunc/WatchFunc.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) $$($(GO) list ./... | grep -v /pkg/generated/)

# The unit tests under the race detector.
test-race:
	$(GO) test -race -count=1 $(UNIT_PKGS)

fmt:
	@out=$$(gofmt -l $(GOFILES)); if [[ -n "$$out" ]]; then echo "gofmt needed: $$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The fuzz targets, briefly (CI), as an execution count: a time limit can end a run mid-input
# and fail it with "context deadline exceeded". FUZZTIME=5m for a longer run.
FUZZTIME ?= 10000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPreview$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/render
	$(GO) test -run '^$$' -fuzz '^FuzzFormFields$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/render
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/cron
	$(GO) test -run '^$$' -fuzz '^FuzzMaxInterval$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/cron
	$(GO) test -run '^$$' -fuzz '^FuzzScanAgreesWithDecoder$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/render
	$(GO) test -run '^$$' -fuzz '^FuzzRestorePreview$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/render
	$(GO) test -run '^$$' -fuzz '^FuzzParseSize$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/healthmetrics

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./test/scale/bench/

# Joined views against kube-apiserver's own list, side by side, on a loaded local control
# plane (hack/bench-scale.sh; results in docs/benchmarks.md). SCALE=small is the CI smoke test.
SCALE ?= default
bench-scale: build control-plane
	SCALE=$(SCALE) hack/bench-scale.sh

clean:
	rm -rf _output

# The Headlamp plugin (plugins/headlamp): its tarball and Artifact Hub checksum check, and its
# unit and browser tests (hack/test-headlamp.sh: Debian's chromium, npm ci from the lockfile).
headlamp-plugin:
	hack/headlamp-plugin.sh

test-headlamp: build control-plane
	hack/test-headlamp.sh
