// Command release builds the kubectl plugin's release files (`make release`), with nothing
// but the Go toolchain (no goreleaser, no network besides the module proxy):
//
//	OUT/kubectl-backupview_<tag>_<os>_<arch>.tar.gz   linux and darwin, amd64 and arm64
//	OUT/kubectl-backupview_<tag>_windows_<arch>.zip    windows, amd64 and arm64
//	OUT/SHA256SUMS                                     every file above (and the chart's)
//	OUT/backupview.yaml                                the Krew manifest for the tag
//
// Each archive holds the binary (kubectl-backupview, .exe on Windows) and LICENSE when the
// repository has one, with fixed headers (mtime SOURCE_DATE_EPOCH, default the HEAD
// commit's time; owner root), so the same commit gives the same archives. The manifest is
// deploy/krew/backupview.yaml, a krew-release-bot template, rendered here as the bot renders
// it: .TagName is the tag and addURIAndSha gives each archive's release URL and the sha256 of
// the archive built here. When hack/package-chart.sh exists and OUT is _output/release (the
// script packages the Helm chart there), it is run too, after the archives, with VERSION set
// to the tag, SOURCE_DATE_EPOCH, and RELEASE_DIR and its one argument set to OUT; every file
// in OUT then goes into SHA256SUMS.
//
// With -platforms naming only some platforms (test/release builds only this machine's),
// the manifest lists only those.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	plugin     = "kubectl-backupview"
	pluginPkg  = "./cmd/kubectl-backupview"
	versionVar = "github.com/kubestash/backupview/pkg/version.Version"
	sumsFile   = "SHA256SUMS"
	chartCmd   = "hack/package-chart.sh"
)

// AllPlatforms are the platforms of a release, as deploy/krew/backupview.yaml lists them.
var AllPlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// Options say what to build.
type Options struct {
	Tag       string
	Platforms []string // os/arch
	Out       string
	Manifest  string // the Krew manifest template
	Epoch     time.Time
	Go        string // the go command (default "go")
	Chart     string // the chart script, run when it exists ("" for none)
}

func main() {
	var o Options
	var platforms string
	flag.StringVar(&o.Tag, "tag", "", "the release's tag (default: $VERSION, else git describe --tags --always --dirty)")
	flag.StringVar(&platforms, "platforms", strings.Join(AllPlatforms, ","), `comma-separated os/arch list; "host" is this machine's`)
	flag.StringVar(&o.Out, "out", "_output/release", "output directory (emptied first)")
	flag.StringVar(&o.Manifest, "manifest", "deploy/krew/backupview.yaml", "the Krew manifest template (krew-release-bot's)")
	flag.StringVar(&o.Chart, "chart-script", chartCmd, "run this, when it exists, to package the Helm chart into the output directory")
	flag.Parse()
	if flag.NArg() != 0 {
		fatalf("no arguments expected; see -help")
	}
	for _, p := range strings.Split(platforms, ",") {
		if p = strings.TrimSpace(p); p == "host" {
			p = runtime.GOOS + "/" + runtime.GOARCH
		}
		if p != "" {
			o.Platforms = append(o.Platforms, p)
		}
	}
	if o.Tag == "" {
		o.Tag = os.Getenv("VERSION")
	}
	if o.Tag == "" {
		o.Tag = git("describe", "--tags", "--always", "--dirty")
	}
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		epoch = git("log", "-1", "--format=%ct", "HEAD")
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		fatalf("SOURCE_DATE_EPOCH %q (and no git commit time): %v", epoch, err)
	}
	o.Epoch = time.Unix(sec, 0).UTC()
	start := time.Now()
	if err := Release(context.Background(), o); err != nil {
		fatalf("%v", err)
	}
	fmt.Printf(">> release %s in %s (%s)\n", o.Tag, o.Out, time.Since(start).Round(100*time.Millisecond))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "release: "+format+"\n", args...)
	os.Exit(1)
}

func git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ArchiveName is the archive of a platform, as the Krew manifest's URLs name it.
func ArchiveName(tag, goos, arch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", plugin, tag, goos, arch, ext)
}

// Release builds every platform's archive, the chart (when its script exists), the sums and
// the manifest into o.Out.
func Release(ctx context.Context, o Options) error {
	if o.Tag == "" || strings.ContainsAny(o.Tag, "/ ") {
		return fmt.Errorf("tag %q", o.Tag)
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if len(o.Platforms) == 0 {
		return errors.New("no platforms")
	}
	for _, p := range o.Platforms {
		if !slices.Contains(AllPlatforms, p) {
			return fmt.Errorf("platform %s: not one of %s", p, strings.Join(AllPlatforms, ", "))
		}
	}
	tmpl, err := os.ReadFile(o.Manifest)
	if err != nil {
		return err
	}
	if abs, _ := filepath.Abs(o.Out); abs == "/" || abs == mustGetwd() {
		return fmt.Errorf("output directory %s: not emptying that", o.Out)
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "backupview-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	var license []byte
	if b, err := os.ReadFile("LICENSE"); err == nil {
		license = b
	} else if !os.IsNotExist(err) {
		return err
	}
	for _, p := range o.Platforms {
		goos, arch, _ := strings.Cut(p, "/")
		bin := plugin
		if goos == "windows" {
			bin += ".exe"
		}
		dst := filepath.Join(work, goos+"_"+arch, bin)
		if err := goBuild(ctx, o, goos, arch, dst); err != nil {
			return err
		}
		data, err := os.ReadFile(dst)
		if err != nil {
			return err
		}
		files := []file{{bin, 0o755, data}}
		if license != nil {
			files = append(files, file{"LICENSE", 0o644, license})
		}
		archive := filepath.Join(o.Out, ArchiveName(o.Tag, goos, arch))
		if goos == "windows" {
			err = os.WriteFile(archive, Zip(files, o.Epoch), 0o644)
		} else {
			var b []byte
			if b, err = TarGz(files, o.Epoch); err == nil {
				err = os.WriteFile(archive, b, 0o644)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
	}
	if err := chart(ctx, o); err != nil {
		return err
	}

	sums, err := Sums(o.Out, sumsFile, path.Base(o.Manifest))
	if err != nil {
		return err
	}
	var list bytes.Buffer
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&list, "%s  %s\n", sums[n], n)
	}
	if err := os.WriteFile(filepath.Join(o.Out, sumsFile), list.Bytes(), 0o644); err != nil {
		return err
	}
	manifest, err := RenderManifest(string(tmpl), o.Tag, sums, len(o.Platforms) < len(AllPlatforms))
	if err != nil {
		return fmt.Errorf("%s: %w", o.Manifest, err)
	}
	return os.WriteFile(filepath.Join(o.Out, path.Base(o.Manifest)), manifest, 0o644)
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}

// goBuild builds the plugin for goos/arch: static, reproducible (-trimpath, no build ID, no
// VCS stamp; GOAMD64 and GOARM64 at their defaults whatever the environment says).
func goBuild(ctx context.Context, o Options, goos, arch, dst string) error {
	ldflags := "-s -w -buildid= -X " + versionVar + "=" + o.Tag
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", dst, pluginPkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+arch, "GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, ">> go build %s for %s/%s\n", pluginPkg, goos, arch)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w", pluginPkg, goos, arch, err)
	}
	return nil
}

// chart runs the chart script when it exists.
func chart(ctx context.Context, o Options) error {
	if o.Chart == "" {
		return nil
	}
	if _, err := os.Stat(o.Chart); os.IsNotExist(err) {
		fmt.Fprintf(os.Stderr, ">> no %s: no chart in this release\n", o.Chart)
		return nil
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return err
	}
	// The script packages into the repository's _output/release whatever it is told.
	if out != filepath.Join(mustGetwd(), "_output", "release") {
		fmt.Fprintf(os.Stderr, ">> no chart in %s: %s writes into _output/release only\n", o.Out, o.Chart)
		return nil
	}
	script := o.Chart
	if !strings.Contains(script, "/") {
		script = "./" + script
	}
	cmd := exec.CommandContext(ctx, script, out)
	cmd.Env = append(os.Environ(), "VERSION="+o.Tag, "RELEASE_DIR="+out, "SOURCE_DATE_EPOCH="+strconv.FormatInt(o.Epoch.Unix(), 10))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, ">> %s %s\n", o.Chart, out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", o.Chart, err)
	}
	return nil
}

// file is an archive's member.
type file struct {
	name string
	mode int64
	data []byte
}

// TarGz is a gzipped tar of files with fixed headers: mtime, owner root without names,
// USTAR; and a gzip header without a name or time.
func TarGz(files []file, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)),
			ModTime: mtime.UTC(), Format: tar.FormatUSTAR}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Zip is a zip of files with fixed headers (mtime, mode).
func Zip(files []file, mtime time.Time) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: mtime.UTC()}
		h.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(f.data)
		}
		if err != nil { // writing to memory fails only on a bad header, which these are not
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Sums are the hex sha256 of every file in dir but those named in skip, by name.
func Sums(dir string, skip ...string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || slices.Contains(skip, e.Name()) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		sums[e.Name()] = hex.EncodeToString(h.Sum(nil))
	}
	return sums, nil
}

// versionRE is krew-release-bot's .Version: the tag's first dotted number.
var versionRE = regexp.MustCompile(`\d+(\.\d+)+`)

// missingSHA marks, in partial mode, a platform whose archive was not built.
const missingSHA = "not-built"

// RenderManifest renders krew-release-bot's template as the bot does (text/template; .TagName
// is the tag; addURIAndSha renders its URL as a template of its own, with .TagName and
// .Version, and gives "uri: URL\n    sha256: SUM"), taking each sum from sums by the URL's
// file name rather than downloading it. With partial, platforms whose archive is not in sums
// are left out of the manifest; otherwise they are an error.
func RenderManifest(tmpl, tag string, sums map[string]string, partial bool) ([]byte, error) {
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
