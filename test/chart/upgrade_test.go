package chart

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/controlplane"
)

// tls.type=helm keeps its certificate across upgrades: installed into a real kube-apiserver,
// then upgraded (unchanged, and with a changed value), the Secret, the pod template's checksum
// and, rendered against the cluster (--dry-run=server, which runs lookup), the APIService's
// caBundle stay what the install made, and an unchanged upgrade does not touch the Deployment.
// Only a deleted Secret brings a new certificate, with a new checksum (the pods roll) and the
// new CA in the APIService. The APIService itself is left out of the installed release
// (apiService.create=false): with no server behind it, it would make discovery fail for every
// client, helm included.
func TestUpgradeKeepsCertificate(t *testing.T) {
	h := tool(t, "helm", "helm")
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kubectl"} {
		tool(t, b, "control-plane")
	}
	if !integration() {
		t.Skip("starts a control plane: BACKUPVIEW_INTEGRATION=1 (make test)")
	}
	cp, err := controlplane.Open(controlplane.Config{Dir: filepath.Join(t.TempDir(), "cluster"), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Down(!t.Failed()); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := cp.Up(ctx); err != nil {
		t.Fatal(err)
	}
	kubeconfig := cp.Kubeconfig("")
	// helm's own configuration and caches stay in the test's directory.
	home := t.TempDir()
	env := append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CONFIG_HOME="+home+"/config", "HELM_CACHE_HOME="+home+"/cache", "HELM_DATA_HOME="+home+"/data")
	helmRun := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, h, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kubectl := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, cp.Kubectl(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	type state struct {
		ca, crt, key string // base64, as stored
		checksum     string
		generation   int64
	}
	read := func() state {
		t.Helper()
		var sec struct {
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal(kubectl("-n", "backupview", "get", "secret", "backupview-serving-cert", "-o", "json"), &sec); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Metadata struct{ Generation int64 }
			Spec     struct {
				Template struct {
					Metadata struct{ Annotations map[string]string }
				}
			}
		}
		if err := json.Unmarshal(kubectl("-n", "backupview", "get", "deployment", "backupview", "-o", "json"), &d); err != nil {
			t.Fatal(err)
		}
		s := state{sec.Data["ca.crt"], sec.Data["tls.crt"], sec.Data["tls.key"], d.Spec.Template.Metadata.Annotations["checksum/serving-cert"], d.Metadata.Generation}
		if s.ca == "" || s.crt == "" || s.key == "" || s.checksum == "" {
			t.Fatalf("Secret or checksum missing: %+v", s)
		}
		return s
	}
	// caBundle renders the chart against the cluster (lookup runs) and returns the
	// APIService's caBundle.
	caBundle := func() string {
		t.Helper()
		out := helmRun("upgrade", "backupview", chartDir, "-n", "backupview", "--reuse-values", "--set", "apiService.create=true", "--dry-run=server")
		i, j := strings.Index(out, "MANIFEST:"), strings.LastIndex(out, "NOTES:")
		if i < 0 || j < i {
			t.Fatalf("no MANIFEST and NOTES in:\n%s", out)
		}
		var as apiService
		get(t, parse(t, out[i+len("MANIFEST:"):j]), "APIService", "v1alpha1.ui.kubestash.com", &as)
		return string(as.Spec.CABundle)
	}
	b64 := func(s string) string {
		t.Helper()
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	helmRun("install", "backupview", chartDir, "-n", "backupview", "--create-namespace", "--set", "apiService.create=false")
	installed := read()
	if got := caBundle(); got != b64(installed.ca) {
		t.Errorf("after install: the APIService would trust %q, not the Secret's CA", got)
	}

	helmRun("upgrade", "backupview", chartDir, "-n", "backupview", "--reuse-values")
	if got := read(); got != installed {
		t.Errorf("an unchanged upgrade changed the certificate or the Deployment:\nbefore %+v\nafter  %+v", installed, got)
	}
	helmRun("upgrade", "backupview", chartDir, "-n", "backupview", "--reuse-values", "--set", "replicaCount=3")
	if got := read(); got.ca != installed.ca || got.crt != installed.crt || got.key != installed.key || got.checksum != installed.checksum {
		t.Errorf("an upgrade of replicaCount changed the certificate or its checksum:\nbefore %+v\nafter  %+v", installed, got)
	}
	if got := caBundle(); got != b64(installed.ca) {
		t.Error("after upgrades: the APIService's caBundle is not the kept CA")
	}

	kubectl("-n", "backupview", "delete", "secret", "backupview-serving-cert")
	helmRun("upgrade", "backupview", chartDir, "-n", "backupview", "--reuse-values")
	renewed := read()
	if renewed.ca == installed.ca || renewed.crt == installed.crt || renewed.checksum == installed.checksum {
		t.Errorf("a deleted Secret: the upgrade kept the old certificate or checksum:\nbefore %+v\nafter  %+v", installed, renewed)
	}
	if got := caBundle(); got != b64(renewed.ca) {
		t.Error("after a new certificate: the APIService's caBundle is not its CA")
	}
}
