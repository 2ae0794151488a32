package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// Source is the image's source label.
	Source = "https://github.com/kubestash/backupview"
	// License is the image's licenses label (SPDX).
	License = "Apache-2.0"
	// NonRoot is the uid and gid the image runs as (distroless's nonroot).
	NonRoot = 65532
	// versionVar is the variable -X sets to the version.
	versionVar = "github.com/kubestash/backupview/pkg/version.Version"
)

// The OCI annotation and label keys (image-spec annotations.md).
const (
	LabelTitle    = "org.opencontainers.image.title"
	LabelVersion  = "org.opencontainers.image.version"
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelLicenses = "org.opencontainers.image.licenses"
	LabelCreated  = "org.opencontainers.image.created"
	refName       = "org.opencontainers.image.ref.name"
	containerdRef = "io.containerd.image.name"
)

// Platform is an os/arch pair.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatform parses os/arch.
func ParsePlatform(s string) (Platform, error) {
	goos, arch, ok := strings.Cut(s, "/")
	if !ok || goos == "" || arch == "" || strings.Contains(arch, "/") {
		return Platform{}, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", s)
	}
	return Platform{goos, arch}, nil
}

// Options say what to build and where to write it.
type Options struct {
	Pkg       string // the Go main package, relative to Dir (./cmd/backupview-apiserver)
	Binary    string // its name at the image's root (default: Pkg's last element)
	Repo      string // image name without the tag
	Tag       string
	Version   string // stamped into the binary (-X pkg/version.Version) and the version label
	Platforms []Platform
	Out       string // output directory
	TarPrefix string // per-platform tarballs are <prefix>-<os>-<arch>.tar (default: Binary)
	OCI       bool   // write Out/oci and Out/digest
	Revision  string // the source's commit
	Created   time.Time
	Dir       string // directory go build runs in (default: the current one)
	Go        string // the go command (default: "go")
}

// Result is what Build wrote.
type Result struct {
	IndexDigest  string              // "" without OCI
	OCITarball   string              // the OCI layout as one tar ("" without OCI)
	ImageDigests map[Platform]string // each platform's image manifest digest
	Tarballs     map[Platform]string // each platform's docker-archive
}

// Build cross-builds o.Pkg for each platform, makes each image and writes them.
func Build(ctx context.Context, o Options) (*Result, error) {
	if len(o.Platforms) == 0 {
		return nil, fmt.Errorf("no platforms")
	}
	if o.Binary == "" {
		o.Binary = path.Base(filepath.ToSlash(o.Pkg))
	}
	if o.TarPrefix == "" {
		o.TarPrefix = o.Binary
	}
	if o.Go == "" {
		o.Go = "go"
	}
	tag, err := name.NewTag(o.Repo+":"+o.Tag, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("image name: %w", err)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "backupview-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	res := &Result{ImageDigests: map[Platform]string{}, Tarballs: map[Platform]string{}}
	var adds []mutate.IndexAddendum
	for _, p := range o.Platforms {
		bin := filepath.Join(work, p.OS+"-"+p.Arch, o.Binary)
		if err := goBuild(ctx, o, p, bin); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		img, err := Image(o, p, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		res.ImageDigests[p] = d.String()
		tb := filepath.Join(o.Out, fmt.Sprintf("%s-%s-%s.tar", o.TarPrefix, p.OS, p.Arch))
		if err := writeAtomically(tb, func(tmp string) error { return tarball.WriteToFile(tmp, tag, img) }); err != nil {
			return nil, fmt.Errorf("%s: %w", tb, err)
		}
		res.Tarballs[p] = tb
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}}})
	}
	if !o.OCI {
		return res, nil
	}
	idx := Index(o, adds)
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	res.IndexDigest = d.String()
	dir := filepath.Join(o.Out, "oci")
	// A fresh layout: blobs of earlier builds would linger in one that is appended to.
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		refName:       o.Tag,
		containerdRef: tag.String(),
	})); err != nil {
		return nil, err
	}
	// The layout as one tar: `ctr images import` keeps its index, so the image's digest in
	// containerd is the digest file's (a docker-archive import gets a manifest of its own).
	res.OCITarball = filepath.Join(o.Out, o.TarPrefix+"-oci.tar")
	if err := writeAtomically(res.OCITarball, func(tmp string) error { return TarDir(dir, tmp, o.Created) }); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, "digest"), []byte(res.IndexDigest), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// TarDir writes the files under dir into the tar file dst, in path order, with fixed headers
// (mtime, owner root, modes 0755 and 0644).
func TarDir(dir, dst string, mtime time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, p := range names {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime.UTC(), Format: tar.FormatUSTAR}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		r, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, r)
		r.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// goBuild builds o.Pkg for p into dst: static, reproducible (-trimpath, no build ID, no VCS
// stamp; GOAMD64 and GOARM64 at their defaults whatever the environment says).
func goBuild(ctx context.Context, o Options, p Platform, dst string) error {
	ldflags := "-s -w -buildid= -X " + versionVar + "=" + o.Version
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", dst, o.Pkg)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, ">> go build %s for %s\n", o.Pkg, p)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w", o.Pkg, p, err)
	}
	return nil
}

// Image is one platform's image: an empty base, one layer with the binary, /etc/passwd and
// /etc/group, and a config that runs the binary as nonroot.
func Image(o Options, p Platform, binary []byte) (v1.Image, error) {
	layer, err := RootLayer(o.Binary, binary, o.Created)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: o.Created},
			CreatedBy: "hack/image: /" + o.Binary + " (go build " + o.Pkg + "), /etc/passwd, /etc/group",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", NonRoot, NonRoot),
		Entrypoint: []string{"/" + o.Binary},
		WorkingDir: "/home/nonroot",
		Labels:     Labels(o),
	}
	return mutate.ConfigFile(img, cf)
}

// Labels are the image's OCI labels (and the index's annotations).
func Labels(o Options) map[string]string {
	return map[string]string{
		LabelTitle:    o.Binary,
		LabelVersion:  o.Version,
		LabelSource:   Source,
		LabelRevision: o.Revision,
		LabelLicenses: License,
		LabelCreated:  o.Created.UTC().Format(time.RFC3339),
	}
}

// Index is the OCI image index of the platforms' images, annotated as the images are labelled.
func Index(o Options, adds []mutate.IndexAddendum) v1.ImageIndex {
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return mutate.Annotations(idx, Labels(o)).(v1.ImageIndex)
}

// The files of the root layer besides the binary.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// RootLayer is the image's one layer: /etc/passwd, /etc/group, /home/nonroot (the nonroot
// user's, for the server's self-signed serving certificate when none is mounted), /tmp and
// /BINARY (0755). Every header is fixed: mtime, owner, no user or group names, USTAR.
func RootLayer(binaryName string, binary []byte, mtime time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	type entry struct {
		name     string
		mode     int64
		uid, gid int
		data     []byte
	}
	entries := []entry{
		{name: binaryName, mode: 0o755, data: binary},
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: NonRoot, gid: NonRoot},
		{name: "tmp/", mode: 0o1777},
	}
	// In path order: each directory before its contents.
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: mtime.UTC(),
			Format:  tar.FormatUSTAR,
		}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.DefaultCompression),
		tarball.WithCompressedCaching)
}

// writeAtomically has write make tmp beside file, then renames it over file.
func writeAtomically(file string, write func(tmp string) error) error {
	tmp := file + ".tmp"
	if err := write(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, file)
}
