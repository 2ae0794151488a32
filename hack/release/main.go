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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubestash/backupview/hack/release/krew"
)

const (
	pluginPkg  = "./cmd/kubectl-backupview"
	versionVar = "github.com/kubestash/backupview/pkg/version.Version"
	sumsFile   = "SHA256SUMS"
	chartCmd   = "hack/package-chart.sh"
)

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
	flag.StringVar(&platforms, "platforms", strings.Join(krew.AllPlatforms, ","), `comma-separated os/arch list; "host" is this machine's`)
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
		if !slices.Contains(krew.AllPlatforms, p) {
			return fmt.Errorf("platform %s: not one of %s", p, strings.Join(krew.AllPlatforms, ", "))
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
		bin := krew.Binary
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
		archive := filepath.Join(o.Out, krew.ArchiveName(o.Tag, goos, arch))
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
	manifest, err := krew.Render(string(tmpl), o.Tag, sums, len(o.Platforms) < len(krew.AllPlatforms))
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
