#!/usr/bin/env bash
# Fails when generated code is stale: regenerates into a copy of the tree and diffs.
set -o errexit -o nounset -o pipefail

SCRIPT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
TMP=$(mktemp -d)
trap 'rm -rf "${TMP}"' EXIT

# Copy the sources (not _output or .git) and regenerate there, so verify never touches the tree.
tar -C "${SCRIPT_ROOT}" --exclude=./_output --exclude=./.git --exclude=./.cache -cf - . | tar -C "${TMP}" -xf -
(cd "${TMP}" && hack/update-codegen.sh >/dev/null)

ret=0
for d in pkg hack/api-rules; do
  diff -Naupr "${SCRIPT_ROOT}/${d}" "${TMP}/${d}" || ret=$?
done
if [[ ${ret} -eq 0 ]]; then
  echo "generated code is up to date"
else
  echo "generated code is out of date: run hack/update-codegen.sh" >&2
fi
exit ${ret}
