#!/usr/bin/env bash
# Builds a cert-manager controller and cainjector from the Go module proxy, once, into a
# version-keyed cache outside the work tree, then copies them into _output/bin as
# cert-manager-controller and cert-manager-cainjector; test/controlplane's StartCertManager
# runs them as host processes so that deploy/ (its Issuers, Certificates and the APIService's
# cert-manager.io/inject-ca-from) can be applied to the test control plane.
# Upstream's cmd/controller and cmd/cainjector are nested modules (.../controller-binary,
# .../cainjector-binary, with replace ../../) that the module proxy does not serve, so the mains
# are ours (hack/cert-manager/*.go, see their comments), built in a throwaway module against the
# github.com/cert-manager/cert-manager module; the project's go.mod never requires it.
# cert-manager's CRDs (deploy/crds in the module zip: plain YAML, not Helm templates) are
# concatenated into crds.yaml next to the binaries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=${CERT_MANAGER_VERSION:-v1.21.2}
CACHE=${BACKUPVIEW_CACHE:-$HOME/.cache/backupview}
CDIR=$CACHE/bin/cert-manager-$V
OUT=$ROOT/_output/bin
BINS=(cert-manager-controller cert-manager-cainjector)
export GOFLAGS=-buildvcs=false
mkdir -p "$OUT" "$CDIR"

if [[ ! -x $CDIR/cert-manager-controller || ! -x $CDIR/cert-manager-cainjector || ! -s $CDIR/crds.yaml ]]; then
  echo ">> building cert-manager $V controller and cainjector (first time: a few minutes on 2 cores)"
  W=$CACHE/work/cert-manager-$V; mkdir -p "$W"; cd "$W"
  go mod download -json "github.com/cert-manager/cert-manager@$V" >/dev/null
  MOD=$(go env GOMODCACHE)/cache/download/github.com/cert-manager/cert-manager/@v/$V.mod
  printf 'module example.com/certmanagerbins\n\ngo %s\n' "$(awk '/^go /{print $2}' "$MOD")" > go.mod
  # The mains carry //go:build ignore so that the project's build and `go mod tidy` skip them;
  # here they are ordinary packages.
  for b in controller cainjector; do
    mkdir -p "cert-manager-$b"
    grep -v '^//go:build ignore$' "$ROOT/hack/cert-manager/$b.go" > "cert-manager-$b/main.go"
  done
  go get "github.com/cert-manager/cert-manager@$V"
  # tidy (not go get) resolves only the packages these mains import, at the versions
  # cert-manager's go.mod pins, so the ACME DNS providers' cloud SDKs are not downloaded.
  go mod tidy
  go build -trimpath -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$V" \
    -o "$CDIR.tmp/" ./cert-manager-controller ./cert-manager-cainjector
  D=$(go list -m -f '{{.Dir}}' "github.com/cert-manager/cert-manager")
  for f in "$D"/deploy/crds/*.yaml; do echo "---"; grep -v '^---$' "$f"; done > "$CDIR.tmp/crds.yaml"
  mv "$CDIR.tmp/"* "$CDIR/" && rmdir "$CDIR.tmp"
fi

for b in "${BINS[@]}"; do cmp -s "$CDIR/$b" "$OUT/$b" || cp "$CDIR/$b" "$OUT/$b"; done
echo ">> cert-manager $V in $OUT (CRDs: $CDIR/crds.yaml)"
