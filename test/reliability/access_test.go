package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/test/harness"
)

// mintCert makes a client certificate NAME.crt/.key in DIR/pki (harness.Cluster.MintCert).
func mintCert(t *testing.T, c *harness.Cluster, caName, name, cn string, orgs ...string) {
	t.Helper()
	if err := c.MintCert(caName, name, cn, orgs...); err != nil {
		t.Fatal(err)
	}
}

// userKubeconfig writes a kubeconfig for a client certificate in DIR/pki
// (harness.Cluster.UserKubeconfig).
func userKubeconfig(t *testing.T, c *harness.Cluster, cert string) string {
	t.Helper()
	f, err := c.UserKubeconfig(cert)
	if err != nil {
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

// The access test's users: client certificates of the cluster's CA, with names of their own so
// that no other test's bindings apply to them.
const (
	viewUser = "access-viewer" // RoleBinding to the built-in view in demo
	editUser = "access-editor" // RoleBinding to the built-in edit in demo
	noUser   = "access-nobody" // no bindings
)

// TestAccess (promise 7): anonymous requests are refused (through kube-apiserver and straight
// to backupview, where forged identity headers are not trusted); backupview's roles reach
// users through the built-in view and edit roles (aggregated by kube-controller-manager): a
// view user reads views in its namespace only and may not ask for previews, an edit user may
// also ask for previews there, a user without bindings gets nothing; what a namespace user
// reads is what the admin reads, and a refusal carries no data; kubectl auth can-i agrees with
// what really happens; backupview's shipped RBAC is list/watch only, grants nothing on
// Secrets, and is enough to serve the same views; the optional Secrets role is exactly what
// --check-encryption-secrets needs.
func TestAccess(t *testing.T) {
	need(t)
	c := shared(t)
	ctx := context.Background()
	bvPort := c.Ports.Server

	// The shipped RBAC (deploy/), and users bound to the built-in roles in demo, as a cluster
	// admin would: backupview's rules reach them only through ClusterRole aggregation.
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac-server.yaml", "rbac-aggregate.yaml"} {
		if out, err := c.Kubectl("apply", "-f", filepath.Join(c.Root, "deploy", f)); err != nil {
			t.Fatal(f, err, out)
		}
	}
	for user, role := range map[string]string{viewUser: "view", editUser: "edit"} {
		if out, err := c.Kubectl("create", "rolebinding", user, "-n", "demo", "--clusterrole="+role, "--user="+user); err != nil && !strings.Contains(out, "AlreadyExists") {
			t.Fatal(err, out)
		}
	}
	kc := map[string]string{}
	for _, user := range []string{viewUser, editUser, noUser} {
		mintCert(t, c, "ca", user, user)
		kc[user] = userKubeconfig(t, c, user)
	}
	s := newSteps(t)
	// The users' checks need the roles aggregated: they come after this step.
	s.run("backupview's roles reach the built-in view, edit and admin roles", func(t *testing.T) {
		t.Logf("kube-controller-manager aggregated backupview's roles into view, edit and admin %s after they were applied", waitAggregated(t, c).Round(time.Millisecond))
		// kube-apiserver's authorizer follows ClusterRoles through an informer: wait until it agrees.
		if err := waitUntil(30*time.Second, func() error {
			if ok, err := canI(c, kc[editUser], access{verb: "create", resource: "backupconfigurationpreviews.ui.kubestash.com", ns: "demo"}); err != nil || !ok {
				return fmt.Errorf("%s cannot create previews yet: %v", editUser, err)
			}
			if ok, err := canI(c, kc[viewUser], access{verb: "list", resource: "backupconfigurationviews.ui.kubestash.com", ns: "demo"}); err != nil || !ok {
				return fmt.Errorf("%s cannot list yet: %v", viewUser, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

	})
	s.run("anonymous and forged requests are refused with a bare Status", func(t *testing.T) {
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
				checkRefusal(t, fmt.Sprintf("%s GET %s", name, path), r)
			}
		}

	})
	// 2. Users: what can-i says is what happens, and a refusal is a bare Status.
	form := func(ns string) []byte {
		f := validForm(t, c.Root)
		f["metadata"].(map[string]interface{})["namespace"] = ns
		return mustJSON(f)
	}
	type user struct {
		name, kubeconfig string
		h                *httpc
		allowed          func(a access) bool
	}
	users := []user{
		{viewUser + " (view in demo)", kc[viewUser], kasHTTP(t, c, viewUser), func(a access) bool { return a.ns == "demo" && a.verb != "create" }},
		{editUser + " (edit in demo)", kc[editUser], kasHTTP(t, c, editUser), func(a access) bool { return a.ns == "demo" }},
		{noUser + " (no bindings)", kc[noUser], kasHTTP(t, c, noUser), func(access) bool { return false }},
	}
	s.run("each user's requests do what kubectl auth can-i says", func(t *testing.T) {
		s.after(t, "backupview's roles reach the built-in view, edit and admin roles")
		for _, u := range users {
			for _, a := range accesses(form) {
				where := fmt.Sprintf("%s: %s %s in %q", u.name, a.verb, a.resource, a.ns)
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
				if !did {
					checkRefusal(t, where, r)
				}
			}
		}

	})
	// 3. What a namespace user reads is what the admin reads.
	admin := kasHTTP(t, c, "admin")
	s.run("a namespace user reads what the admin reads", func(t *testing.T) {
		s.after(t, "backupview's roles reach the built-in view, edit and admin roles")
		for _, u := range users[:2] {
			sameAsAdmin(t, c, u.name, u.h, admin)
		}
	})
	s.run("an edit user's preview renders what the admin's does", func(t *testing.T) {
		s.after(t, "backupview's roles reach the built-in view, edit and admin roles")
		// An edit user's preview renders what the admin's does.
		up := users[1].h.do(ctx, http.MethodPost, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationpreviews", "application/json", bytes.NewReader(form("demo")))
		ap := admin.do(ctx, http.MethodPost, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationpreviews", "application/json", bytes.NewReader(form("demo")))
		if up.code != 201 || ap.code != 201 {
			t.Errorf("previews in demo: %s %d, admin %d: %s", editUser, up.code, ap.code, short(up.body))
		} else if us, as := previewStatus(t, up.body), previewStatus(t, ap.body); us == "" || us != as {
			t.Errorf("%s's preview renders\n%s\nthe admin's\n%s", editUser, us, as)
		}
	})
	s.run("the front proxy's certificate makes identity headers count, as that user", func(t *testing.T) {
		s.after(t, "backupview's roles reach the built-in view, edit and admin roles")
		// The front proxy's own certificate is what makes identity headers count: with it,
		// X-Remote-User is that user (allowed in demo only), not an admin.
		proxy := newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", bvPort), filepath.Join(c.Dir, "pki", "backupview-ca.crt"), "front-proxy-client")
		for path, want := range map[string]int{viewsPath: 403, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews": 200} {
			req, _ := http.NewRequest(http.MethodGet, proxy.base+path, nil)
			req.Header.Set("X-Remote-User", viewUser)
			res, err := proxy.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("front proxy asserting %s, GET %s: %d, want %d", viewUser, path, res.StatusCode, want)
			}
		}

	})
	// 4. backupview's own RBAC: no Secrets at all, reads only.
	sa := "system:serviceaccount:backupview:backupview"
	s.run("backupview's service account may not touch Secrets", func(t *testing.T) {
		for _, verb := range []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"} {
			for _, ns := range []string{"-A", "--namespace=backupview", "--namespace=kube-system"} {
				out, _ := c.Kubectl("auth", "can-i", verb, "secrets", ns, "--as="+sa)
				if strings.TrimSpace(out) != "no" {
					t.Errorf("backupview's service account: can-i %s secrets %s = %q, want no", verb, ns, out)
				}
			}
		}
	})
	s.run("the shipped RBAC files grant no Secrets and only list and watch", func(t *testing.T) {
		checkRBACFiles(t, c)
	})
	s.run("backupview's service account may only read", func(t *testing.T) {
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

	})
	// The replica lives for this step (startReplica's cleanup); the next step needs only its
	// service-account kubeconfig.
	var saKC string
	var saRep *replica
	s.run("a replica as the service account serves the same views", func(t *testing.T) {
		// 5. The shipped RBAC is enough to run backupview: a replica as the service account serves
		// the same views. A BackupConfiguration whose target kind it may not read (ConfigMap)
		// must not fail requests, nor its readiness.
		saKC = serviceAccountKubeconfig(t, c)
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
		saRep = startReplica(t, c, replicaPorts(t), true, "--kubeconfig="+saKC, "--authentication-kubeconfig="+saKC, "--authorization-kubeconfig="+saKC)
		saPort := saRep.port
		// A kind it may not list is known at once to be unreadable: it does not hold the start
		// back (a kind that fails otherwise is waited for 20 s at most).
		if took := time.Since(started); took > 15*time.Second {
			t.Errorf("the service-account replica took %s to be ready: the target kind it may not read held it back", took.Round(time.Millisecond))
		} else {
			t.Logf("the service-account replica was ready in %s", took.Round(time.Millisecond))
		}
		saHTTP := bvDirect(t, c, saPort)
		main := bvDirect(t, c, bvPort)
		// The same views, item by item, every namespace. resourceVersions are left out: a view's
		// may differ between a replica that followed every change and one that started later,
		// which is the replicas test's matter, not RBAC's.
		if err := waitUntil(20*time.Second, func() error { return sameViewsNoRV(main.get(viewsPath), saHTTP.get(viewsPath)) }); err != nil {
			t.Errorf("the main server and the service-account replica: %v", err)
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

	})
	s.run("the optional Secrets role is exactly what --check-encryption-secrets needs", func(t *testing.T) {
		if saKC == "" {
			t.Skip("skipped: it needs the service-account kubeconfig of step \"a replica as the service account serves the same views\"")
		}
		// 6. The optional role for --check-encryption-secrets (not in the kustomization): list and
		// watch on Secrets and nothing more, and enough for the check to work.
		optional := filepath.Join(c.Root, "deploy", "rbac-encryption-secrets.yaml")
		if out, err := c.Kubectl("apply", "-f", optional); err != nil {
			t.Fatal(err, out)
		}
		t.Cleanup(func() { _, _ = c.Kubectl("delete", "-f", optional, "--ignore-not-found") })
		if err := waitUntil(30*time.Second, func() error {
			if out, _ := c.Kubectl("auth", "can-i", "watch", "secrets", "-A", "--as="+sa); strings.TrimSpace(out) != "yes" {
				return fmt.Errorf("can-i watch secrets -A = %q", out)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for verb, want := range map[string]string{"list": "yes", "watch": "yes", "get": "no", "create": "no", "update": "no", "delete": "no"} {
			if out, _ := c.Kubectl("auth", "can-i", verb, "secrets", "-A", "--as="+sa); strings.TrimSpace(out) != want {
				t.Errorf("with %s the service account: can-i %s secrets -A = %q, want %s", filepath.Base(optional), verb, out, want)
			}
		}
		// On a port of its own: startReplica takes a port whose /readyz answers as started.
		if saRep != nil {
			saRep.stop()
		}
		checkRep := startReplica(t, c, replicaPorts(t), true, "--kubeconfig="+saKC, "--authentication-kubeconfig="+saKC,
			"--authorization-kubeconfig="+saKC, "--check-encryption-secrets")
		checker := bvDirect(t, c, checkRep.port)
		if err := waitUntil(10*time.Second, func() error {
			r := checker.do(ctx, http.MethodPost, previewsPath, "application/json", bytes.NewReader(form("demo")))
			if r.code != 201 {
				return fmt.Errorf("%d %s", r.code, short(r.body))
			}
			if w := strings.Join(r.hdr.Values("Warning"), " | "); !strings.Contains(w, "encryption Secret demo/encrypt-secret not found") {
				return fmt.Errorf("warnings: %s", w)
			}
			return nil
		}); err != nil {
			t.Errorf("--check-encryption-secrets as the service account with %s: %v", filepath.Base(optional), err)
		}
	})
}

// viewReads and previewCreates are what backupview's roles grant (group, resource, verb).
var (
	viewReads = [][3]string{
		{"ui.kubestash.com", "backupconfigurationviews", "get"},
		{"ui.kubestash.com", "backupconfigurationviews", "list"},
		{"ui.kubestash.com", "backupconfigurationviews", "watch"},
	}
	previewCreates = [][3]string{
		{"ui.kubestash.com", "backupconfigurationpreviews", "create"},
		{"ui.kubestash.com", "backupconfigurationviews/preview", "create"},
		{"ui.kubestash.com", "restoresessionpreviews", "create"},
		{"ui.kubestash.com", "backupconfigurationviews/restore-preview", "create"},
	}
)

// waitAggregated blocks until kube-controller-manager has aggregated backupview's rules into
// the built-in ClusterRoles (reads into view, edit and admin; previews into edit and admin),
// and returns how long that took.
func waitAggregated(t *testing.T, c *harness.Cluster) time.Duration {
	t.Helper()
	start := time.Now()
	want := map[string][][3]string{
		"view":  viewReads,
		"edit":  append(append([][3]string(nil), viewReads...), previewCreates...),
		"admin": append(append([][3]string(nil), viewReads...), previewCreates...),
	}
	have := map[string][]rbacv1.PolicyRule{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lw := cache.NewListWatchFromClient(c.Kube.RbacV1().RESTClient(), "clusterroles", "", fields.Everything())
	_, err := watchtools.UntilWithSync(ctx, lw, &rbacv1.ClusterRole{}, nil, func(e watch.Event) (bool, error) {
		if cr, ok := e.Object.(*rbacv1.ClusterRole); ok && want[cr.Name] != nil {
			have[cr.Name] = cr.Rules
		}
		for role, perms := range want {
			for _, p := range perms {
				if !grants(have[role], p) {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("backupview's roles were not aggregated into view, edit and admin within 60 s (is kube-controller-manager running?): %v; view has %v, edit has %v", err, have["view"], have["edit"])
	}
	return time.Since(start)
}

// grants reports whether the rules allow verb on group/resource (any name).
func grants(rules []rbacv1.PolicyRule, p [3]string) bool {
	for _, r := range rules {
		if len(r.ResourceNames) == 0 && (contains(r.APIGroups, p[0]) || contains(r.APIGroups, "*")) &&
			(contains(r.Resources, p[1]) || contains(r.Resources, "*")) && (contains(r.Verbs, p[2]) || contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}

// checkRefusal: a refused answer is a failure Status with the answer's code and nothing else:
// no view, no list, no rendered preview.
func checkRefusal(t *testing.T, where string, r resp) {
	t.Helper()
	var keys map[string]json.RawMessage
	var st struct {
		Kind     string          `json:"kind"`
		Status   string          `json:"status"`
		Code     int             `json:"code"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(r.body, &keys); err != nil || json.Unmarshal(r.body, &st) != nil {
		t.Errorf("%s: refused (%d) with a body that is not a Status: %s", where, r.code, short(r.body))
		return
	}
	if st.Kind != "Status" || st.Status != "Failure" || st.Code != r.code {
		t.Errorf("%s: refused (%d) with kind %q status %q code %d, want a Failure Status with the same code", where, r.code, st.Kind, st.Status, st.Code)
	}
	for k := range keys {
		switch k {
		case "kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code":
		default:
			t.Errorf("%s: the refusal carries %q: %s", where, k, short(r.body))
		}
	}
	if m := strings.TrimSpace(string(st.Metadata)); m != "" && m != "{}" {
		t.Errorf("%s: the refusal carries metadata %s", where, m)
	}
	for _, leak := range []string{"backupSessions", "summary", "manifest", "s3-shared", "demo-retention", "items"} {
		if bytes.Contains(r.body, []byte(leak)) {
			t.Errorf("%s: the refusal mentions %q: %s", where, leak, short(r.body))
		}
	}
}

// sameAsAdmin: a namespace user's LIST of demo is the admin's, item by item (names and
// resourceVersions, at the same snapshot); its GET is the admin's; its watch delivers the same
// events. Bodies are compared whole for app-data-backup, whose joined objects all lie in demo:
// details of objects in other namespaces follow the caller's own rights (docs/design.md).
func sameAsAdmin(t *testing.T, c *harness.Cluster, name string, h, admin *httpc) {
	t.Helper()
	const demo = "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews"
	al, err := decodeList(admin.get(demo).body)
	if err != nil || len(al.Items) == 0 {
		t.Fatalf("the admin's list of demo: %v", err)
	}
	rv := al.Metadata.ResourceVersion
	r := h.get(demo + "?resourceVersion=" + rv + "&resourceVersionMatch=Exact")
	ul, err := decodeList(r.body)
	if r.code != 200 || err != nil {
		t.Fatalf("%s's list of demo at %s: %d %v %s", name, rv, r.code, err, short(r.body))
	}
	if ul.Metadata.ResourceVersion != rv || len(ul.Items) != len(al.Items) {
		t.Errorf("%s lists %d views of demo at %s, the admin %d at %s", name, len(ul.Items), ul.Metadata.ResourceVersion, len(al.Items), rv)
	}
	for i := 0; i < len(ul.Items) && i < len(al.Items); i++ {
		um, am := metaOf(ul.Items[i]).Metadata, metaOf(al.Items[i]).Metadata
		if um.Namespace != "demo" || um.Name != am.Name || um.ResourceVersion != am.ResourceVersion {
			t.Errorf("%s's list of demo, item %d: %s/%s@%s, the admin's %s/%s@%s", name, i, um.Namespace, um.Name, um.ResourceVersion, am.Namespace, am.Name, am.ResourceVersion)
		}
	}

	// GET: the admin's before and after must agree, or something changed in between.
	for _, view := range []string{"app-data-backup", "mongodb-backup"} {
		var ur, before, after resp
		for attempt := 0; attempt < 5; attempt++ {
			before, ur, after = admin.get(demo+"/"+view), h.get(demo+"/"+view), admin.get(demo+"/"+view)
			if bytes.Equal(before.body, after.body) {
				break
			}
		}
		um, am := metaOf(ur.body).Metadata, metaOf(before.body).Metadata
		switch {
		case ur.code != 200 || before.code != 200:
			t.Errorf("%s GET demo/%s: %d, the admin %d: %s", name, view, ur.code, before.code, short(ur.body))
		case view == "app-data-backup" && !bytes.Equal(ur.body, before.body):
			t.Errorf("%s GET demo/%s differs from the admin's:\n%s\n%s", name, view, short(ur.body), short(before.body))
		case um.Name != am.Name || um.ResourceVersion != am.ResourceVersion:
			t.Errorf("%s GET demo/%s: %s@%s, the admin's %s@%s", name, view, um.Name, um.ResourceVersion, am.Name, am.ResourceVersion)
		}
	}

	// WATCH from the list's version: a change to app-data-backup reaches both, after the same
	// events.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := demo + "?watch=1&resourceVersion=" + rv
	uw, aw := rawWatch(ctx, t, h, path), rawWatch(ctx, t, admin, path)
	mark := strconv.FormatInt(time.Now().UnixNano(), 10)
	if out, err := c.Kubectl("label", "--overwrite", "backupconfigurations.core.kubestash.com", "-n", "demo", "app-data-backup", "access-test="+mark); err != nil {
		t.Fatal(err, out)
	}
	ue, uerr := eventsUntilLabel(uw, "app-data-backup", mark)
	ae, aerr := eventsUntilLabel(aw, "app-data-backup", mark)
	if uerr != nil || aerr != nil {
		t.Fatalf("watching demo from %s: %s: %v; admin: %v", rv, name, uerr, aerr)
	}
	if len(ue) != len(ae) {
		t.Errorf("%s's watch of demo delivered %d events up to the change, the admin's %d", name, len(ue), len(ae))
	}
	for i := 0; i < len(ue) && i < len(ae); i++ {
		um, am := metaOf(ue[i].Object).Metadata, metaOf(ae[i].Object).Metadata
		if ue[i].Type != ae[i].Type || um.Name != am.Name || um.ResourceVersion != am.ResourceVersion {
			t.Errorf("%s's watch of demo, event %d: %s %s@%s, the admin's %s %s@%s", name, i, ue[i].Type, um.Name, um.ResourceVersion, ae[i].Type, am.Name, am.ResourceVersion)
		}
	}
	if last := len(ue) - 1; last >= 0 && len(ae) == len(ue) && !bytes.Equal(compactJSON(ue[last].Object), compactJSON(ae[last].Object)) {
		t.Errorf("%s's watch event for the change differs from the admin's:\n%s\n%s", name, short(ue[last].Object), short(ae[last].Object))
	}
	t.Logf("%s: LIST (%d views), GET and WATCH (%d events) of demo are the admin's", name, len(ul.Items), len(ue))
}

// sameViewsNoRV compares two LIST answers item by item, resourceVersions left out.
func sameViewsNoRV(a, b resp) error {
	la, err1 := decodeList(a.body)
	lb, err2 := decodeList(b.body)
	if a.code != 200 || b.code != 200 || err1 != nil || err2 != nil {
		return fmt.Errorf("LIST: %d %v and %d %v", a.code, err1, b.code, err2)
	}
	if len(la.Items) != len(lb.Items) {
		return fmt.Errorf("%d views and %d", len(la.Items), len(lb.Items))
	}
	strip := func(raw json.RawMessage) string {
		var m map[string]interface{}
		_ = json.Unmarshal(raw, &m)
		if md, ok := m["metadata"].(map[string]interface{}); ok {
			delete(md, "resourceVersion")
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for i := range la.Items {
		if x, y := strip(la.Items[i]), strip(lb.Items[i]); x != y {
			return fmt.Errorf("item %d differs:\n%s\n%s", i, short([]byte(x)), short([]byte(y)))
		}
	}
	return nil
}

// rawWatch opens a watch as the client's user and streams its events; the channel closes when
// the stream ends.
func rawWatch(ctx context.Context, t *testing.T, h *httpc, path string) <-chan watchEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
	req.Header.Set("Accept", "application/json")
	r, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		t.Fatalf("watch %s: %d %s", path, r.StatusCode, short(b))
	}
	ch := make(chan watchEvent, 256)
	go func() {
		defer close(ch)
		defer r.Body.Close()
		dec := json.NewDecoder(r.Body)
		for {
			var e watchEvent
			if dec.Decode(&e) != nil {
				return
			}
			ch <- e
		}
	}()
	return ch
}

// eventsUntilLabel collects events until the one that shows view with label access-test=mark.
func eventsUntilLabel(ch <-chan watchEvent, view, mark string) ([]watchEvent, error) {
	var out []watchEvent
	for e := range ch {
		out = append(out, e)
		var o struct {
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		_ = json.Unmarshal(e.Object, &o)
		if e.Type == "ERROR" {
			return out, fmt.Errorf("ERROR event: %s", short(e.Object))
		}
		if o.Metadata.Name == view && o.Metadata.Labels["access-test"] == mark {
			return out, nil
		}
	}
	return out, fmt.Errorf("the watch ended after %d events without the change", len(out))
}

func compactJSON(b []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// previewStatus is a preview answer's status (the rendered BackupConfiguration), as JSON.
func previewStatus(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("preview answer: %v: %s", err, short(body))
	}
	return string(compactJSON(p.Status))
}

// serviceAccountKubeconfig writes a kubeconfig with a token of backupview's service account.
func serviceAccountKubeconfig(t *testing.T, c *harness.Cluster) string {
	t.Helper()
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
`, c.Ports.APIServer, filepath.Join(c.Dir, "pki", "ca.crt"), strings.TrimSpace(tok))
	f := filepath.Join(c.Dir, "kubeconfig-sa")
	if err := os.WriteFile(f, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkRBACFiles reads the roles deploy/ grants backupview's service account. rbac-server.yaml:
// no Secrets, no wildcard resources in the core group, and only list and watch (the server
// reads through informers, never a get). rbac-encryption-secrets.yaml: list and watch on
// Secrets and nothing else, and not in the kustomization.
func checkRBACFiles(t *testing.T, c *harness.Cluster) {
	t.Helper()
	type rule struct {
		APIGroups []string `json:"apiGroups"`
		Resources []string `json:"resources"`
		Verbs     []string `json:"verbs"`
	}
	roles := func(file string) map[string][]rule {
		b, err := os.ReadFile(filepath.Join(c.Root, "deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]rule{}
		for _, doc := range strings.Split(string(b), "\n---") {
			var o struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Rules []rule `json:"rules"`
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatal(file, err)
			}
			if o.Kind == "ClusterRole" || o.Kind == "Role" {
				out[o.Kind+" "+o.Metadata.Name] = o.Rules
			}
		}
		return out
	}
	for name, rules := range roles("rbac-server.yaml") {
		for _, r := range rules {
			for _, res := range r.Resources {
				if res == "secrets" || (res == "*" && (contains(r.APIGroups, "") || contains(r.APIGroups, "*"))) {
					t.Errorf("deploy/rbac-server.yaml %s grants %v on %v %v", name, r.Verbs, r.APIGroups, r.Resources)
				}
			}
			for _, v := range r.Verbs {
				if v != "list" && v != "watch" {
					t.Errorf("deploy/rbac-server.yaml %s grants %s on %v (the server only lists and watches)", name, v, r.Resources)
				}
			}
		}
	}
	opt := roles("rbac-encryption-secrets.yaml")
	if r := opt["ClusterRole backupview:encryption-secrets"]; len(opt) != 1 || len(r) != 1 ||
		fmt.Sprint(r[0].APIGroups, r[0].Resources, r[0].Verbs) != "[] [secrets] [list watch]" {
		t.Errorf("deploy/rbac-encryption-secrets.yaml: want one ClusterRole with list and watch on secrets only, got %+v", opt)
	}
	if k, err := os.ReadFile(filepath.Join(c.Root, "deploy", "kustomization.yaml")); err != nil || bytes.Contains(k, []byte("rbac-encryption-secrets")) {
		t.Errorf("deploy/kustomization.yaml must not include the optional rbac-encryption-secrets.yaml (%v)", err)
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
