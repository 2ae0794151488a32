#!/usr/bin/env bash
# Regenerates everything under pkg/generated/ (and the zz_generated helpers next to the types)
# with k8s.io/code-generator's kube_codegen.sh from the module cache, at the version go.mod pins.
set -o errexit -o nounset -o pipefail

SCRIPT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "${SCRIPT_ROOT}"
THIS_PKG=$(go list -m)
CODEGEN_VERSION=$(go list -m -f '{{.Version}}' k8s.io/code-generator)
go mod download k8s.io/code-generator
CODEGEN_PKG=${CODEGEN_PKG:-$(go env GOMODCACHE)/k8s.io/code-generator@${CODEGEN_VERSION}}
source "${CODEGEN_PKG}/kube_codegen.sh"

BOILERPLATE="${SCRIPT_ROOT}/hack/boilerplate.go.txt"

kube::codegen::gen_helpers --boilerplate "${BOILERPLATE}" "${SCRIPT_ROOT}/pkg/apis"


# Every API rule violation is fixed or listed, with its reason, in hack/api-rules/violations.list;
# the generator fails on any violation not in that list.
kube::codegen::gen_openapi \
    --output-dir "${SCRIPT_ROOT}/pkg/generated/openapi" \
    --output-pkg "${THIS_PKG}/pkg/generated/openapi" \
    --report-filename "${SCRIPT_ROOT}/hack/api-rules/violations.list" \
    --output-model-name-file "zz_generated.model_name.go" \
    ${UPDATE_API_KNOWN_VIOLATIONS:+--update-report} \
    --boilerplate "${BOILERPLATE}" \
    "${SCRIPT_ROOT}/pkg/apis"

# The apply-configuration generator reads the models as OpenAPI v2; write them to a file first
# so that a failure stops the script (a process substitution would hide it).
SCHEMA=$(mktemp)
trap 'rm -f "${SCHEMA}"' EXIT
go run "${THIS_PKG}/hack/models-schema" > "${SCHEMA}"

kube::codegen::gen_client \
    --with-watch \
    --with-applyconfig \
    --applyconfig-openapi-schema "${SCHEMA}" \
    --output-dir "${SCRIPT_ROOT}/pkg/generated" \
    --output-pkg "${THIS_PKG}/pkg/generated" \
    --boilerplate "${BOILERPLATE}" \
    "${SCRIPT_ROOT}/pkg/apis"
