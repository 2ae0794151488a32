// Package chart tests the Helm chart deploy/helm/backupview with the helm CLI from
// _output/bin (`make helm`; `make test` builds it): `helm lint --strict`, what the values
// schema rejects, what each tls.type renders (decoded and checked: the certificate chain, the
// APIService's trust, the names), the availability and security defaults, the monitoring
// objects against their one source each (files/), and that deploy/ is the chart's rendering.
// Without helm the tests skip, except under `make test` (BACKUPVIEW_INTEGRATION=1), where they
// fail. TestUpgradeKeepsCertificate also needs the control plane (`make control-plane`).
package chart

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var (
	root     = repoRoot()
	chartDir = filepath.Join(root, "deploy", "helm", "backupview")
)

// repoRoot is the repository root (this file is test/chart/chart_test.go).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "../.."))
}

func integration() bool { return os.Getenv("BACKUPVIEW_INTEGRATION") != "" }

// tool is _output/bin/NAME, or skips (fails under `make test`, which builds it) when absent.
func tool(t *testing.T, name, target string) string {
	t.Helper()
	p := filepath.Join(root, "_output", "bin", name)
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("%s is absent from _output/bin: run `make %s` (`make test` builds it)", name, target)
		if integration() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// helm runs the helm CLI; stdout, and stderr with the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "helm", "helm"), args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), err
}

// object is one rendered manifest.
type object struct {
	Kind, Namespace, Name string
	JSON                  []byte
}

func (o object) key() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// parse splits a multi-document YAML stream into objects (empty documents left out).
func parse(t *testing.T, stream string) []object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	var objs []object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		var m struct {
			Kind     string `json:"kind"`
			Metadata struct{ Namespace, Name string }
		}
		if string(j) == "null" {
			continue
		}
		if err := yaml.Unmarshal(j, &m); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, object{m.Kind, m.Metadata.Namespace, m.Metadata.Name, j})
	}
}

// templateArgs renders release backupview in namespace ns with the given --set values.
func templateArgs(ns string, sets ...string) []string {
	args := []string{"template", "backupview", chartDir, "--namespace", ns}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// render is the chart's objects for release backupview in namespace backupview.
func render(t *testing.T, sets ...string) []object {
	t.Helper()
	return renderIn(t, "backupview", sets...)
}

func renderIn(t *testing.T, ns string, sets ...string) []object {
	t.Helper()
	out, err := helm(t, templateArgs(ns, sets...)...)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, out)
}

// get decodes the object of that kind and name into into (zeroed first: decoding into a
// used struct would keep fields the object lacks), or fails.
func get(t *testing.T, objs []object, kind, name string, into any) {
	t.Helper()
	v := reflect.ValueOf(into).Elem()
	v.Set(reflect.Zero(v.Type()))
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			if err := yaml.Unmarshal(o.JSON, into); err != nil {
				t.Fatalf("%s: %v", o.key(), err)
			}
			return
		}
	}
	t.Fatalf("no %s %s in the rendering (has %v)", kind, name, keys(objs))
}

func has(objs []object, kind, name string) bool {
	return slices.ContainsFunc(objs, func(o object) bool { return o.Kind == kind && o.Name == name })
}

func keys(objs []object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.key())
	}
	sort.Strings(ks)
	return ks
}

// apiService is the part of apiregistration.k8s.io/v1 APIService the chart sets.
type apiService struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Group                 string `json:"group"`
		Version               string `json:"version"`
		GroupPriorityMinimum  int    `json:"groupPriorityMinimum"`
		VersionPriority       int    `json:"versionPriority"`
		CABundle              []byte `json:"caBundle"`
		InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify"`
		Service               struct {
			Name, Namespace string
			Port            int32
		} `json:"service"`
	} `json:"spec"`
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "backupview" {
			return c
		}
	}
	t.Fatal("no backupview container")
	return corev1.Container{}
}

func servingSecretVolume(t *testing.T, d *appsv1.Deployment) string {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "serving-cert" && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatal("no serving-cert Secret volume")
	return ""
}

func svcNames(ns string) []string {
	return []string{"backupview." + ns + ".svc", "backupview." + ns + ".svc.cluster.local"}
}

func parseCert(t *testing.T, what string, b []byte) *x509.Certificate {
	t.Helper()
	p, _ := pem.Decode(b)
	if p == nil || p.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate: %q", what, b)
	}
	c, err := x509.ParseCertificate(p.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return c
}

// `helm lint --strict` passes for every tls.type, with monitoring on, and with the opt-ins.
func TestLint(t *testing.T) {
	ca := testCAPEM(t)
	for name, sets := range map[string][]string{
		"helm":           {"tls.type=helm"},
		"cert-manager":   {"tls.type=cert-manager"},
		"existingSecret": {"tls.type=existingSecret", "tls.existingSecret.name=my-tls", "tls.existingSecret.caBundle=" + ca},
		"monitoring":     {"monitoring.serviceMonitor.enabled=true", "monitoring.prometheusRule.enabled=true", "monitoring.dashboard.enabled=true"},
		"opt-ins":        {"checkEncryptionSecrets=true", "replicaCount=1", "image.digest=sha256:" + strings.Repeat("ab", 32)},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir, "--namespace", "backupview"}
			for _, s := range sets {
				args = append(args, "--set", s)
			}
			out, err := helm(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("lint output: %s", out)
			}
		})
	}
}

// The values schema refuses what would render a broken release, naming the value.
func TestSchemaRejects(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"tls.type=bogus", "tls"},
		{"replicaCount=-1", "replicaCount"},
		{"replicaCount=0", "replicaCount"},
		{"image.pullPolicy=Sometimes", "pullPolicy"},
		{"image.digest=latest", "digest"},
		{"tls.type=existingSecret", "existingSecret"},
		{"noSuchValue=1", "noSuchValue"},
		{"extraArgs[0]=no-dashes", "extraArgs"},
	} {
		t.Run(c.set, func(t *testing.T) {
			_, err := helm(t, templateArgs("backupview", c.set)...)
			if err == nil {
				t.Fatalf("--set %s rendered; want the schema to refuse it", c.set)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("--set %s: the error does not name the schema and %q: %v", c.set, c.want, err)
			}
		})
	}
}

// tls.type=helm (the default): the APIService trusts exactly the CA that signed the Secret's
// serving certificate, the certificate is valid for the Service's DNS names in the release
// namespace (and its key matches), the Deployment mounts that Secret, and the pod template
// carries a checksum of the certificate.
func TestHelmTLS(t *testing.T) {
	var checksums []string
	for _, ns := range []string{"backupview", "other-ns"} {
		objs := renderIn(t, ns)
		var sec corev1.Secret
		get(t, objs, "Secret", "backupview-serving-cert", &sec)
		var as apiService
		get(t, objs, "APIService", "v1alpha1.ui.kubestash.com", &as)
		var d appsv1.Deployment
		get(t, objs, "Deployment", "backupview", &d)
		var svc corev1.Service
		get(t, objs, "Service", "backupview", &svc)

		if sec.Type != corev1.SecretTypeTLS || sec.Namespace != ns {
			t.Errorf("%s: Secret type %q namespace %q", ns, sec.Type, sec.Namespace)
		}
		if len(as.Spec.CABundle) == 0 || !bytes.Equal(as.Spec.CABundle, sec.Data["ca.crt"]) {
			t.Errorf("%s: the APIService's caBundle is not the Secret's ca.crt", ns)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(as.Spec.CABundle) {
			t.Fatalf("%s: caBundle holds no PEM certificate", ns)
		}
		ca := parseCert(t, "caBundle", as.Spec.CABundle)
		if !ca.IsCA {
			t.Errorf("%s: the caBundle's certificate is not a CA", ns)
		}
		cert := parseCert(t, "tls.crt", sec.Data["tls.crt"])
		for _, name := range svcNames(ns) {
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("%s: the serving certificate does not verify for %s with the APIService's caBundle: %v", ns, name, err)
			}
		}
		if _, err := tls.X509KeyPair(sec.Data["tls.crt"], sec.Data["tls.key"]); err != nil {
			t.Errorf("%s: tls.key does not match tls.crt: %v", ns, err)
		}
		if s := as.Spec.Service; s.Name != svc.Name || s.Namespace != ns || s.Port != svc.Spec.Ports[0].Port {
			t.Errorf("%s: the APIService points at %+v; the Service is %s/%s port %d", ns, s, svc.Namespace, svc.Name, svc.Spec.Ports[0].Port)
		}
		if as.Spec.InsecureSkipTLSVerify || as.Metadata.Annotations["cert-manager.io/inject-ca-from"] != "" {
			t.Errorf("%s: APIService insecureSkipTLSVerify %v, annotations %v", ns, as.Spec.InsecureSkipTLSVerify, as.Metadata.Annotations)
		}
		if got := servingSecretVolume(t, &d); got != sec.Name {
			t.Errorf("%s: the Deployment mounts Secret %s, not %s", ns, got, sec.Name)
		}
		sum := d.Spec.Template.Annotations["checksum/serving-cert"]
		if len(sum) != 64 {
			t.Errorf("%s: checksum/serving-cert %q, want a sha256", ns, sum)
		}
		checksums = append(checksums, sum)
	}
	// Each rendering without a cluster generates a new certificate: the checksum follows it.
	if checksums[0] == checksums[1] {
		t.Errorf("two different certificates have the same checksum %s", checksums[0])
	}
}

// tls.type=cert-manager: the Issuer/Certificate chain of deploy/certificates.yaml, the CA
// injector's annotation on the APIService and no caBundle, no Secret from the chart, and no
// checksum (cert-manager renews in place; the server reloads the files).
func TestCertManagerTLS(t *testing.T) {
	objs := render(t, "tls.type=cert-manager")
	var as apiService
	get(t, objs, "APIService", "v1alpha1.ui.kubestash.com", &as)
	if got := as.Metadata.Annotations["cert-manager.io/inject-ca-from"]; got != "backupview/backupview-serving-cert" {
		t.Errorf("inject-ca-from %q, want backupview/backupview-serving-cert", got)
	}
	if len(as.Spec.CABundle) != 0 || as.Spec.InsecureSkipTLSVerify {
		t.Errorf("caBundle %q insecureSkipTLSVerify %v: the injector fills caBundle", as.Spec.CABundle, as.Spec.InsecureSkipTLSVerify)
	}
	if has(objs, "Secret", "backupview-serving-cert") {
		t.Error("the chart renders the Secret cert-manager owns")
	}
	type certificate struct {
		Spec struct {
			SecretName string   `json:"secretName"`
			DNSNames   []string `json:"dnsNames"`
			IsCA       bool     `json:"isCA"`
			IssuerRef  struct{ Kind, Name string }
		}
	}
	type issuer struct {
		Spec struct {
			SelfSigned *struct{}                    `json:"selfSigned"`
			CA         *struct{ SecretName string } `json:"ca"`
		}
	}
	var serving, ca certificate
	get(t, objs, "Certificate", "backupview-serving-cert", &serving)
	var d appsv1.Deployment
	get(t, objs, "Deployment", "backupview", &d)
	if serving.Spec.SecretName != servingSecretVolume(t, &d) || !reflect.DeepEqual(serving.Spec.DNSNames, svcNames("backupview")) {
		t.Errorf("serving Certificate: Secret %s for %v; the Deployment mounts %s, the Service is %v", serving.Spec.SecretName, serving.Spec.DNSNames, servingSecretVolume(t, &d), svcNames("backupview"))
	}
	// serving <- CA Issuer (the CA Certificate's Secret) <- CA Certificate <- self-signed Issuer.
	var caIssuer, selfSigned issuer
	get(t, objs, "Issuer", serving.Spec.IssuerRef.Name, &caIssuer)
	get(t, objs, "Certificate", "backupview-ca", &ca)
	get(t, objs, "Issuer", ca.Spec.IssuerRef.Name, &selfSigned)
	if serving.Spec.IssuerRef.Kind != "Issuer" || caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName || !ca.Spec.IsCA || selfSigned.Spec.SelfSigned == nil {
		t.Errorf("the issuer chain is broken: serving issuer %+v, CA issuer %+v, CA certificate %+v, its issuer %+v", serving.Spec.IssuerRef, caIssuer.Spec, ca.Spec, selfSigned.Spec)
	}
	if _, ok := d.Spec.Template.Annotations["checksum/serving-cert"]; ok {
		t.Error("checksum/serving-cert with tls.type=cert-manager")
	}

	// A CA issuer of one's own replaces the chain.
	objs = render(t, "tls.type=cert-manager", "tls.certManager.issuerRef.kind=ClusterIssuer", "tls.certManager.issuerRef.name=corp-ca")
	get(t, objs, "Certificate", "backupview-serving-cert", &serving)
	if serving.Spec.IssuerRef.Kind != "ClusterIssuer" || serving.Spec.IssuerRef.Name != "corp-ca" || has(objs, "Issuer", "backupview-ca") || has(objs, "Certificate", "backupview-ca") {
		t.Errorf("with issuerRef: serving issuer %+v, objects %v", serving.Spec.IssuerRef, keys(objs))
	}
}

// tls.type=existingSecret: the Deployment mounts the named Secret, the APIService trusts the
// given CA; the caBundle is required (unless insecureSkipTLSVerify).
func TestExistingSecretTLS(t *testing.T) {
	ca := testCAPEM(t)
	objs := render(t, "tls.type=existingSecret", "tls.existingSecret.name=my-tls", "tls.existingSecret.caBundle="+ca)
	var as apiService
	get(t, objs, "APIService", "v1alpha1.ui.kubestash.com", &as)
	var d appsv1.Deployment
	get(t, objs, "Deployment", "backupview", &d)
	if string(as.Spec.CABundle) != ca {
		t.Errorf("caBundle %q, want the given PEM", as.Spec.CABundle)
	}
	if got := servingSecretVolume(t, &d); got != "my-tls" {
		t.Errorf("the Deployment mounts %s, want my-tls", got)
	}
	for _, o := range objs {
		if o.Kind == "Secret" || o.Kind == "Certificate" || o.Kind == "Issuer" {
			t.Errorf("existingSecret renders %s", o.key())
		}
	}
	if _, err := helm(t, templateArgs("backupview", "tls.type=existingSecret", "tls.existingSecret.name=my-tls")...); err == nil || !strings.Contains(err.Error(), "caBundle") {
		t.Errorf("no caBundle: %v, want an error naming tls.existingSecret.caBundle", err)
	}
	objs = render(t, "tls.type=existingSecret", "tls.existingSecret.name=my-tls", "apiService.insecureSkipTLSVerify=true")
	get(t, objs, "APIService", "v1alpha1.ui.kubestash.com", &as)
	if !as.Spec.InsecureSkipTLSVerify || len(as.Spec.CABundle) != 0 {
		t.Errorf("insecureSkipTLSVerify: %v with caBundle %q", as.Spec.InsecureSkipTLSVerify, as.Spec.CABundle)
	}
}

// testCAPEM is a CA certificate (PEM) made with helm itself, for the existingSecret cases.
func testCAPEM(t *testing.T) string {
	t.Helper()
	objs := render(t)
	var sec corev1.Secret
	get(t, objs, "Secret", "backupview-serving-cert", &sec)
	return string(sec.Data["ca.crt"])
}

// Two replicas by default, with a PodDisruptionBudget and a preferred anti-affinity across
// nodes that both select exactly the Deployment's pods, and a rollout that never drops below
// the replicas; one replica has neither (a PDB of minAvailable 1 would block every drain).
func TestAvailability(t *testing.T) {
	objs := render(t)
	var d appsv1.Deployment
	get(t, objs, "Deployment", "backupview", &d)
	var pdb policyv1.PodDisruptionBudget
	get(t, objs, "PodDisruptionBudget", "backupview", &pdb)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	pods := d.Spec.Template.Labels
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("PDB minAvailable %v selector %v; the Deployment selects %v", pdb.Spec.MinAvailable, pdb.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if pods[k] != v {
			t.Errorf("the Deployment's selector %s=%s does not match its pods' labels %v", k, v, pods)
		}
	}
	aff := d.Spec.Template.Spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("affinity %+v, want one preferred pod anti-affinity term", aff)
	}
	term := aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	if term.TopologyKey != "kubernetes.io/hostname" || !reflect.DeepEqual(term.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("anti-affinity term %+v, want hostname and the Deployment's selector", term)
	}
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("strategy %+v, want RollingUpdate maxUnavailable 0 maxSurge 1", d.Spec.Strategy)
	}
	if d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit != 3 {
		t.Errorf("revisionHistoryLimit %v, want 3", d.Spec.RevisionHistoryLimit)
	}

	objs = render(t, "replicaCount=1")
	get(t, objs, "Deployment", "backupview", &d)
	if has(objs, "PodDisruptionBudget", "backupview") || d.Spec.Template.Spec.Affinity != nil {
		t.Errorf("one replica: PDB %v, affinity %+v; want neither", has(objs, "PodDisruptionBudget", "backupview"), d.Spec.Template.Spec.Affinity)
	}
	// An affinity of one's own replaces the default.
	get(t, render(t, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone",
		"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists"), "Deployment", "backupview", &d)
	if a := d.Spec.Template.Spec.Affinity; a == nil || a.NodeAffinity == nil || a.PodAntiAffinity != nil {
		t.Errorf("affinity %+v, want exactly the given node affinity", a)
	}
}

// The memory limit reaches --memory-limit through the Downward API (resourceFieldRef
// limits.memory), whatever it is set to; without a limit there is no flag.
func TestMemoryLimit(t *testing.T) {
	for _, limit := range []string{"", "1Gi"} {
		var sets []string
		if limit != "" {
			sets = append(sets, "resources.limits.memory="+limit)
		}
		var d appsv1.Deployment
		get(t, render(t, sets...), "Deployment", "backupview", &d)
		c := container(t, &d)
		want := limit
		if want == "" {
			want = "512Mi" // values.yaml, as deploy/deployment.yaml had
		}
		if got := c.Resources.Limits.Memory().String(); got != want {
			t.Errorf("limits.memory %s, want %s", got, want)
		}
		var env *corev1.EnvVar
		for i := range c.Env {
			if c.Env[i].Name == "MEMORY_LIMIT" {
				env = &c.Env[i]
			}
		}
		if env == nil || env.ValueFrom == nil || env.ValueFrom.ResourceFieldRef == nil || env.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
			t.Fatalf("MEMORY_LIMIT: %+v, want a resourceFieldRef to limits.memory", env)
		}
		if !slices.Contains(c.Args, "--memory-limit=$(MEMORY_LIMIT)") {
			t.Errorf("args %v lack --memory-limit=$(MEMORY_LIMIT)", c.Args)
		}
		if r := c.Resources.Requests; r.Cpu().String() != "100m" || r.Memory().String() != "128Mi" {
			t.Errorf("requests %v, want cpu 100m memory 128Mi", r)
		}
	}
	var d appsv1.Deployment
	get(t, render(t, "resources.limits=null"), "Deployment", "backupview", &d)
	c := container(t, &d)
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--memory-limit") }) || len(c.Env) != 0 {
		t.Errorf("no memory limit: args %v env %v; want no --memory-limit (the Downward API would give the node's memory)", c.Args, c.Env)
	}
}

// The image: the chart's appVersion by default, a tag, or repository@digest when a digest is
// set (the tag then ignored).
func TestImage(t *testing.T) {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion %q: %v", chart.AppVersion, err)
	}
	digest := "sha256:" + strings.Repeat("0f", 32)
	for _, c := range []struct {
		sets []string
		want string
	}{
		{nil, "ghcr.io/kubestash/backupview:" + chart.AppVersion},
		{[]string{"image.tag=v9.9.9"}, "ghcr.io/kubestash/backupview:v9.9.9"},
		{[]string{"image.tag=v9.9.9", "image.digest=" + digest}, "ghcr.io/kubestash/backupview@" + digest},
		{[]string{"image.repository=registry.example.com/bv", "image.digest=" + digest}, "registry.example.com/bv@" + digest},
	} {
		var d appsv1.Deployment
		get(t, render(t, c.sets...), "Deployment", "backupview", &d)
		ct := container(t, &d)
		if ct.Image != c.want || ct.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("%v: image %s (%s), want %s (IfNotPresent)", c.sets, ct.Image, ct.ImagePullPolicy, c.want)
		}
	}
}

// The pod runs as deploy/deployment.yaml always had it: non-root 65532, seccomp
// RuntimeDefault, read-only root, no privilege escalation, no capabilities; HTTPS probes on
// /readyz and /livez at the serving port; the Service's 443 to it.
func TestPodDefaults(t *testing.T) {
	objs := render(t)
	var d appsv1.Deployment
	get(t, objs, "Deployment", "backupview", &d)
	var svc corev1.Service
	get(t, objs, "Service", "backupview", &svc)
	ps := d.Spec.Template.Spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser != 65532 || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", ps)
	}
	c := container(t, &d)
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v", sc)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "https" || c.Ports[0].ContainerPort != 8443 || !slices.Contains(c.Args, "--secure-port=8443") {
		t.Errorf("ports %+v args %v, want https 8443 and --secure-port=8443", c.Ports, c.Args)
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.ReadinessProbe, "/readyz"}, {c.LivenessProbe, "/livez"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Scheme != corev1.URISchemeHTTPS || p.probe.HTTPGet.Port.String() != "https" {
			t.Errorf("probe of %s: %+v", p.path, p.probe)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "https" || !reflect.DeepEqual(svc.Spec.Selector, d.Spec.Selector.MatchLabels) {
		t.Errorf("Service ports %+v selector %v", svc.Spec.Ports, svc.Spec.Selector)
	}
	if d.Spec.Template.Spec.ServiceAccountName != "backupview" || !has(objs, "ServiceAccount", "backupview") {
		t.Errorf("serviceAccountName %q", d.Spec.Template.Spec.ServiceAccountName)
	}
	if slices.Contains(c.Args, "--check-encryption-secrets") {
		t.Error("--check-encryption-secrets is on by default")
	}
	// Helm's own labels only when installed by Helm (helmLabels).
	if d.Labels["app.kubernetes.io/managed-by"] != "Helm" || d.Labels["helm.sh/chart"] == "" {
		t.Errorf("labels %v lack Helm's", d.Labels)
	}
	get(t, render(t, "helmLabels=false"), "Deployment", "backupview", &d)
	for k := range d.Labels {
		if k == "helm.sh/chart" || k == "app.kubernetes.io/managed-by" {
			t.Errorf("helmLabels=false: label %s", k)
		}
	}
	// extraArgs, and the ones each value adds.
	get(t, render(t, "extraArgs[0]=--backupconfiguration-metrics=false", "priorityClassName=system-cluster-critical"), "Deployment", "backupview", &d)
	if c := container(t, &d); !slices.Contains(c.Args, "--backupconfiguration-metrics=false") || d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("args %v priorityClassName %q", c.Args, d.Spec.Template.Spec.PriorityClassName)
	}
}

// The RBAC: the server's roles (only list and watch, no Secrets), the kube-system RoleBinding,
// the aggregated user roles and their switches, and the opt-in Secrets RBAC with its flag.
func TestRBAC(t *testing.T) {
	objs := render(t)
	var rb rbacv1.RoleBinding
	get(t, objs, "RoleBinding", "backupview:extension-apiserver-authentication-reader", &rb)
	if rb.Namespace != "kube-system" || rb.RoleRef.Name != "extension-apiserver-authentication-reader" {
		t.Errorf("RoleBinding %s/%s to %s", rb.Namespace, rb.Name, rb.RoleRef.Name)
	}
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: "backupview", Namespace: "backupview"}
	for _, name := range []string{"backupview:system:auth-delegator", "backupview:server"} {
		var crb rbacv1.ClusterRoleBinding
		get(t, objs, "ClusterRoleBinding", name, &crb)
		if !reflect.DeepEqual(crb.Subjects, []rbacv1.Subject{sa}) {
			t.Errorf("%s binds %v", name, crb.Subjects)
		}
	}
	if !reflect.DeepEqual(rb.Subjects, []rbacv1.Subject{sa}) {
		t.Errorf("%s binds %v", rb.Name, rb.Subjects)
	}
	var server rbacv1.ClusterRole
	get(t, objs, "ClusterRole", "backupview:server", &server)
	for _, r := range server.Rules {
		if !reflect.DeepEqual(r.Verbs, []string{"list", "watch"}) || slices.Contains(r.Resources, "secrets") {
			t.Errorf("backupview:server grants %v on %v", r.Verbs, r.Resources)
		}
	}
	var view, edit rbacv1.ClusterRole
	get(t, objs, "ClusterRole", "backupview:view", &view)
	get(t, objs, "ClusterRole", "backupview:edit", &edit)
	if view.Labels["rbac.authorization.k8s.io/aggregate-to-view"] != "true" || edit.Labels["rbac.authorization.k8s.io/aggregate-to-edit"] != "true" || edit.Labels["rbac.authorization.k8s.io/aggregate-to-view"] != "" {
		t.Errorf("aggregation labels: view %v, edit %v", view.Labels, edit.Labels)
	}
	if has(objs, "ClusterRole", "backupview:encryption-secrets") {
		t.Error("the Secrets RBAC without checkEncryptionSecrets")
	}

	objs = render(t, "rbac.aggregateToView=false", "rbac.aggregateToEdit=false")
	get(t, objs, "ClusterRole", "backupview:view", &view)
	get(t, objs, "ClusterRole", "backupview:edit", &edit)
	for k := range mergeMaps(view.Labels, edit.Labels) {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
			t.Errorf("aggregation off, yet label %s", k)
		}
	}

	objs = render(t, "checkEncryptionSecrets=true")
	var sec rbacv1.ClusterRole
	get(t, objs, "ClusterRole", "backupview:encryption-secrets", &sec)
	var secb rbacv1.ClusterRoleBinding
	get(t, objs, "ClusterRoleBinding", "backupview:encryption-secrets", &secb)
	var d appsv1.Deployment
	get(t, objs, "Deployment", "backupview", &d)
	if len(sec.Rules) != 1 || !reflect.DeepEqual(sec.Rules[0].Resources, []string{"secrets"}) || !reflect.DeepEqual(sec.Rules[0].Verbs, []string{"list", "watch"}) ||
		!reflect.DeepEqual(secb.Subjects, []rbacv1.Subject{sa}) || !slices.Contains(container(t, &d).Args, "--check-encryption-secrets") {
		t.Errorf("checkEncryptionSecrets: role %v, binding %v, args %v", sec.Rules, secb.Subjects, container(t, &d).Args)
	}

	objs = render(t, "rbac.create=false", "serviceAccount.create=false", "serviceAccount.name=byo")
	for _, o := range objs {
		if strings.HasSuffix(o.Kind, "Role") || strings.HasSuffix(o.Kind, "RoleBinding") || o.Kind == "ServiceAccount" {
			t.Errorf("rbac.create=false, serviceAccount.create=false: %s", o.key())
		}
	}
	get(t, objs, "Deployment", "backupview", &d)
	if d.Spec.Template.Spec.ServiceAccountName != "byo" {
		t.Errorf("serviceAccountName %q, want byo", d.Spec.Template.Spec.ServiceAccountName)
	}
}

func mergeMaps(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Monitoring is opt-in; on, the ServiceMonitor fits the Service and the serving certificate,
// the PrometheusRule's groups are files/rules.yaml's and the dashboard ConfigMap is
// files/dashboard.json, byte for byte.
func TestMonitoring(t *testing.T) {
	for _, o := range render(t) {
		if o.Kind == "ServiceMonitor" || o.Kind == "PrometheusRule" || o.Kind == "ConfigMap" || strings.Contains(o.Name, "metrics-reader") {
			t.Errorf("monitoring is on by default: %s", o.key())
		}
	}
	objs := render(t, "monitoring.serviceMonitor.enabled=true", "monitoring.prometheusRule.enabled=true", "monitoring.dashboard.enabled=true",
		"monitoring.serviceMonitor.labels.release=kps", "monitoring.prometheusRule.labels.release=kps")
	var svc corev1.Service
	get(t, objs, "Service", "backupview", &svc)
	var sec corev1.Secret
	get(t, objs, "Secret", "backupview-serving-cert", &sec)
	var sm struct {
		Metadata struct{ Labels map[string]string }
		Spec     struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			NamespaceSelector struct {
				MatchNames []string `json:"matchNames"`
			} `json:"namespaceSelector"`
			Endpoints []struct {
				Port, Scheme, Path string
				TLSConfig          struct {
					CA struct {
						Secret struct{ Name, Key string } `json:"secret"`
					} `json:"ca"`
					ServerName string `json:"serverName"`
				} `json:"tlsConfig"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	get(t, objs, "ServiceMonitor", "backupview", &sm)
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s; the Service's labels are %v", k, v, svc.Labels)
		}
	}
	if len(sm.Spec.Selector.MatchLabels) == 0 || !reflect.DeepEqual(sm.Spec.NamespaceSelector.MatchNames, []string{"backupview"}) || sm.Metadata.Labels["release"] != "kps" {
		t.Errorf("ServiceMonitor selector %v namespaces %v labels %v", sm.Spec.Selector.MatchLabels, sm.Spec.NamespaceSelector.MatchNames, sm.Metadata.Labels)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints", len(sm.Spec.Endpoints))
	}
	e := sm.Spec.Endpoints[0]
	if e.Port != svc.Spec.Ports[0].Name || e.Scheme != "https" || e.Path != "/metrics" {
		t.Errorf("endpoint %+v", e)
	}
	// Prometheus verifies the scrape with the Secret's ca.crt for serverName: that must verify.
	if e.TLSConfig.CA.Secret.Name != sec.Name || e.TLSConfig.CA.Secret.Key != "ca.crt" {
		t.Errorf("tlsConfig CA %+v, want %s ca.crt", e.TLSConfig.CA.Secret, sec.Name)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sec.Data["ca.crt"])
	if _, err := parseCert(t, "tls.crt", sec.Data["tls.crt"]).Verify(x509.VerifyOptions{DNSName: e.TLSConfig.ServerName, Roots: roots}); err != nil {
		t.Errorf("serverName %q: %v", e.TLSConfig.ServerName, err)
	}
	var crb rbacv1.ClusterRoleBinding
	get(t, objs, "ClusterRoleBinding", "backupview:metrics-reader", &crb)
	if !reflect.DeepEqual(crb.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus-k8s", Namespace: "monitoring"}}) {
		t.Errorf("metrics-reader binds %v", crb.Subjects)
	}

	var pr struct {
		Metadata struct{ Labels map[string]string }
		Spec     struct {
			Groups any `json:"groups"`
		} `json:"spec"`
	}
	get(t, objs, "PrometheusRule", "backupview", &pr)
	var rules struct {
		Groups any `json:"groups"`
	}
	b, err := os.ReadFile(filepath.Join(chartDir, "files", "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	if rules.Groups == nil || !reflect.DeepEqual(pr.Spec.Groups, rules.Groups) || pr.Metadata.Labels["release"] != "kps" {
		t.Errorf("the PrometheusRule's groups are not files/rules.yaml's (or labels %v)", pr.Metadata.Labels)
	}

	var cm corev1.ConfigMap
	get(t, objs, "ConfigMap", "backupview-dashboard", &cm)
	dash, err := os.ReadFile(filepath.Join(chartDir, "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["backupview.json"] != string(dash) || cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "backupview" {
		t.Errorf("dashboard ConfigMap: namespace %s labels %v, data is dashboard.json: %v", cm.Namespace, cm.Labels, cm.Data["backupview.json"] == string(dash))
	}
	get(t, render(t, "monitoring.dashboard.enabled=true", "monitoring.dashboard.namespace=grafana"), "ConfigMap", "backupview-dashboard", &cm)
	if cm.Namespace != "grafana" {
		t.Errorf("monitoring.dashboard.namespace: the ConfigMap is in %s", cm.Namespace)
	}
}

// With release backupview in namespace backupview, every object has the name deploy/ gave it
// before the chart (kubectl apply -k and helm install manage the same objects).
func TestNamesAreStable(t *testing.T) {
	objs := render(t, "tls.type=cert-manager", "monitoring.serviceMonitor.enabled=true", "monitoring.prometheusRule.enabled=true", "monitoring.dashboard.enabled=true")
	want := []string{
		"APIService /v1alpha1.ui.kubestash.com",
		"Certificate backupview/backupview-ca",
		"Certificate backupview/backupview-serving-cert",
		"ClusterRole /backupview:edit",
		"ClusterRole /backupview:metrics-reader",
		"ClusterRole /backupview:server",
		"ClusterRole /backupview:view",
		"ClusterRoleBinding /backupview:metrics-reader",
		"ClusterRoleBinding /backupview:server",
		"ClusterRoleBinding /backupview:system:auth-delegator",
		"ConfigMap backupview/backupview-dashboard",
		"Deployment backupview/backupview",
		"Issuer backupview/backupview-ca",
		"Issuer backupview/backupview-selfsigned",
		"PodDisruptionBudget backupview/backupview",
		"PrometheusRule backupview/backupview",
		"RoleBinding kube-system/backupview:extension-apiserver-authentication-reader",
		"Service backupview/backupview",
		"ServiceAccount backupview/backupview",
		"ServiceMonitor backupview/backupview",
	}
	if got := keys(objs); !reflect.DeepEqual(got, want) {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// tls.type=helm adds only the Secret, named as cert-manager's.
	if !has(render(t), "Secret", "backupview-serving-cert") {
		t.Error("tls.type=helm: no Secret backupview-serving-cert")
	}
}

// deploy/ (the kustomize base and the monitoring component) is exactly what
// hack/update-deploy.sh renders from the chart now, with no Helm labels in it, and no
// manifest left over that the rendering lacks.
func TestDeployIsTheChartsRendering(t *testing.T) {
	h := tool(t, "helm", "helm")
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "hack", "update-deploy.sh"), dir)
	cmd.Env = append(os.Environ(), "HELM="+h)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/update-deploy.sh: %v\n%s", err, out)
	}
	rendered := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rendered[rel] = true
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(root, "deploy", rel))
		if err != nil {
			t.Errorf("deploy/%s is missing: run hack/update-deploy.sh", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/%s is not the chart's rendering: run hack/update-deploy.sh", rel)
		}
		if bytes.Contains(got, []byte("helm.sh/chart")) || bytes.Contains(got, []byte("managed-by: Helm")) {
			t.Errorf("deploy/%s has Helm's labels", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"", "monitoring"} {
		es, err := os.ReadDir(filepath.Join(root, "deploy", sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			rel := filepath.Join(sub, e.Name())
			if !e.IsDir() && !rendered[rel] && e.Name() != "README.md" {
				t.Errorf("deploy/%s is not rendered from the chart", rel)
			}
		}
	}
	for _, f := range []string{"kustomization.yaml", "deployment.yaml", "apiservice.yaml", "certificates.yaml", "monitoring/kustomization.yaml", "monitoring/prometheusrule.yaml", "rbac-encryption-secrets.yaml"} {
		if !rendered[f] {
			t.Errorf("the rendering has no %s", f)
		}
	}
	k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(k, []byte("rbac-encryption-secrets")) || !bytes.Contains(k, []byte("name: ghcr.io/kubestash/backupview")) {
		t.Errorf("kustomization.yaml: the optional Secrets RBAC is in, or the images: transformer is out:\n%s", k)
	}
}

// `helm install` tells how to check the APIService.
func TestNotes(t *testing.T) {
	out, err := helm(t, "install", "backupview", chartDir, "--namespace", "backupview", "--dry-run=client")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(out, "NOTES:")
	if i < 0 {
		t.Fatalf("no NOTES in:\n%s", out)
	}
	notes := out[i:]
	for _, want := range []string{
		"kubectl get apiservice v1alpha1.ui.kubestash.com",
		"kubectl -n backupview rollout status deployment/backupview",
		"kubectl get bcv -A",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
}
