package commands

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestKrewManifest: deploy/krew/backupview.yaml, rendered as krew-release-bot renders it, is
// a Krew plugin named backupview whose every platform runs this binary from an archive with
// a checksum.
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "krew", "backupview.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	uri := regexp.MustCompile(`\{\{ *addURIAndSha "([^"]+)" \.TagName *\}\}`)
	rendered := uri.ReplaceAllString(string(data), "uri: $1\n    sha256: "+strings.Repeat("ab", 32))
	rendered = strings.ReplaceAll(rendered, "{{ .TagName }}", "v0.1.0")
	if strings.Contains(rendered, "{{") {
		t.Fatalf("a template action is left:\n%s", rendered)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			// The fields of Krew's PluginSpec that the manifest uses; strict decoding refuses others.
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
				Bin    string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict([]byte(rendered), &m); err != nil {
		t.Fatalf("%v:\n%s", err, rendered)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || "kubectl-"+m.Metadata.Name != Binary || m.Spec.Version != "v0.1.0" || m.Spec.ShortDescription == "" {
		t.Errorf("manifest: %+v", m)
	}
	seen := map[string]bool{}
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		seen[goos+"/"+arch] = true
		bin := Binary
		if goos == "windows" {
			bin += ".exe"
		}
		if p.Bin != bin || !strings.Contains(p.URI, "_"+goos+"_"+arch+".") || len(p.SHA256) != 64 {
			t.Errorf("platform %s/%s: bin %q, uri %q", goos, arch, p.Bin, p.URI)
		}
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"} {
		if !seen[want] {
			t.Errorf("no platform %s", want)
		}
	}
}
