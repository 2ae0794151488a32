// Package krew renders and reads backupview's Krew plugin manifest (deploy/krew/backupview.yaml,
// krew-release-bot's template): the release writes it, and the tests read it back.
package krew

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// Binary is the plugin's binary, in every archive.
const Binary = "kubectl-backupview"

// AllPlatforms are the platforms of a release, as deploy/krew/backupview.yaml lists them.
var AllPlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// ArchiveName is the archive of a platform, as the Krew manifest's URLs name it.
func ArchiveName(tag, goos, arch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", Binary, tag, goos, arch, ext)
}

// Manifest is a Krew plugin manifest (krew.googlecontainertools.github.com/v1alpha2 Plugin):
// the fields of Krew's PluginSpec that backupview's uses. Parse refuses any other.
type Manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Platforms        []Platform `json:"platforms"`
	} `json:"spec"`
}

// Platform is one archive of the plugin and the platforms it serves.
type Platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Bin    string `json:"bin"`
}

// Parse reads a rendered manifest strictly.
func Parse(data []byte) (*Manifest, error) {
	m := &Manifest{}
	if err := sigsyaml.UnmarshalStrict(data, m); err != nil {
		return nil, err
	}
	return m, nil
}

// versionRE is krew-release-bot's .Version: the tag's first dotted number.
var versionRE = regexp.MustCompile(`\d+(\.\d+)+`)

// missingSHA marks, in partial mode, a platform whose archive was not built.
const missingSHA = "not-built"

// Render renders krew-release-bot's template as the bot does (text/template; .TagName
// is the tag; addURIAndSha renders its URL as a template of its own, with .TagName and
// .Version, and gives "uri: URL\n    sha256: SUM"), taking each sum from sums by the URL's
// file name rather than downloading it. With partial, platforms whose archive is not in sums
// are left out of the manifest; otherwise they are an error.
func Render(tmpl, tag string, sums map[string]string, partial bool) ([]byte, error) {
	version := versionRE.FindString(tag)
	if version == "" {
		version = tag
	}
	values := struct{ TagName, Version string }{tag, version}
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			t, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			var b strings.Builder
			v := versionRE.FindString(tag)
			if v == "" {
				v = tag
			}
			if err := t.Execute(&b, struct{ TagName, Version string }{tag, v}); err != nil {
				return "", err
			}
			sum, ok := sums[path.Base(b.String())]
			if !ok {
				if !partial {
					return "", fmt.Errorf("no archive %s built for %s", path.Base(b.String()), b.String())
				}
				sum = missingSHA
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), sum), nil
		},
		// krew-release-bot's indent, for templates that use it.
		"indent": func(spaces int, v string) string {
			v = strings.ReplaceAll(v, "    sha256:", "sha256:")
			pad := strings.Repeat(" ", spaces)
			return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
		},
	}
	t, err := template.New("manifest").Funcs(funcs).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf("the rendered manifest is not YAML: %w\n%s", err, out.Bytes())
	}
	if !bytes.Contains(out.Bytes(), []byte(missingSHA)) {
		return out.Bytes(), nil
	}
	// Partial: drop the platforms not built.
	platforms := lookup(&doc, "spec", "platforms")
	if platforms == nil || platforms.Kind != yaml.SequenceNode {
		return nil, errors.New("the manifest has no spec.platforms")
	}
	platforms.Content = slices.DeleteFunc(platforms.Content, func(n *yaml.Node) bool {
		sha := lookup(n, "sha256")
		return sha != nil && sha.Value == missingSHA
	})
	if len(platforms.Content) == 0 {
		return nil, errors.New("no platform of the manifest was built")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// lookup follows mapping keys from n (a document or a mapping).
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
