// Package release tests the kubectl plugin as its users get it: hack/release builds the
// archive and renders the Krew manifest, the real Krew (built by hack/build-krew.sh) installs
// them, and kubectl runs the installed plugin against a real control plane with backupview.
// `make test` runs it (BACKUPVIEW_INTEGRATION=1).
package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/kubestash/backupview/hack/release/krew"
	"github.com/kubestash/backupview/test/harness"
)

// tag is the release the test builds: a version no other build has, so the plugin that
// answers `version` is the one Krew installed.
const tag = "v0.0.0-krewtest"

func readManifest(t *testing.T, file string) *krew.Manifest {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := krew.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v\n%s", file, err, b)
	}
	return m
}

func fileSHA256(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkSums: every platform of the manifest in dir names an archive in dir whose sha256 is
// the manifest's and SHA256SUMS's. It returns the archives by os/arch.
func checkSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := readManifest(t, filepath.Join(dir, "backupview.yaml"))
	sums := map[string]string{}
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		sums[name] = sum
	}
	if m.Metadata.Name != "backupview" || len(m.Spec.Platforms) == 0 {
		t.Fatalf("%s: %+v", dir, m)
	}
	archives := map[string]string{}
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		name := filepath.Base(p.URI)
		if name != krew.ArchiveName(m.Spec.Version, goos, arch) || !strings.HasPrefix(p.URI, "https://github.com/kubestash/backupview/releases/download/"+m.Spec.Version+"/") {
			t.Errorf("%s/%s: uri %s", goos, arch, p.URI)
		}
		archive := filepath.Join(dir, name)
		got := fileSHA256(t, archive)
		if p.SHA256 != got || sums[name] != got {
			t.Errorf("%s: sha256 %s, the manifest says %s, SHA256SUMS %s", name, got, p.SHA256, sums[name])
		}
		archives[goos+"/"+arch] = archive
	}
	return archives
}

// TestKrewInstall: the release for this machine installs with `kubectl krew install
// --manifest --archive`, and `kubectl backupview describe` through Krew's link shows the
// view of a real cluster.
func TestKrewInstall(t *testing.T) {
	if !harness.Enabled() {
		t.Skip("release test: needs the control plane and Krew; run `make test` (sets BACKUPVIEW_INTEGRATION=1)")
	}
	root := harness.RepoRoot()
	bin := filepath.Join(root, "_output", "bin")
	for _, b := range []string{"kubectl", "kubectl-krew", "etcd", "kube-apiserver", "kube-controller-manager", "backupview-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Skipf("%s missing: run `make build control-plane krew` (or `make test`)", filepath.Join(bin, b))
		}
	}
	host := runtime.GOOS + "/" + runtime.GOARCH

	// `make release`'s output, when there is one: every archive has the manifest's sum.
	if _, err := os.Stat(filepath.Join(root, "_output", "release", "backupview.yaml")); err == nil {
		if got := checkSums(t, filepath.Join(root, "_output", "release")); len(got) != 6 {
			t.Errorf("_output/release: %d platforms, want 6", len(got))
		}
	}

	// This machine's release, as `make release` builds it (less the chart).
	rel := t.TempDir()
	cmd := exec.Command("go", "run", "./hack/release", "-platforms", host, "-tag", tag, "-out", rel, "-chart-script", "")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/release: %v\n%s", err, out)
	}
	archives := checkSums(t, rel)
	archive := archives[host]
	if len(archives) != 1 || archive == "" {
		t.Fatalf("release for %s: %v", host, archives)
	}

	krewRoot := t.TempDir()
	run := func(path string, args ...string) (string, error) {
		return kubectlKrew(bin, krewRoot, path, args...)
	}
	// Krew checks the archive against the manifest's sha256: a manifest with another sum is
	// refused, so the install below vouches for the rendered sum.
	bad, err := os.ReadFile(filepath.Join(rel, "backupview.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	badSum := strings.Repeat("ab", 32)
	bad = regexp.MustCompile(`sha256: [0-9a-f]{64}`).ReplaceAll(bad, []byte("sha256: "+badSum))
	if err := os.WriteFile(filepath.Join(rel, "bad.yaml"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectlKrew(bin, t.TempDir(), bin+string(os.PathListSeparator)+os.Getenv("PATH"), "krew", "install", "--manifest="+filepath.Join(rel, "bad.yaml"), "--archive="+archive); err == nil || !strings.Contains(out, "checksum does not match, want: "+badSum) {
		t.Errorf("kubectl krew install of a manifest with another sum: %v\n%s", err, out)
	}

	// Krew's bin on PATH, as its setup instructions ask; kubectl-krew in _output/bin.
	krewPath := strings.Join([]string{filepath.Join(krewRoot, "bin"), bin, os.Getenv("PATH")}, string(os.PathListSeparator))
	out, err := run(krewPath, "krew", "install", "--manifest="+filepath.Join(rel, "backupview.yaml"), "--archive="+archive)
	if err != nil || !strings.Contains(out, `Installed plugin: backupview`) {
		t.Fatalf("kubectl krew install: %v\n%s", err, out)
	}
	// Krew links the plugin into KREW_ROOT/bin from its store, under the manifest's version.
	link := filepath.Join(krewRoot, "bin", "kubectl-backupview")
	target, err := filepath.EvalSymlinks(link)
	wantDir, _ := filepath.EvalSymlinks(filepath.Join(krewRoot, "store", "backupview", tag))
	if err != nil || filepath.Dir(target) != wantDir {
		t.Fatalf("%s -> %s (%v), want a file in %s", link, target, err, wantDir)
	}
	// krew list and uninstall want a plugin index, a git clone of krew-index; the test has
	// no network, so the default index is an empty local repository.
	if _, err := exec.LookPath("git"); err == nil {
		if out, err := exec.Command("git", "init", "-q", filepath.Join(krewRoot, "index", "default")).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v\n%s", err, out)
		}
		// (A plugin installed from a manifest of its own is in the "detached" index.)
		if out, err := run(krewPath, "krew", "list"); err != nil || !regexp.MustCompile(`(?m)^detached/backupview$`).MatchString(out) {
			t.Errorf("kubectl krew list: %v\n%s", err, out)
		}
	} else {
		t.Log("no git: not trying krew list and uninstall")
	}

	c, err := harness.Start(harness.Options{Fixtures: []string{"hack/demo/samples.yaml"}})
	if err != nil {
		c.Stop(true)
		t.Fatal("control plane:", err)
	}
	defer func() { c.Stop(t.Failed()) }()

	// As a user runs it: Krew's bin first on PATH, then kubectl's; the kubeconfig from the
	// environment (kubectl takes no flags before a plugin's name).
	userPath := filepath.Join(krewRoot, "bin") + string(os.PathListSeparator) + bin
	kubectl := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, "kubectl"), args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig(""), "KREW_ROOT="+krewRoot, "PATH="+userPath)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if err != nil {
			return out.String() + errOut.String(), err
		}
		return out.String(), nil
	}
	if out, err := kubectl("backupview", "version"); err != nil || out != "kubectl-backupview "+tag+"\n" {
		t.Errorf("kubectl backupview version: %v %q: not the release Krew installed", err, out)
	}
	out, err = kubectl("backupview", "describe", "-n", "demo", "mongodb-backup")
	if err != nil {
		t.Fatalf("kubectl backupview describe: %v\n%s", err, out)
	}
	health, err := c.TableHealth("demo", "mongodb-backup")
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(out, "\n"); first != "Health:   "+health {
		t.Errorf("first line %q, want the Table's HEALTH %s:\n%s", first, health, out)
	}
	for _, want := range []string{"\nBasic:\n", "  Name:          mongodb-backup\n", "\nRepository:\n", "mongodb-repo", "\nCronJobs:\n", "trigger-mongodb-backup-full-backup"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}

	// And Krew removes it again.
	if _, err := exec.LookPath("git"); err != nil {
		return
	}
	if out, err := run(krewPath, "krew", "uninstall", "backupview"); err != nil {
		t.Errorf("kubectl krew uninstall: %v\n%s", err, out)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("%s after uninstall: %v", link, err)
	}
}

// kubectlKrew runs bin's `kubectl ARGS` with Krew's root in krewRoot and PATH path (where kubectl
// finds kubectl-krew).
func kubectlKrew(bin, krewRoot, path string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KREW_ROOT="+krewRoot, "KREW_NO_UPGRADE_CHECK=1", "PATH="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
