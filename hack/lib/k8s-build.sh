# Sourced by hack/build-control-plane.sh and hack/build-node.sh: builds commands of
# k8s.io/kubernetes at $K8S (staging repos at $STAGING) into $OUTDIR, in a throwaway module in
# the current directory, so the project's go.mod never requires k8s.io/kubernetes (its replace
# directives would pin our k8s.io/*). Both scripts use the same Go settings, so they share the
# build cache.
#   k8s_build MODULE-NAME OUTDIR CMD...      e.g. k8s_build k8sbins "$KDIR" kube-apiserver kubectl
k8s_build() {
  local name=$1 outdir=$2; shift 2
  go mod download -json "k8s.io/kubernetes@v$K8S" >/dev/null
  local mod; mod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S.mod
  # The staging repos are nested modules missing from the k8s.io/kubernetes zip: map each
  # to its published v0.x.y.
  { echo "module example.com/$name"; echo; echo "go $(awk '/^go /{print $2}' "$mod")"; echo
    grep '^godebug' "$mod" || true; echo
    echo "require k8s.io/kubernetes v$K8S"; echo; echo "replace ("
    sed -n '/^replace (/,/^)/p' "$mod" | awk '/=>/{print "\t"$1" => "$1" '"$STAGING"'"}'; echo ")"; } > go.mod
  local pkgs=() c
  { printf '//go:build tools\n\npackage %s\n\nimport (\n' "$name"
    for c in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    printf ')\n'; } > tools.go
  go mod tidy
  local v=k8s.io/component-base/version
  local ldf="-s -w -X $v.gitVersion=v$K8S -X $v.gitMajor=${K8S%%.*} -X $v.gitMinor=$(echo "$K8S" | cut -d. -f2) -X $v.gitTreeState=clean"
  go build -trimpath -ldflags "$ldf" -o "$outdir.tmp/" "${pkgs[@]}"
  mv "$outdir.tmp/"* "$outdir/" && rmdir "$outdir.tmp"
}
