package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubestash/backupview/hack/release/krew"
)

// TestKrewManifest: deploy/krew/backupview.yaml, rendered as the release renders it, installs
// this binary (kubectl finds plugins by this name) on every platform of the release.
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "krew", "backupview.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, p := range krew.AllPlatforms {
		goos, arch, _ := strings.Cut(p, "/")
		sums[krew.ArchiveName("v0.1.0", goos, arch)] = strings.Repeat("ab", 32)
	}
	out, err := krew.Render(string(data), "v0.1.0", sums, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := krew.Parse(out)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || "kubectl-"+m.Metadata.Name != Binary || krew.Binary != Binary || m.Spec.ShortDescription == "" {
		t.Errorf("manifest: %+v", m)
	}
	for _, p := range m.Spec.Platforms {
		bin := Binary
		if p.Selector.MatchLabels["os"] == "windows" {
			bin += ".exe"
		}
		if p.Bin != bin {
			t.Errorf("platform %v: bin %q, want %q", p.Selector.MatchLabels, p.Bin, bin)
		}
	}
}
