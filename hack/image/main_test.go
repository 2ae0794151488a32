package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var (
	linuxAMD64 = Platform{"linux", "amd64"}
	linuxARM64 = Platform{"linux", "arm64"}
	created    = time.Date(2026, 7, 1, 12, 30, 0, 0, time.UTC)
)

// options build testdata/tiny, a small stand-in for the server, for both platforms into out.
func options(out string) Options {
	return Options{
		Pkg:       "./testdata/tiny",
		Binary:    "backupview-apiserver",
		Repo:      "ghcr.io/kubestash/backupview",
		Tag:       "v1.2.3-test",
		Version:   "v1.2.3-test",
		Platforms: []Platform{linuxAMD64, linuxARM64},
		Out:       out,
		OCI:       true,
		Revision:  "0123456789abcdef0123456789abcdef01234567",
		Created:   created,
	}
}

var (
	firstOnce sync.Once
	firstDir  string
	firstRes  *Result
	firstErr  error
)

// first is one build of options, shared by the tests that only read it.
func first(t *testing.T) (string, *Result) {
	t.Helper()
	firstOnce.Do(func() {
		firstDir, firstErr = os.MkdirTemp("", "image-test-")
		if firstErr == nil {
			firstRes, firstErr = Build(context.Background(), options(firstDir))
		}
	})
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return firstDir, firstRes
}

func TestMain(m *testing.M) {
	code := m.Run()
	if firstDir != "" {
		os.RemoveAll(firstDir)
	}
	os.Exit(code)
}

func read(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSameDigestTwice: building the same source twice (other directories, other wall-clock
// times, binaries built again) gives the same index digest, the same OCI layout and the same
// tarballs; a different SOURCE_DATE_EPOCH gives another digest.
func TestSameDigestTwice(t *testing.T) {
	out1, res1 := first(t)
	time.Sleep(1100 * time.Millisecond) // a whole second later: no wall-clock time may leak in
	out2 := t.TempDir()
	res2, err := Build(context.Background(), options(out2))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := string(read(t, filepath.Join(out1, "digest"))), string(read(t, filepath.Join(out2, "digest")))
	if !strings.HasPrefix(d1, "sha256:") || len(d1) != len("sha256:")+64 || d1 != res1.IndexDigest {
		t.Fatalf("digest file %q, index %s", d1, res1.IndexDigest)
	}
	if d1 != d2 {
		t.Errorf("two builds of the same source: %s and %s", d1, d2)
	}
	for _, p := range []Platform{linuxAMD64, linuxARM64} {
		if res1.ImageDigests[p] != res2.ImageDigests[p] {
			t.Errorf("%s: image %s and %s", p, res1.ImageDigests[p], res2.ImageDigests[p])
		}
		name := "backupview-apiserver-linux-" + p.Arch + ".tar"
		if !bytes.Equal(read(t, filepath.Join(out1, name)), read(t, filepath.Join(out2, name))) {
			t.Errorf("%s differs between the builds", name)
		}
	}
	if !bytes.Equal(read(t, filepath.Join(out1, "oci", "index.json")), read(t, filepath.Join(out2, "oci", "index.json"))) {
		t.Error("oci/index.json differs between the builds")
	}
	if !bytes.Equal(read(t, res1.OCITarball), read(t, res2.OCITarball)) {
		t.Error("the OCI layout's tar differs between the builds")
	}

	o := options(t.TempDir())
	o.Created = created.Add(time.Second)
	o.Platforms = []Platform{linuxAMD64}
	res3, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res3.ImageDigests[linuxAMD64] == res1.ImageDigests[linuxAMD64] {
		t.Error("another source date, the same image: the date is not in the image")
	}
}

// TestIndexAndConfig: the layout's index names the tag and holds both platforms; each image
// runs its platform's binary as 65532 with the OCI labels, and its layer is the binary,
// /etc/passwd and /etc/group with fixed headers.
func TestIndexAndConfig(t *testing.T) {
	out, res := first(t)
	lp, err := layout.FromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Digest.String() != res.IndexDigest ||
		tm.Manifests[0].Annotations[refName] != "v1.2.3-test" ||
		tm.Manifests[0].Annotations[containerdRef] != "ghcr.io/kubestash/backupview:v1.2.3-test" {
		t.Fatalf("index.json: %+v", tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != "application/vnd.oci.image.index.v1+json" || im.Annotations[LabelRevision] != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("index: %s %v", im.MediaType, im.Annotations)
	}
	var platforms []string
	for _, m := range im.Manifests {
		if m.Platform == nil {
			t.Fatalf("manifest %s without a platform", m.Digest)
		}
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		p := Platform{m.Platform.OS, m.Platform.Architecture}
		if m.Digest.String() != res.ImageDigests[p] {
			t.Errorf("%s: %s in the index, %s built", p, m.Digest, res.ImageDigests[p])
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, p, img)

		// The docker-archive holds the same image (the same config and layer) under the tag.
		tag, _ := name.NewTag("ghcr.io/kubestash/backupview:v1.2.3-test")
		timg, err := tarball.ImageFromPath(res.Tarballs[p], &tag)
		if err != nil {
			t.Fatalf("%s: %v", res.Tarballs[p], err)
		}
		want, _ := img.ConfigName()
		if got, err := timg.ConfigName(); err != nil || got != want {
			t.Errorf("%s: the tarball's config %s (%v), the layout's %s", p, got, err, want)
		}
		wl, _ := img.Layers()
		tl, err := timg.Layers()
		if err != nil || len(tl) != 1 {
			t.Fatalf("%s: tarball layers %d, %v", p, len(tl), err)
		}
		wd, _ := wl[0].Digest()
		if td, _ := tl[0].Digest(); td != wd {
			t.Errorf("%s: the tarball's layer %s, the layout's %s", p, td, wd)
		}
	}
	sort.Strings(platforms)
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %v", platforms)
	}

	// The layout's tar holds the layout: every file, byte for byte, with fixed headers.
	if res.OCITarball != filepath.Join(out, "backupview-apiserver-oci.tar") {
		t.Errorf("OCI tarball %s", res.OCITarball)
	}
	f, err := os.Open(res.OCITarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = true
		if !h.ModTime.Equal(created) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %s owner %d:%d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			if !bytes.Equal(b, read(t, filepath.Join(out, "oci", filepath.FromSlash(h.Name)))) {
				t.Errorf("%s differs from the layout's", h.Name)
			}
		}
	}
	for _, want := range []string{"oci-layout", "index.json", "blobs/sha256/" + strings.TrimPrefix(res.IndexDigest, "sha256:")} {
		if !seen[want] {
			t.Errorf("the OCI tarball lacks %s", want)
		}
	}
}

func checkImage(t *testing.T, p Platform, img v1.Image) {
	t.Helper()
	mt, _ := img.MediaType()
	if mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("%s: media type %s", p, mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != p.OS || cf.Architecture != p.Arch || !cf.Created.Time.Equal(created) ||
		c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/backupview-apiserver" {
		t.Errorf("%s: config %s/%s created %s user %q entrypoint %q", p, cf.OS, cf.Architecture, cf.Created, c.User, c.Entrypoint)
	}
	for k, v := range map[string]string{
		LabelTitle:    "backupview-apiserver",
		LabelVersion:  "v1.2.3-test",
		LabelSource:   "https://github.com/kubestash/backupview",
		LabelRevision: "0123456789abcdef0123456789abcdef01234567",
		LabelLicenses: "Apache-2.0",
		LabelCreated:  "2026-07-01T12:30:00Z",
	} {
		if c.Labels[k] != v {
			t.Errorf("%s: label %s = %q, want %q", p, k, c.Labels[k], v)
		}
	}
	for _, h := range cf.History {
		if !h.Created.Time.Equal(created) {
			t.Errorf("%s: history entry created %s", p, h.Created)
		}
	}

	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s: %d layers, %v", p, len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name], contents[h.Name] = h, b
		names = append(names, h.Name)
		if !h.ModTime.Equal(created) || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: %s: mtime %s, owner names %q %q", p, h.Name, h.ModTime, h.Uname, h.Gname)
		}
		owner := 0 // root, but for the nonroot user's home
		if h.Name == "home/nonroot/" {
			owner = NonRoot
		}
		if h.Uid != owner || h.Gid != owner {
			t.Errorf("%s: %s owned by %d:%d", p, h.Name, h.Uid, h.Gid)
		}
	}
	if got := strings.Join(names, " "); got != "backupview-apiserver etc/ etc/group etc/passwd home/ home/nonroot/ tmp/" {
		t.Errorf("%s: layer holds %s", p, got)
	}
	if h := files["backupview-apiserver"]; h == nil || h.Mode != 0o755 || h.Typeflag != tar.TypeReg {
		t.Errorf("%s: binary header %+v", p, h)
	}
	if h := files["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("%s: /tmp header %+v", p, h)
	}
	if !strings.Contains(string(contents["etc/passwd"]), "\nnonroot:x:65532:65532:") || !strings.HasPrefix(string(contents["etc/passwd"]), "root:x:0:0:") ||
		!strings.Contains(string(contents["etc/group"]), "\nnonroot:x:65532:\n") {
		t.Errorf("%s: passwd %q group %q", p, contents["etc/passwd"], contents["etc/group"])
	}
	// The binary is the platform's: a static ELF for its machine.
	f, err := elf.NewFile(bytes.NewReader(contents["backupview-apiserver"]))
	if err != nil {
		t.Fatalf("%s: binary: %v", p, err)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Arch]
	if f.Machine != want {
		t.Errorf("%s: binary for %s", p, f.Machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s: binary is dynamically linked", p)
		}
	}
}

// TestNoOCI: with OCI off (the pause image) only the tarball is written.
func TestNoOCI(t *testing.T) {
	out := t.TempDir()
	o := options(out)
	o.OCI, o.Platforms, o.Binary, o.TarPrefix = false, []Platform{linuxAMD64}, "", "pause"
	o.Repo, o.Tag = "backupview.local/pause", "3.10"
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 || entries[0].Name() != "pause-linux-amd64.tar" || res.IndexDigest != "" {
		t.Fatalf("wrote %v", entries)
	}
	tag, _ := name.NewTag("backupview.local/pause:3.10")
	img, err := tarball.ImageFromPath(filepath.Join(out, "pause-linux-amd64.tar"), &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/tiny" || cf.Config.Labels[LabelTitle] != "tiny" {
		t.Errorf("pause config %+v %v", cf, err)
	}
}

func TestParsePlatform(t *testing.T) {
	for in, ok := range map[string]bool{"linux/amd64": true, "linux": false, "/amd64": false, "linux/arm/v7": false} {
		if _, err := ParsePlatform(in); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}
