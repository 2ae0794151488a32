// Command image builds backupview-apiserver's container image without a Docker daemon or a
// registry (`make image`): it cross-builds the server for each platform, packs each static
// binary into a one-layer image on an empty base (no base image to pull), and writes
//
//	OUT/oci/                                 an OCI image layout: an index of every platform
//	OUT/digest                               that index's digest (sha256:...)
//	OUT/<prefix>-oci.tar                     that layout as one tar: `ctr -n k8s.io images
//	                                         import` keeps the index, and so the digest
//	OUT/<prefix>-<os>-<arch>.tar             per platform, a docker-archive tarball that
//	                                         `ctr -n k8s.io images import` and `docker load`
//	                                         take (containerd gives it a digest of its own)
//
// The same commit gives the same digest: the binary is built with -trimpath and no build ID,
// every tar header is fixed (mtime SOURCE_DATE_EPOCH, default the HEAD commit's time; owner
// root, except the nonroot user's home) and the config's times are that same time.
//
// `make pause-image` runs it on hack/image/pause for the test node's pause image.
//
// This is build tooling: nothing under pkg/ imports it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	var o Options
	var platforms string
	flag.StringVar(&o.Pkg, "pkg", "./cmd/backupview-apiserver", "Go package (main) to build into the image")
	flag.StringVar(&o.Binary, "binary", "", "the binary's name at the image's root (default: the package's last element)")
	flag.StringVar(&o.Repo, "image", "ghcr.io/kubestash/backupview", "image name without the tag")
	flag.StringVar(&o.Tag, "tag", "", "image tag (default: $VERSION, else git describe --tags --always --dirty)")
	flag.StringVar(&o.Version, "version", "", "version stamped into the binary and the version label (default: the tag)")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", `comma-separated os/arch list; "host" is linux and this machine's architecture`)
	flag.StringVar(&o.Out, "out", "_output/image", "output directory")
	flag.StringVar(&o.TarPrefix, "tar-prefix", "", "per-platform tarballs are <prefix>-<os>-<arch>.tar (default: the binary's name)")
	flag.BoolVar(&o.OCI, "oci", true, "write the OCI layout (OUT/oci) and its index digest (OUT/digest)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "image: no arguments expected; see -help")
		os.Exit(2)
	}
	if err := complete(&o, platforms); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	res, err := Build(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	if res.IndexDigest != "" {
		fmt.Printf("%s:%s  index %s  %s, %s\n", o.Repo, o.Tag, res.IndexDigest, filepath.Join(o.Out, "oci"), res.OCITarball)
	}
	for _, p := range o.Platforms {
		fmt.Printf("%s:%s  %s  image %s  %s\n", o.Repo, o.Tag, p, res.ImageDigests[p], res.Tarballs[p])
	}
}

// complete fills in the defaults that come from the environment and git.
func complete(o *Options, platforms string) error {
	for _, p := range strings.Split(platforms, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "host" {
			p = "linux/" + runtime.GOARCH
		}
		pl, err := ParsePlatform(p)
		if err != nil {
			return err
		}
		o.Platforms = append(o.Platforms, pl)
	}
	if o.Tag == "" {
		o.Tag = os.Getenv("VERSION")
	}
	if o.Tag == "" {
		o.Tag = git("describe", "--tags", "--always", "--dirty")
	}
	if o.Tag == "" {
		o.Tag = "v0.1.0-dev"
	}
	if o.Version == "" {
		o.Version = o.Tag
	}
	o.Revision = git("rev-parse", "HEAD")
	if o.Revision == "" {
		o.Revision = "unknown"
	}
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		epoch = git("log", "-1", "--format=%ct", "HEAD")
	}
	if epoch == "" {
		fmt.Fprintln(os.Stderr, "image: no SOURCE_DATE_EPOCH and no git commit: the image's times are 1970-01-01")
		epoch = "0"
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", epoch, err)
	}
	o.Created = time.Unix(sec, 0).UTC()
	return nil
}

// git runs git in the working directory and returns its trimmed output, "" on failure.
func git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
