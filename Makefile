# backupview: see README.md. Every target works on a fresh machine (Go + the module proxy).
SHELL := /bin/bash
GO ?= go
BIN := _output/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.1.0-dev)
LDFLAGS := -X github.com/kubestash/backupview/pkg/version.Version=$(VERSION)
GOFILES := $(shell find cmd pkg hack test -name '*.go' 2>/dev/null)

.PHONY: all build control-plane promtool test test-race lint test-unit test-integration test-faults demo demo-down codegen verify fmt vet fuzz bench bench-scale clean

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

# Prometheus's promtool from the module proxy, built once and cached: the alert rules' tests
# (test/monitoring) run it.
promtool:
	hack/build-promtool.sh

# Unit tests, then integration tests against a real kube-apiserver + etcd with backupview
# registered through an APIService, and the alert rules through promtool.
test: build control-plane promtool
	BACKUPVIEW_INTEGRATION=1 $(GO) test -count=1 -timeout 30m ./...

test-unit:
	$(GO) test -count=1 ./pkg/... ./cmd/... ./test/controlplane/...

test-integration: build control-plane
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

verify: fmt vet lint
	hack/verify-codegen.sh

# staticcheck, pinned, built from the module proxy (cached by Go's build cache). Generated
# code is left out: client-gen still uses client-go's deprecated ListFunc/WatchFunc.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) $$($(GO) list ./... | grep -v /pkg/generated/)

# The unit tests under the race detector.
test-race:
	$(GO) test -race -count=1 ./pkg/... ./cmd/... ./test/controlplane/...

fmt:
	@out=$$(gofmt -l cmd pkg hack test 2>/dev/null); if [[ -n "$$out" ]]; then echo "gofmt needed: $$out"; exit 1; fi

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
	$(GO) test -run '^$$' -fuzz '^FuzzParseSize$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/healthmetrics

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

# Joined views against kube-apiserver's own list, side by side, on a loaded local control
# plane (hack/bench-scale.sh; results in docs/benchmarks.md). SCALE=small is the CI smoke test.
SCALE ?= default
bench-scale: build control-plane
	SCALE=$(SCALE) hack/bench-scale.sh

clean:
	rm -rf _output
