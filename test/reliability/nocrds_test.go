package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/test/harness"
	"github.com/kubestash/backupview/test/scale"
)

// TestKubeStashNotInstalled (promise 3): with no KubeStash CRDs, backupview starts and stays
// Available, lists are empty with a Warning naming the missing CRDs, a watch and a preview
// work; installing the CRDs later makes views appear (on the open watch too) without a
// restart. A target kind that is not installed never fails a request: the view shows the
// target with found=false, and finds it once the kind and the object exist.
func TestKubeStashNotInstalled(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{SkipCRDs: true})
	kas := kasHTTP(t, c, "admin")
	bvPID := pidOf(c, "backupview")
	available := func(t *testing.T) {
		t.Helper()
		out, err := c.Kubectl("get", "apiservice", "v1alpha1.ui.kubestash.com", "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}")
		if err != nil || out != "True" {
			t.Errorf("APIService not Available: %q %v", out, err)
		}
	}
	s := newSteps(t)
	s.run("the APIService is Available without the CRDs", available)
	s.run("lists are empty with a Warning naming the missing CRDs", func(t *testing.T) {
		for _, path := range []string{viewsPath, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews"} {
			r := kas.get(path)
			l, err := decodeList(r.body)
			if r.code != 200 || err != nil || len(l.Items) != 0 {
				t.Fatalf("LIST %s without CRDs: %d %v %s", path, r.code, err, short(r.body))
			}
			w := strings.Join(r.hdr.Values("Warning"), " ")
			if !strings.Contains(w, "CRDs are not installed") || !strings.Contains(w, "backupconfigurations.core.kubestash.com") {
				t.Errorf("LIST %s without CRDs: Warning %q does not say which CRDs are missing", path, w)
			}
		}
	})
	s.run("kubectl get bcv -A finds none and warns", func(t *testing.T) {
		out, err := c.Kubectl("get", "bcv", "-A")
		if err != nil || !strings.Contains(out, "No resources found") || !strings.Contains(out, "Warning: KubeStash CRDs are not installed") {
			t.Errorf("kubectl get bcv -A without CRDs: %v\n%s", err, out)
		}
	})
	s.run("GET of a view is 404", func(t *testing.T) {
		if r := kas.get("/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/x"); r.code != 404 {
			t.Errorf("GET without CRDs: %d, want 404: %s", r.code, short(r.body))
		}
	})
	s.run("readyz is 200 without the CRDs", func(t *testing.T) {
		if r := bvDirect(t, c, c.Ports.Server).get("/readyz"); r.code != 200 {
			t.Errorf("/readyz without CRDs: %d %s", r.code, short(r.body))
		}
	})
	s.run("a preview works and warns of a target kind that is not installed", func(t *testing.T) {
		// The preview needs nothing from the cluster.
		form := `{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x","namespace":"demo"},
"spec":{"storageRef":{"namespace":"stash","name":"s3"},"retentionPolicy":{"namespace":"stash","name":"keep"},
"sessions":[{"name":"full","schedule":"0 * * * *","addon":"mongodb-addon","tasks":[{"name":"logical-backup","repoName":"r"}]}],
"target":{"apiGroup":"example.com","kind":"Widget","namespace":"demo","name":"w"}}}`
		if r := kas.do(context.Background(), http.MethodPost, "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationpreviews", "application/json", strings.NewReader(form)); r.code != 201 {
			t.Errorf("preview without CRDs: %d %s", r.code, short(r.body))
		} else if w := strings.Join(r.hdr.Values("Warning"), " "); !strings.Contains(w, "Widget") {
			t.Errorf("preview of a target kind that is not installed: no Warning about it: %q", w)
		}
	})

	// A watch opened now must see the views appear later.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	added := map[string]bool{}
	watchErr := make(chan error, 1)
	s.run("a watch opens without the CRDs", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, kas.base+viewsPath+"?watch=1", nil)
		wr, err := (&http.Client{Transport: kas.hc.Transport}).Do(req)
		if err != nil || wr.StatusCode != 200 {
			t.Fatalf("WATCH without CRDs: %v %v", err, wr)
		}
		go func() {
			defer wr.Body.Close()
			sc := bufio.NewScanner(wr.Body)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for sc.Scan() {
				var e watchEvent
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					continue
				}
				m := metaOf(e.Object)
				if e.Type == "ERROR" {
					watchErr <- fmt.Errorf("ERROR event: %s", short(e.Object))
					return
				}
				mu.Lock()
				if e.Type == "ADDED" {
					added[m.Metadata.Namespace+"/"+m.Metadata.Name] = true
				}
				mu.Unlock()
			}
		}()
	})

	// Install KubeStash (its CRDs only: no target kinds), then objects whose targets are of
	// kinds the cluster does not serve: example.com Widget, and kubedb.com Postgres (the
	// generated target of BackupConfiguration 1). Every later step needs this one.
	var installed time.Time
	sc := scale.Scale{Name: "nocrds", Namespaces: 1, BCs: 2, Storages: 1, Policies: 1}
	keys := []string{sc.Key(0), sc.Key(1)}
	s.run("the CRDs and objects are installed later", func(t *testing.T) {
		crds, _ := c.CRDDir()
		if out, err := c.Kubectl("apply", "--server-side", "-f", crds); err != nil {
			t.Fatal(err, out)
		}
		if err := c.WaitCRDsEstablished(); err != nil {
			t.Fatal(err)
		}
		installed = time.Now()
		var first []item
		for _, o := range append(sc.NamespaceObjects(), sc.SharedObjects()...) {
			first = append(first, itemOf(o))
		}
		widget := itemOf(sc.BackupConfiguration(0))
		widget.obj.Object["spec"].(map[string]interface{})["target"] = obj{"apiGroup": "example.com", "kind": "Widget", "namespace": sc.Namespace(0), "name": "w"}
		rest := []item{widget, itemOf(sc.BackupConfiguration(1))}
		// The CRDs may take a moment to be served for writes.
		if err := waitUntil(30*time.Second, func() error {
			return createAll(context.Background(), c.Dyn, first, 2)
		}); err != nil {
			t.Fatal(err)
		}
		if err := createAll(context.Background(), c.Dyn, rest, 2); err != nil {
			t.Fatal(err)
		}
	})
	// The checks of the views need them listed: they come after this step.
	s.run("views appear within 30 s of installing the CRDs, without a Warning", func(t *testing.T) {
		s.after(t, "the CRDs and objects are installed later")
		// backupview looks for missing CRDs every 10 s (--source-poll-interval).
		if err := waitUntil(30*time.Second, func() error {
			r := kas.get(viewsPath)
			l, err := decodeList(r.body)
			if r.code != 200 || err != nil || len(l.Items) != 2 {
				return fmt.Errorf("LIST %d %v %s", r.code, err, short(r.body))
			}
			if w := r.hdr.Values("Warning"); len(w) > 0 {
				return fmt.Errorf("Warning still there: %q", w)
			}
			return nil
		}); err != nil {
			t.Fatalf("views did not appear within 30 s of installing the CRDs: %v", err)
		}
		t.Logf("views appeared %s after the CRDs were installed", time.Since(installed).Round(time.Millisecond))
	})
	s.run("the watch opened before the CRDs sees the views appear", func(t *testing.T) {
		s.after(t, "a watch opens without the CRDs", "the CRDs and objects are installed later")
		if err := waitUntil(5*time.Second, func() error {
			select {
			case err := <-watchErr:
				return err
			default:
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				if !added[k] {
					return fmt.Errorf("watch opened before the CRDs has no ADDED for %s: %v", k, added)
				}
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	})

	s.run("a target of a kind that is not installed shows found=false", func(t *testing.T) {
		s.after(t, "views appear within 30 s of installing the CRDs, without a Warning")
		for i, k := range keys {
			ns, name, _ := strings.Cut(k, "/")
			v, err := c.BV.UiV1alpha1().BackupConfigurationViews(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("GET %s: %v", k, err)
			}
			if v.Target.Found || v.Target.Kind == "" {
				t.Errorf("%s: target of a kind that is not installed: %+v", k, v.Target)
			}
			if i == 0 && v.Summary.Target != "Widget "+sc.Namespace(0)+"/w" {
				t.Errorf("%s: summary.target %q", k, v.Summary.Target)
			}
		}
	})
	s.run("kubectl get bcv answers for such targets", func(t *testing.T) {
		s.after(t, "views appear within 30 s of installing the CRDs, without a Warning")
		for _, args := range [][]string{
			{"get", "bcv", "-A", "-o", "wide"},
			{"get", "bcv", "-A", "--field-selector", "target.kind=Widget", "-o", "name"},
			{"get", "bcv", "-n", sc.Namespace(0), scale.BCName(0), "-o", "yaml"},
		} {
			if out, err := c.KubectlStdout("", args...); err != nil || strings.TrimSpace(out) == "" {
				t.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
	s.run("a target kind installed later is found without a restart", func(t *testing.T) {
		s.after(t, "views appear within 30 s of installing the CRDs, without a Warning")
		if out, err := c.Kubectl("apply", "--server-side", "-f", c.Root+"/hack/demo/target-crds.yaml"); err != nil {
			t.Fatal(err, out)
		}
		if err := c.WaitCRDsEstablished(); err != nil {
			t.Fatal(err)
		}
		if err := waitUntil(30*time.Second, func() error {
			return createAll(context.Background(), c.Dyn, []item{itemOf(sc.Target(1))}, 1)
		}); err != nil {
			t.Fatal(err)
		}
		if err := waitUntil(30*time.Second, func() error {
			ns, name, _ := strings.Cut(keys[1], "/")
			v, err := c.BV.UiV1alpha1().BackupConfigurationViews(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !v.Target.Found {
				return fmt.Errorf("target still found=false")
			}
			return nil
		}); err != nil {
			t.Errorf("a target kind installed later was not picked up: %v", err)
		}
	})
	s.run("the APIService stays Available", available)
	s.run("backupview was not restarted", func(t *testing.T) {
		if pidOf(c, "backupview") != bvPID || !alive(bvPID) {
			t.Error("backupview was restarted")
		}
	})
	s.run("backupview logged no panic", func(t *testing.T) {
		if p := serverLogHasPanic(c); p != "" {
			t.Errorf("backupview logged a panic: %s", p)
		}
	})

	// A target kind that is installed but broken: listing it fails (its conversion webhook
	// is down). Requests still work, and backupview still starts: it waits a bounded time
	// for such a kind, then serves with found=false. The steps after this one need it.
	s.run("a target kind that cannot be listed is installed", func(t *testing.T) {
		s.after(t, "the CRDs and objects are installed later")
		if out, err := c.KubectlStdout(brokenCRD, "apply", "-f", "-"); err != nil {
			t.Fatal(err, out)
		}
		if err := c.WaitCRDsEstablished(); err != nil {
			t.Fatal(err)
		}
		gvrWidgetV1 := gvrBC
		gvrWidgetV1.Group, gvrWidgetV1.Version, gvrWidgetV1.Resource = "broken.example.com", "v1", "widgets"
		if err := waitUntil(30*time.Second, func() error {
			return createAll(context.Background(), c.Dyn, []item{{gvr: gvrWidgetV1, obj: u("broken.example.com/v1", "Widget", sc.Namespace(0), "w", nil)}}, 1)
		}); err != nil {
			t.Fatal(err)
		}
		broken := itemOf(sc.BackupConfiguration(0))
		broken.obj.SetName("broken-target")
		broken.obj.Object["spec"].(map[string]interface{})["target"] = obj{"apiGroup": "broken.example.com", "kind": "Widget", "namespace": sc.Namespace(0), "name": "w"}
		if err := createAll(context.Background(), c.Dyn, []item{broken}, 1); err != nil {
			t.Fatal(err)
		}
	})
	getBroken := func() error {
		v, err := c.BV.UiV1alpha1().BackupConfigurationViews(sc.Namespace(0)).Get(context.Background(), "broken-target", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if v.Target.Found || v.Target.Kind != "Widget" {
			return fmt.Errorf("target %+v", v.Target)
		}
		return nil
	}
	s.run("a view whose target kind cannot be listed shows found=false", func(t *testing.T) {
		s.after(t, "a target kind that cannot be listed is installed")
		if err := waitUntil(10*time.Second, getBroken); err != nil {
			t.Errorf("a view whose target kind cannot be listed: %v", err)
		}
	})
	s.run("readyz is 200 with a target kind that cannot be listed", func(t *testing.T) {
		s.after(t, "a target kind that cannot be listed is installed")
		if r := bvDirect(t, c, c.Ports.Server).get("/readyz"); r.code != 200 {
			t.Errorf("/readyz with a target kind that cannot be listed: %d %s", r.code, short(r.body))
		}
	})
	s.run("backupview starts while a target kind cannot be listed", func(t *testing.T) {
		s.after(t, "a target kind that cannot be listed is installed")
		if err := c.StopServer(); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		if err := c.StartServer(); err != nil { // waits up to 60 s for /readyz and the APIService
			t.Fatalf("backupview does not start while a target kind cannot be listed: %v", err)
		}
		t.Logf("restarted with a target kind that cannot be listed: ready after %s", time.Since(restarted).Round(time.Millisecond))
	})
	s.run("after the restart the view still shows found=false", func(t *testing.T) {
		s.after(t, "backupview starts while a target kind cannot be listed")
		if err := getBroken(); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	})
}

// brokenCRD serves Widgets in v1 (stored) and v2 (preferred), converted by a webhook that
// does not exist: every read of v2 fails.
const brokenCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.broken.example.com
spec:
  group: broken.example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig:
        url: https://127.0.0.1:1/convert
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v2
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`
