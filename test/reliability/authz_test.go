package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/fixtures"
	"github.com/kubestash/backupview/test/harness"
)

// authzUser is bound only in demo: to backupview:view and to a Role that may ask for previews.
// It may not get BackupStorages, RetentionPolicies, MongoDBs or Secrets anywhere.
const authzUser = "authz-carol"

// Distinctive details of the prod objects: none may reach authzUser.
const (
	prodSize  = "7.77 GiB"
	prodSize2 = "8.88 GiB"
	prodOwner = "platform-team-7f3"
)

// The objects of demo: a BackupConfiguration whose backends use prod's BackupStorage and
// RetentionPolicy (and demo's own BackupStorage), and one whose target lies in prod. They are
// applied with kubectl (client-side), so they carry last-applied-configuration.
const authzDemo = `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: kubedb.com/v1
kind: MongoDB
metadata: {name: app, namespace: demo}
spec: {version: "7.0.16"}
---
apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: gcs-demo, namespace: demo}
spec:
  storage: {provider: gcs, gcs: {bucket: demo-backups, secretName: gcs-secret}}
  usagePolicy: {allowedNamespaces: {from: Same}}
  deletionPolicy: Delete
status: {phase: Ready, totalSize: 1.5 GiB}
`

const authzBCs = `apiVersion: core.kubestash.com/v1alpha1
kind: BackupConfiguration
metadata:
  name: cross-ns
  namespace: demo
  annotations: {example.com/note: kept}
spec:
  target: {apiGroup: kubedb.com, kind: MongoDB, namespace: demo, name: app}
  backends:
  - name: prod-backend
    storageRef: {namespace: prod, name: s3-prod}
    retentionPolicy: {namespace: prod, name: keep-prod}
  - name: demo-backend
    storageRef: {namespace: demo, name: gcs-demo}
    retentionPolicy: {namespace: prod, name: keep-prod}
  sessions:
  - name: full-backup
    scheduler: {schedule: "0 */4 * * *", jobTemplate: {backoffLimit: 1}}
    repositories: [{name: app-repo, backend: prod-backend, directory: demo/app}]
    addon: {name: mongodb-addon, tasks: [{name: logical-backup}]}
---
apiVersion: core.kubestash.com/v1alpha1
kind: BackupConfiguration
metadata: {name: cross-target, namespace: demo}
spec:
  target: {apiGroup: kubedb.com, kind: MongoDB, namespace: prod, name: orders}
  backends:
  - name: b
    storageRef: {namespace: demo, name: gcs-demo}
    retentionPolicy: {namespace: prod, name: keep-prod}
  sessions:
  - name: full-backup
    scheduler: {schedule: "0 3 * * *", jobTemplate: {backoffLimit: 1}}
    repositories: [{name: orders-repo, backend: b, directory: prod/orders}]
    addon: {name: mongodb-addon, tasks: [{name: logical-backup}]}
`

// The objects of prod, created only after the first previews.
const authzProd = `apiVersion: storage.kubestash.com/v1alpha1
kind: BackupStorage
metadata: {name: s3-prod, namespace: prod}
spec:
  storage: {provider: s3, s3: {endpoint: s3.amazonaws.com, bucket: prod-backups, secretName: s3-secret}}
  usagePolicy: {allowedNamespaces: {from: All}}
  deletionPolicy: WipeOut
status: {phase: Ready, totalSize: ` + prodSize + `}
---
apiVersion: kubedb.com/v1
kind: MongoDB
metadata: {name: orders, namespace: prod}
spec: {version: "7.0.16"}
---
apiVersion: v1
kind: Secret
metadata: {name: enc, namespace: prod}
stringData: {RESTIC_PASSWORD: x}
`

const authzPolicy = `apiVersion: storage.kubestash.com/v1alpha1
kind: RetentionPolicy
metadata:
  name: keep-prod
  namespace: prod
  annotations: {example.com/owner: ` + prodOwner + `}
spec:
  maxRetentionPeriod: 1mo
  successfulSnapshots: {last: 5}
  usagePolicy: {allowedNamespaces: {from: All}}
`

// TestAuthorizationFollowsTheCaller (promise 12): a user bound only in demo learns nothing of
// prod through backupview. Preview warnings about prod objects are byte-identical whether
// they exist or not (storage, retention policy, target, encryption Secret with
// --check-encryption-secrets); a view in demo joined with prod's BackupStorage,
// RetentionPolicy or target shows that user only the references (restricted set, found
// false, no provider, size, annotations or creation time), in GET, LIST, watch and Table,
// while the admin sees everything; nobody ever gets kubectl's last-applied-configuration.
func TestAuthorizationFollowsTheCaller(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{ServerArgs: []string{"--check-encryption-secrets"}})
	ctx := context.Background()
	load := func(y string) {
		t.Helper()
		l, err := fixtures.NewLoader(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.LoadFiles(ctx, []byte(y)); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(y string) {
		t.Helper()
		if out, err := c.KubectlStdout(y, "apply", "-f", "-"); err != nil {
			t.Fatal(err, out)
		}
	}
	load(authzDemo)
	apply(authzBCs)

	// The user: view in demo, and previews in demo; nothing else.
	mintCert(t, c, "ca", authzUser, authzUser, "authz-testers")
	kc := userKubeconfig(t, c, authzUser)
	for _, args := range [][]string{
		{"apply", "-f", c.Root + "/deploy/rbac-aggregate.yaml"},
		{"create", "rolebinding", "carol-view", "-n", "demo", "--clusterrole=backupview:view", "--user=" + authzUser},
		{"create", "role", "previewer", "-n", "demo", "--verb=create", "--resource=backupconfigurationpreviews.ui.kubestash.com,backupconfigurationviews.ui.kubestash.com/preview"},
		{"create", "rolebinding", "carol-preview", "-n", "demo", "--role=previewer", "--user=" + authzUser},
	} {
		if out, err := c.Kubectl(args...); err != nil {
			t.Fatal(args, err, out)
		}
	}
	if err := waitUntil(30*time.Second, func() error {
		for _, a := range []access{
			{verb: "list", resource: "backupconfigurationviews.ui.kubestash.com", ns: "demo"},
			{verb: "create", resource: "backupconfigurationpreviews.ui.kubestash.com", ns: "demo"},
		} {
			if ok, err := canI(c, kc, a); err != nil || !ok {
				return fmt.Errorf("%s cannot %s %s yet: %v", authzUser, a.verb, a.resource, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []access{
		{verb: "get", resource: "backupstorages.storage.kubestash.com", ns: "prod"},
		{verb: "get", resource: "retentionpolicies.storage.kubestash.com", ns: "prod"},
		{verb: "get", resource: "mongodbs.kubedb.com", ns: "prod"},
		{verb: "get", resource: "secrets", ns: "prod"},
		{verb: "get", resource: "secrets", ns: "demo"},
	} {
		if ok, err := canI(c, kc, a); err != nil || ok {
			t.Fatalf("%s may %s %s in %s (%v): the test needs a user who may not", authzUser, a.verb, a.resource, a.ns, err)
		}
	}
	carol, admin := kasHTTP(t, c, authzUser), kasHTTP(t, c, "admin")

	// 1. Previews: the warnings about prod objects, before and after they exist.
	form := validForm(t, c.Root)
	spec := form["spec"].(map[string]interface{})
	spec["storageRef"] = obj{"namespace": "prod", "name": "s3-prod"}
	spec["retentionPolicy"] = obj{"namespace": "prod", "name": "keep-prod"}
	spec["target"] = obj{"apiGroup": "kubedb.com", "kind": "MongoDB", "namespace": "prod", "name": "orders"}
	task := spec["sessions"].([]interface{})[0].(map[string]interface{})["tasks"].([]interface{})[0].(map[string]interface{})
	task["encryptionSecret"] = obj{"namespace": "prod", "name": "enc"}
	body := mustJSON(form)
	preview := func(h *httpc) []string {
		t.Helper()
		r := h.do(ctx, http.MethodPost, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationpreviews", "application/json", bytes.NewReader(body))
		if r.err != nil || r.code != 201 {
			t.Fatalf("preview: %d %v %s", r.code, r.err, short(r.body))
		}
		return r.hdr.Values("Warning")
	}
	// The admin's preview tells when backupview's caches hold the prod objects.
	notFound := []string{"BackupStorage prod/s3-prod not found", "RetentionPolicy prod/keep-prod not found",
		"target MongoDB.kubedb.com prod/orders not found", "encryption Secret prod/enc not found"}
	adminSees := func(wantMissing bool) error {
		w := strings.Join(preview(admin), "\n")
		for _, m := range notFound {
			if strings.Contains(w, m) != wantMissing {
				return fmt.Errorf("the admin's preview warnings, want %q present=%v:\n%s", m, wantMissing, w)
			}
		}
		return nil
	}
	if err := waitUntil(30*time.Second, func() error { return adminSees(true) }); err != nil {
		t.Fatal(err)
	}
	missing := preview(carol)
	load(authzProd)
	apply(authzPolicy)
	if err := waitUntil(30*time.Second, func() error { return adminSees(false) }); err != nil {
		t.Fatal(err)
	}
	existing := preview(carol)
	if strings.Join(missing, "\n") != strings.Join(existing, "\n") {
		t.Errorf("%s's preview warnings tell whether prod objects exist:\nmissing:\n%s\nexisting:\n%s", authzUser, strings.Join(missing, "\n"), strings.Join(existing, "\n"))
	}
	for _, want := range []string{
		"cannot check BackupStorage prod/s3-prod: you cannot get backupstorages in namespace prod",
		"cannot check RetentionPolicy prod/keep-prod: you cannot get retentionpolicies in namespace prod",
		"cannot check target MongoDB.kubedb.com prod/orders: you cannot get mongodbs.kubedb.com in namespace prod",
		"cannot check encryption Secret prod/enc: you cannot get secrets in namespace prod",
	} {
		if !strings.Contains(strings.Join(existing, "\n"), want) {
			t.Errorf("%s's preview warnings lack %q:\n%s", authzUser, want, strings.Join(existing, "\n"))
		}
	}
	t.Logf("%s's preview warnings, with and without the prod objects:\n%s", authzUser, strings.Join(existing, "\n"))

	// 2. Views: wait until the admin's view has joined the prod objects.
	const demoViews = "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews"
	if err := waitUntil(30*time.Second, func() error {
		for _, name := range []string{"cross-ns", "cross-target"} {
			v, err := decodeAuthzView(admin.get(demoViews + "/" + name).body)
			if err != nil {
				return err
			}
			if !v.allFound() {
				return fmt.Errorf("the admin's view %s has not joined prod yet: %+v", name, v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The admin sees everything of prod, never last-applied-configuration.
	for _, name := range []string{"cross-ns", "cross-target"} {
		r := admin.get(demoViews + "/" + name)
		v, _ := decodeAuthzView(r.body)
		checkAdminView(t, "admin GET "+name, v, r.body)
	}

	// carol: GET, LIST, Table, watch.
	for _, name := range []string{"cross-ns", "cross-target"} {
		r := carol.get(demoViews + "/" + name)
		if r.code != 200 {
			t.Fatalf("%s GET demo/%s: %d %s", authzUser, name, r.code, short(r.body))
		}
		v, err := decodeAuthzView(r.body)
		if err != nil {
			t.Fatal(err)
		}
		checkRestrictedView(t, "GET "+name, v, r.body)
	}
	r := carol.get(demoViews)
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil || r.code != 200 || len(l.Items) != 2 {
		t.Fatalf("%s LIST demo: %d %v %s", authzUser, r.code, err, short(r.body))
	}
	for _, it := range l.Items {
		v, _ := decodeAuthzView(it)
		checkRestrictedView(t, "LIST item "+v.Metadata.Name, v, it)
	}

	tr := authzTable(ctx, t, carol, demoViews+"?includeObject=Object")
	var table struct {
		Kind string `json:"kind"`
		Rows []struct {
			Cells  []interface{}   `json:"cells"`
			Object json.RawMessage `json:"object"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(tr, &table); err != nil || table.Kind != "Table" || len(table.Rows) != 2 {
		t.Fatalf("%s Table of demo: %v %s", authzUser, err, short(tr))
	}
	for _, row := range table.Rows {
		v, _ := decodeAuthzView(row.Object)
		checkRestrictedView(t, "Table row "+v.Metadata.Name, v, row.Object)
		cells, _ := json.Marshal(row.Cells)
		authzNoLeak(t, "Table cells of "+v.Metadata.Name, cells)
	}

	// Watch: the initial events, and the change of a prod object (its size) as an event that
	// does not carry it.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cw := authzWatch(wctx, t, carol, demoViews+"?watch=1")
	aw := authzWatch(wctx, t, admin, demoViews+"?watch=1")
	for range 2 {
		e := authzNext(t, cw)
		if e.Type != "ADDED" {
			t.Fatalf("%s's watch: %s first", authzUser, e.Type)
		}
		v, _ := decodeAuthzView(e.Object)
		checkRestrictedView(t, "watch ADDED "+v.Metadata.Name, v, e.Object)
	}
	if out, err := c.Kubectl("patch", "backupstorages.storage.kubestash.com", "s3-prod", "-n", "prod", "--subresource=status", "--type=merge", "-p", `{"status":{"totalSize":"`+prodSize2+`"}}`); err != nil {
		t.Fatal(err, out)
	}
	adminRV := ""
	for adminRV == "" {
		e := authzNext(t, aw)
		if e.Type == "MODIFIED" && bytes.Contains(e.Object, []byte(prodSize2)) {
			adminRV = metaOf(e.Object).Metadata.ResourceVersion
		}
	}
	for {
		e := authzNext(t, cw)
		v, _ := decodeAuthzView(e.Object)
		checkRestrictedView(t, "watch "+e.Type+" "+v.Metadata.Name, v, e.Object)
		if e.Type == "MODIFIED" && v.Metadata.Name == "cross-ns" && v.Metadata.ResourceVersion == adminRV {
			break
		}
	}
}

// authzView is the part of a view this test reads.
type authzView struct {
	Metadata struct {
		Name            string            `json:"name"`
		ResourceVersion string            `json:"resourceVersion"`
		Annotations     map[string]string `json:"annotations"`
	} `json:"metadata"`
	BackupStorages []struct {
		Name, Namespace, Provider, Size, Phase, Restricted string
		Found                                              bool
		ConnectedRepositories                              int32
		CreationTimestamp                                  *string
	} `json:"backupStorages"`
	RetentionPolicies []struct {
		Name, Namespace, MaxRetentionPeriod, Restricted string
		Found                                           bool
		Annotations                                     map[string]string
		CreationTimestamp                               *string
	} `json:"retentionPolicies"`
	Target struct {
		APIGroup, Kind, Namespace, Name, Restricted string
		Found                                       bool
		CreationTimestamp                           *string
	} `json:"target"`
}

func decodeAuthzView(b []byte) (*authzView, error) {
	var v authzView
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%v: %s", err, short(b))
	}
	return &v, nil
}

func (v *authzView) allFound() bool {
	for _, s := range v.BackupStorages {
		if !s.Found {
			return false
		}
	}
	for _, p := range v.RetentionPolicies {
		if !p.Found {
			return false
		}
	}
	return v.Target.Found
}

// checkNoLeak: nothing of prod's details, and no last-applied-configuration.
func authzNoLeak(t *testing.T, where string, raw []byte) {
	t.Helper()
	for _, leak := range []string{prodSize, prodSize2, prodOwner, kubestash.LastAppliedAnnotation, `"provider":"s3"`, "prod-backups"} {
		if bytes.Contains(raw, []byte(leak)) {
			t.Errorf("%s: %s sees %q: %s", where, authzUser, leak, short(raw))
		}
	}
}

// checkRestrictedView: what lies in demo is shown in full, what lies in prod is a bare
// reference with restricted set.
func checkRestrictedView(t *testing.T, where string, v *authzView, raw []byte) {
	t.Helper()
	authzNoLeak(t, where, raw)
	for _, s := range v.BackupStorages {
		switch s.Namespace {
		case "prod":
			if s.Found || s.Restricted != "you cannot get backupstorages in namespace prod" || s.Provider != "" || s.Size != "" || s.Phase != "" || s.ConnectedRepositories != 0 || s.CreationTimestamp != nil {
				t.Errorf("%s: prod's BackupStorage shown to %s: %+v", where, authzUser, s)
			}
		case "demo":
			if !s.Found || s.Restricted != "" || s.Provider != "gcs" || s.Size != "1.5 GiB" {
				t.Errorf("%s: demo's own BackupStorage not shown in full: %+v", where, s)
			}
		}
	}
	for _, p := range v.RetentionPolicies {
		if p.Namespace == "prod" && (p.Found || p.Restricted != "you cannot get retentionpolicies in namespace prod" || p.Annotations != nil || p.MaxRetentionPeriod != "" || p.CreationTimestamp != nil) {
			t.Errorf("%s: prod's RetentionPolicy shown to %s: %+v", where, authzUser, p)
		}
	}
	tg := v.Target
	switch tg.Namespace {
	case "prod":
		if tg.Found || tg.Restricted != "you cannot get mongodbs.kubedb.com in namespace prod" || tg.CreationTimestamp != nil || tg.Kind != "MongoDB" || tg.Name != "orders" {
			t.Errorf("%s: prod's target shown to %s: %+v", where, authzUser, tg)
		}
	case "demo":
		if !tg.Found || tg.Restricted != "" || tg.CreationTimestamp == nil {
			t.Errorf("%s: demo's own target not shown in full: %+v", where, tg)
		}
	}
	if len(v.BackupStorages)+len(v.RetentionPolicies) == 0 {
		t.Errorf("%s: no references at all: %s", where, short(raw))
	}
}

func checkAdminView(t *testing.T, where string, v *authzView, raw []byte) {
	t.Helper()
	if bytes.Contains(raw, []byte(kubestash.LastAppliedAnnotation)) {
		t.Errorf("%s: last-applied-configuration copied: %s", where, short(raw))
	}
	if v.Metadata.Name == "cross-ns" && v.Metadata.Annotations["example.com/note"] != "kept" {
		t.Errorf("%s: the BackupConfiguration's own annotations are lost: %v", where, v.Metadata.Annotations)
	}
	for _, s := range v.BackupStorages {
		if s.Restricted != "" || !s.Found || (s.Namespace == "prod" && (s.Provider != "s3" || s.Size != prodSize || s.Phase != "Ready")) {
			t.Errorf("%s: %+v", where, s)
		}
	}
	for _, p := range v.RetentionPolicies {
		if p.Restricted != "" || !p.Found || p.Annotations["example.com/owner"] != prodOwner || p.MaxRetentionPeriod != "1mo" {
			t.Errorf("%s: %+v", where, p)
		}
	}
	if tg := v.Target; tg.Restricted != "" || !tg.Found || tg.CreationTimestamp == nil {
		t.Errorf("%s: target %+v", where, tg)
	}
}

// tableGet asks for a Table, as kubectl get does.
func authzTable(ctx context.Context, t *testing.T, h *httpc, path string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	r, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	if r.StatusCode != 200 {
		t.Fatalf("Table %s: %d %s", path, r.StatusCode, short(b.Bytes()))
	}
	return b.Bytes()
}

// authzWatch streams a watch's events; the channel closes when the stream ends.
func authzWatch(ctx context.Context, t *testing.T, h *httpc, path string) <-chan watchEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
	req.Header.Set("Accept", "application/json")
	r, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 {
		r.Body.Close()
		t.Fatalf("watch %s: %d", path, r.StatusCode)
	}
	ch := make(chan watchEvent, 64)
	go func() {
		defer close(ch)
		defer r.Body.Close()
		dec := json.NewDecoder(r.Body)
		for {
			var e watchEvent
			if err := dec.Decode(&e); err != nil {
				return
			}
			ch <- e
		}
	}()
	return ch
}

func authzNext(t *testing.T, ch <-chan watchEvent) watchEvent {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the watch ended")
		}
		if e.Type == "ERROR" {
			t.Fatalf("watch ERROR: %s", short(e.Object))
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event within 30 s")
	}
	return watchEvent{}
}
