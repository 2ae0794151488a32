package reliability

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/test/harness"
)

// mintCert makes a client certificate NAME.crt/.key in DIR/pki, signed by the CA caName
// ("ca": the cluster's client CA; "front-proxy-ca": the aggregator's), with CN and O.
func mintCert(t *testing.T, c *harness.Cluster, caName, name, cn string, orgs ...string) {
	t.Helper()
	pki := filepath.Join(c.Dir, "pki")
	caPEM, err := os.ReadFile(filepath.Join(pki, caName+".crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(pki, caName+".key"))
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode(keyPEM)
	caKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(filepath.Join(pki, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pki, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// userKubeconfig writes a kubeconfig for a client certificate in DIR/pki.
func userKubeconfig(t *testing.T, c *harness.Cluster, cert string) string {
	t.Helper()
	pki := filepath.Join(c.Dir, "pki")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:%d", certificate-authority: %q}
users:
- name: %s
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: ctx
  context: {cluster: local, user: %s}
current-context: ctx
`, port(c, "KAS_PORT"), filepath.Join(pki, "ca.crt"), cert, filepath.Join(pki, cert+".crt"), filepath.Join(pki, cert+".key"), cert)
	f := filepath.Join(c.Dir, "kubeconfig-"+cert)
	if err := os.WriteFile(f, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// access is one request a user may or may not be allowed to make.
type access struct {
	verb, resource, ns string // ns "" is all namespaces
	method, path       string
	body               []byte
}

func accesses(form func(ns string) []byte) []access {
	var out []access
	for _, ns := range []string{"demo", "prod", ""} {
		base := viewsPath
		if ns != "" {
			base = "/apis/ui.kubestash.com/v1alpha1/namespaces/" + ns + "/backupconfigurationviews"
		}
		out = append(out,
			access{verb: "list", resource: "backupconfigurationviews.ui.kubestash.com", ns: ns, method: http.MethodGet, path: base},
			access{verb: "watch", resource: "backupconfigurationviews.ui.kubestash.com", ns: ns, method: http.MethodGet, path: base + "?watch=1&timeoutSeconds=1"})
		if ns == "" {
			continue
		}
		name := map[string]string{"demo": "mongodb-backup", "prod": "postgres-backup"}[ns]
		out = append(out,
			access{verb: "get", resource: "backupconfigurationviews.ui.kubestash.com", ns: ns, method: http.MethodGet, path: base + "/" + name},
			access{verb: "create", resource: "backupconfigurationpreviews.ui.kubestash.com", ns: ns, method: http.MethodPost,
				path: "/apis/ui.kubestash.com/v1alpha1/namespaces/" + ns + "/backupconfigurationpreviews", body: form(ns)},
			access{verb: "create", resource: "backupconfigurationviews.ui.kubestash.com/preview", ns: ns, method: http.MethodPost,
				path: base + "/" + name + "/preview", body: form(ns)})
	}
	return out
}

// canI asks kube-apiserver, as the user, with kubectl auth can-i.
func canI(c *harness.Cluster, kubeconfig string, a access) (bool, error) {
	args := []string{"auth", "can-i", a.verb}
	res, sub, _ := strings.Cut(a.resource, "/")
	args = append(args, res)
	if sub != "" {
		args = append(args, "--subresource="+sub)
	}
	if a.ns == "" {
		args = append(args, "-A")
	} else {
		args = append(args, "-n", a.ns)
	}
	out, err := c.KubectlAs(kubeconfig, args...)
	out = strings.TrimSpace(out)
	switch {
	case strings.HasPrefix(out, "yes"):
		return true, nil
	case strings.HasPrefix(out, "no"):
		return false, nil
	}
	return false, fmt.Errorf("kubectl auth can-i: %v %s", err, out)
}

// TestAccess (promise 7): anonymous requests are refused (through kube-apiserver and straight
// to backupview, where forged identity headers are not trusted); a user bound to view in one
// namespace reads only there; a user without bindings reads nothing; kubectl auth can-i
// agrees with what really happens; backupview's shipped RBAC grants nothing on Secrets and
// only reads elsewhere, and is enough to run it.
func TestAccess(t *testing.T) {
	need(t)
	c := shared(t)
	ctx := context.Background()
	bvPort := port(c, "BV_PORT")

	// The shipped RBAC (deploy/), and alice bound to view in demo.
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac-server.yaml", "rbac-aggregate.yaml"} {
		if out, err := c.Kubectl("apply", "-f", filepath.Join(c.Root, "deploy", f)); err != nil {
			t.Fatal(f, err, out)
		}
	}
	// backupview:view is aggregated into the built-in view role by kube-controller-manager,
	// which this control plane does not run: bind it directly.
	if out, err := c.Kubectl("create", "rolebinding", "alice-view", "-n", "demo", "--clusterrole=backupview:view", "--user=alice"); err != nil && !strings.Contains(out, "AlreadyExists") {
		t.Fatal(err, out)
	}
	alice := c.Kubeconfig("alice")
	mintCert(t, c, "ca", "bob", "bob", "developers")
	bob := userKubeconfig(t, c, "bob")
	if err := waitUntil(30*time.Second, func() error {
		if ok, err := canI(c, alice, access{verb: "list", resource: "backupconfigurationviews.ui.kubestash.com", ns: "demo"}); err != nil || !ok {
			return fmt.Errorf("alice cannot list yet: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// 1. Anonymous.
	anonKAS := kasHTTP(t, c, "")
	anonBV := newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", bvPort), filepath.Join(c.Dir, "pki", "backupview-ca.crt"), "")
	mintCert(t, c, "front-proxy-ca", "rogue-proxy", "rogue-proxy")
	rogue := newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", bvPort), filepath.Join(c.Dir, "pki", "backupview-ca.crt"), "rogue-proxy")
	forge := func(h *httpc, path string) resp {
		req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
		req.Header.Set("X-Remote-User", "admin")
		req.Header.Set("X-Remote-Group", "system:masters")
		req.Header.Set("Impersonate-User", "admin")
		r, err := h.hc.Do(req)
		if err != nil {
			return resp{err: err}
		}
		defer r.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		return resp{code: r.StatusCode, body: b.Bytes()}
	}
	for _, path := range []string{viewsPath, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/mongodb-backup"} {
		for name, r := range map[string]resp{
			"anonymous via kube-apiserver":              anonKAS.get(path),
			"anonymous straight to backupview":          anonBV.get(path),
			"forged identity headers, no certificate":   forge(anonBV, path),
			"forged identity, front-proxy CA, wrong CN": forge(rogue, path),
		} {
			if r.err != nil || (r.code != 401 && r.code != 403) {
				t.Errorf("%s GET %s: %d %v, want 401 or 403", name, path, r.code, r.err)
			}
			if m := metaOf(r.body); m.Kind != "Status" {
				t.Errorf("%s GET %s answered a %q, not a Status: %s", name, path, m.Kind, short(r.body))
			}
		}
	}

	// 2. Users: what can-i says is what happens.
	form := func(ns string) []byte {
		f := validForm(t, c.Root)
		f["metadata"].(map[string]interface{})["namespace"] = ns
		return mustJSON(f)
	}
	aliceHTTP, bobHTTP := kasHTTP(t, c, "alice"), kasHTTP(t, c, "bob")
	type expectation struct {
		user       string
		kubeconfig string
		h          *httpc
		allowed    func(a access) bool
	}
	for _, u := range []expectation{
		{"alice (view in demo)", alice, aliceHTTP, func(a access) bool { return a.ns == "demo" }},
		{"bob (no bindings)", bob, bobHTTP, func(access) bool { return false }},
	} {
		for _, a := range accesses(form) {
			where := fmt.Sprintf("%s: %s %s in %q", u.user, a.verb, a.resource, a.ns)
			can, err := canI(c, u.kubeconfig, a)
			if err != nil {
				t.Fatal(where, err)
			}
			r := u.h.do(ctx, a.method, a.path, "application/json", bytes.NewReader(a.body))
			did := r.err == nil && r.code < 300
			if r.err != nil || (!did && r.code != 403) {
				t.Errorf("%s: %d %v: %s", where, r.code, r.err, short(r.body))
			}
			if did != can {
				t.Errorf("%s: kubectl auth can-i says %v, the request got %d", where, can, r.code)
			}
			if want := u.allowed(a); did != want {
				t.Errorf("%s: allowed=%v (%d), want %v", where, did, r.code, want)
			}
		}
	}
	// alice's list of demo is the whole of demo, and only demo.
	r := aliceHTTP.get("/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews")
	l, err := decodeList(r.body)
	if err != nil || len(l.Items) == 0 {
		t.Fatalf("alice's list of demo: %d %v", r.code, err)
	}
	adminList, _ := decodeList(kasHTTP(t, c, "admin").get("/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews").body)
	if len(l.Items) != len(adminList.Items) {
		t.Errorf("alice sees %d views in demo, the admin %d", len(l.Items), len(adminList.Items))
	}
	for _, it := range l.Items {
		if m := metaOf(it); m.Metadata.Namespace != "demo" {
			t.Errorf("alice's list of demo holds %s/%s", m.Metadata.Namespace, m.Metadata.Name)
		}
	}
	// The front proxy's own certificate is what makes identity headers count: with it,
	// X-Remote-User alice is alice (allowed in demo only), not an admin.
	proxy := newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", bvPort), filepath.Join(c.Dir, "pki", "backupview-ca.crt"), "front-proxy-client")
	for path, want := range map[string]int{viewsPath: 403, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews": 200} {
		req, _ := http.NewRequest(http.MethodGet, proxy.base+path, nil)
		req.Header.Set("X-Remote-User", "alice")
		res, err := proxy.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("front proxy asserting alice, GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}

	// 3. backupview's own RBAC: no Secrets at all, reads only.
	sa := "system:serviceaccount:backupview:backupview"
	for _, verb := range []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"} {
		for _, ns := range []string{"-A", "--namespace=backupview", "--namespace=kube-system"} {
			out, _ := c.Kubectl("auth", "can-i", verb, "secrets", ns, "--as="+sa)
			if strings.TrimSpace(out) != "no" {
				t.Errorf("backupview's service account: can-i %s secrets %s = %q, want no", verb, ns, out)
			}
		}
	}
	checkRBACFiles(t, c)
	out, err := c.Kubectl("auth", "can-i", "--list", "--as="+sa)
	if err != nil {
		t.Fatal(err, out)
	}
	allowedWrites := map[string]bool{ // delegated authn/authz, and what every authenticated user may do
		"tokenreviews.authentication.k8s.io": true, "subjectaccessreviews.authorization.k8s.io": true,
		"selfsubjectaccessreviews.authorization.k8s.io": true, "selfsubjectrulesreviews.authorization.k8s.io": true,
		"selfsubjectreviews.authentication.k8s.io": true,
	}
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		res := f[0]
		verbs := strings.Trim(strings.Join(f[len(f)-1:], " "), "[]")
		if strings.Contains(res, "secrets") || res == "*" || res == "*.*" {
			t.Errorf("backupview's service account may %s %s", verbs, res)
		}
		for _, v := range strings.Fields(verbs) {
			if v != "get" && v != "list" && v != "watch" && !(v == "create" && allowedWrites[res]) {
				t.Errorf("backupview's service account may %s %s (only get, list, watch expected)", v, res)
			}
		}
	}

	// 4. The shipped RBAC is enough to run backupview: a replica as the service account serves
	// the same views. A BackupConfiguration whose target kind it may not read (ConfigMap)
	// must not fail requests, nor its readiness.
	tok, err := c.KubectlStdout("", "create", "token", "backupview", "-n", "backupview", "--duration=1h")
	if err != nil {
		t.Fatal(err, tok)
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:%d", certificate-authority: %q}
users:
- name: sa
  user: {token: %q}
contexts:
- name: ctx
  context: {cluster: local, user: sa}
current-context: ctx
`, port(c, "KAS_PORT"), filepath.Join(c.Dir, "pki", "ca.crt"), strings.TrimSpace(tok))
	saKC := filepath.Join(c.Dir, "kubeconfig-sa")
	if err := os.WriteFile(saKC, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Kubectl("create", "namespace", "access"); err != nil && !strings.Contains(out, "AlreadyExists") {
		t.Fatal(err, out)
	}
	bc := u("core.kubestash.com/v1alpha1", "BackupConfiguration", "access", "configmap-target", obj{"spec": obj{
		"target":   obj{"apiGroup": "", "kind": "ConfigMap", "namespace": "access", "name": "settings"},
		"sessions": list{validSession("full", "0 1 * * *")}}})
	if err := createAll(ctx, c.Dyn, []item{{gvr: gvrBC, obj: bc}}, 1); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	saPort := startReplica(t, c, replicaPorts(c), true, "--kubeconfig="+saKC, "--authentication-kubeconfig="+saKC, "--authorization-kubeconfig="+saKC).port
	// A kind it may not list is known at once to be unreadable: it does not hold the start
	// back (a kind that fails otherwise is waited for 20 s at most).
	if took := time.Since(started); took > 15*time.Second {
		t.Errorf("the service-account replica took %s to be ready: the target kind it may not read held it back", took.Round(time.Millisecond))
	} else {
		t.Logf("the service-account replica was ready in %s", took.Round(time.Millisecond))
	}
	saHTTP := bvDirect(t, c, saPort)
	main := bvDirect(t, c, bvPort)
	if err := waitUntil(20*time.Second, func() error {
		a, b := main.get(viewsPath), saHTTP.get(viewsPath)
		la, err1 := decodeList(a.body)
		lb, err2 := decodeList(b.body)
		if a.code != 200 || b.code != 200 || err1 != nil || err2 != nil {
			return fmt.Errorf("main %d, service-account replica %d: %s", a.code, b.code, short(b.body))
		}
		if len(la.Items) != len(lb.Items) {
			return fmt.Errorf("main serves %d views, the service-account replica %d", len(la.Items), len(lb.Items))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v, err := clientFor(c, saPort).UiV1alpha1().BackupConfigurationViews("access").Get(ctx, "configmap-target", metav1.GetOptions{})
	if err != nil || v.Target.Found || v.Summary.Target != "ConfigMap access/settings" {
		t.Errorf("a target the service account may not read: %v %+v", err, v)
	}
	// Readiness holds (a Deployment's readinessProbe is /readyz: a NotReady pod takes the
	// whole aggregated API down).
	for i := 0; i < 10; i++ {
		if r := saHTTP.get("/readyz?verbose"); r.code != 200 {
			t.Fatalf("the service-account replica is not ready with a target it may not read: %d %s", r.code, r.body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// And a preview with encryption secrets works without reading any Secret.
	if r := saHTTP.do(ctx, http.MethodPost, previewsPath, "application/json", bytes.NewReader(form("demo"))); r.code != 201 {
		t.Errorf("preview on the service-account replica: %d %s", r.code, short(r.body))
	}
}

// checkRBACFiles reads the ClusterRoles and Roles that deploy/ binds to backupview's service
// account: no Secrets, no wildcard resources in the core group, only get/list/watch.
func checkRBACFiles(t *testing.T, c *harness.Cluster) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Root, "deploy", "rbac-server.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		var o struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Rules []struct {
				APIGroups []string `json:"apiGroups"`
				Resources []string `json:"resources"`
				Verbs     []string `json:"verbs"`
			} `json:"rules"`
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		if o.Kind != "ClusterRole" && o.Kind != "Role" {
			continue
		}
		for _, r := range o.Rules {
			for _, res := range r.Resources {
				if res == "secrets" || (res == "*" && (contains(r.APIGroups, "") || contains(r.APIGroups, "*"))) {
					t.Errorf("deploy/rbac-server.yaml %s %s grants %v on %v %v", o.Kind, o.Metadata.Name, r.Verbs, r.APIGroups, r.Resources)
				}
			}
			for _, v := range r.Verbs {
				if v != "get" && v != "list" && v != "watch" {
					t.Errorf("deploy/rbac-server.yaml %s %s grants %s on %v", o.Kind, o.Metadata.Name, v, r.Resources)
				}
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
