package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubestash/backupview/hack/release/krew"
)

var mtime = time.Date(2026, 7, 1, 12, 30, 0, 0, time.UTC)

func readTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "krew", "backupview.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeSums are made-up sums of every platform's archive for the tag.
func fakeSums(tag string) map[string]string {
	sums := map[string]string{}
	for i, p := range krew.AllPlatforms {
		goos, arch, _ := strings.Cut(p, "/")
		sums[krew.ArchiveName(tag, goos, arch)] = strings.Repeat(string(rune('a'+i)), 64)
	}
	return sums
}

// TestRenderManifest: the template renders to a manifest of the tag whose every platform
// (windows/arm64 too) has its archive's release URL and that archive's sum.
func TestRenderManifest(t *testing.T) {
	sums := fakeSums("v1.2.3")
	out, err := krew.Render(readTemplate(t), "v1.2.3", sums, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := krew.Parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if m.Spec.Version != "v1.2.3" || len(m.Spec.Platforms) != len(krew.AllPlatforms) {
		t.Fatalf("version %q, %d platforms:\n%s", m.Spec.Version, len(m.Spec.Platforms), out)
	}
	for i, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		if goos+"/"+arch != krew.AllPlatforms[i] {
			t.Errorf("platform %d: %s/%s, want %s", i, goos, arch, krew.AllPlatforms[i])
		}
		archive := krew.ArchiveName("v1.2.3", goos, arch)
		if p.URI != "https://github.com/kubestash/backupview/releases/download/v1.2.3/"+archive || p.SHA256 != sums[archive] {
			t.Errorf("%s/%s: uri %s sha256 %s", goos, arch, p.URI, p.SHA256)
		}
	}
	if strings.Contains(string(out), "{{") {
		t.Errorf("an action is left:\n%s", out)
	}

	// An archive not built is an error...
	delete(sums, krew.ArchiveName("v1.2.3", "windows", "arm64"))
	if _, err := krew.Render(readTemplate(t), "v1.2.3", sums, false); err == nil || !strings.Contains(err.Error(), "windows_arm64.zip") {
		t.Errorf("missing archive: %v", err)
	}
	// ...unless only some platforms were asked for: then the manifest lists those.
	only := map[string]string{krew.ArchiveName("v1.2.3", "linux", "arm64"): strings.Repeat("f", 64)}
	out, err = krew.Render(readTemplate(t), "v1.2.3", only, true)
	if err != nil {
		t.Fatal(err)
	}
	m, err = krew.Parse(out)
	if err != nil || len(m.Spec.Platforms) != 1 || m.Spec.Platforms[0].SHA256 != strings.Repeat("f", 64) ||
		m.Spec.Platforms[0].Selector.MatchLabels["arch"] != "arm64" || m.Spec.Version != "v1.2.3" {
		t.Errorf("partial: %v %+v\n%s", err, m, out)
	}
	if _, err := krew.Render(readTemplate(t), "v1.2.3", nil, true); err == nil {
		t.Error("no archive at all: no error")
	}
}

// TestArchivesAreDeterministic: the same files give the same bytes; the tar.gz and zip hold
// the files with their modes and the fixed time, owned by root.
func TestArchivesAreDeterministic(t *testing.T) {
	files := []file{{"kubectl-backupview", 0o755, []byte("binary")}, {"LICENSE", 0o644, []byte("license")}}
	a, err := TarGz(files, mtime)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	b, _ := TarGz(files, mtime)
	if !bytes.Equal(a, b) {
		t.Error("tar.gz differs between two runs")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, mtime %s", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	for _, f := range files {
		h, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Name != f.name || h.Mode != f.mode || !h.ModTime.Equal(mtime) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || string(data) != string(f.data) {
			t.Errorf("tar member %+v %q", h, data)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more members: %v", err)
	}

	z := Zip(files, mtime)
	if !bytes.Equal(z, Zip(files, mtime)) {
		t.Error("zip differs between two runs")
	}
	r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != len(files) {
		t.Fatalf("%d zip members", len(r.File))
	}
	for i, zf := range r.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if zf.Name != files[i].name || zf.Mode().Perm() != os.FileMode(files[i].mode) || !zf.Modified.Equal(mtime) || string(data) != string(files[i].data) {
			t.Errorf("zip member %s mode %s modified %s %q", zf.Name, zf.Mode(), zf.Modified, data)
		}
	}
}

// TestSums: every file but the skipped ones, by name, in hex.
func TestSums(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"a.tar.gz": "abc", "SHA256SUMS": "x", "backupview.yaml": "y"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := Sums(dir, "SHA256SUMS", "backupview.yaml")
	if err != nil || len(sums) != 1 || sums["a.tar.gz"] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("%v %v", sums, err)
	}
}
