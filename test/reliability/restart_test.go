package reliability

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	informers "github.com/kubestash/backupview/pkg/generated/informers/externalversions"
	"github.com/kubestash/backupview/test/harness"
)

// etcd is the JSON gateway of the cluster's etcd (/v3/kv/...): the only way to change
// objects while kube-apiserver is down. Custom resources are stored as JSON under
// /registry/<group>/<resource>/<namespace>/<name>.
type etcd struct{ url string }

func (e etcd) call(path string, req interface{}, out interface{}) error {
	b, _ := json.Marshal(req)
	r, err := http.Post(e.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		return fmt.Errorf("etcd %s: %s", path, r.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(r.Body).Decode(out)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (e etcd) get(key string) (map[string]interface{}, error) {
	var out struct {
		Kvs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := e.call("/v3/kv/range", map[string]string{"key": b64(key)}, &out); err != nil {
		return nil, err
	}
	if len(out.Kvs) != 1 {
		return nil, fmt.Errorf("etcd: %s not found", key)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
	if err != nil {
		return nil, err
	}
	var o map[string]interface{}
	return o, json.Unmarshal(raw, &o)
}

func (e etcd) put(key string, o map[string]interface{}) error {
	if md, ok := o["metadata"].(map[string]interface{}); ok {
		delete(md, "resourceVersion")
	}
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return e.call("/v3/kv/put", map[string]string{"key": b64(key), "value": base64.StdEncoding.EncodeToString(b)}, nil)
}

func (e etcd) del(key string) error {
	var out struct {
		Deleted string `json:"deleted"`
	}
	if err := e.call("/v3/kv/deleterange", map[string]string{"key": b64(key)}, &out); err != nil {
		return err
	}
	if out.Deleted != "1" {
		return fmt.Errorf("etcd: deleting %s deleted %q keys", key, out.Deleted)
	}
	return nil
}

func crKey(group, resource, ns, name string) string {
	return fmt.Sprintf("/registry/%s/%s/%s/%s", group, resource, ns, name)
}

// outageState is what the views must show after the outage.
func outageState(vs []v1alpha1.BackupConfigurationView) error {
	have := map[string]*v1alpha1.BackupConfigurationView{}
	for i := range vs {
		have[vs[i].Namespace+"/"+vs[i].Name] = &vs[i]
	}
	if _, ok := have["analytics/clickstream-backup"]; ok {
		return fmt.Errorf("analytics/clickstream-backup was deleted during the outage but is still listed")
	}
	n := have["demo/outage-new-backup"]
	if n == nil {
		return fmt.Errorf("demo/outage-new-backup was created during the outage but is not listed")
	}
	if n.Summary.Schedule != "*/7 * * * *" {
		return fmt.Errorf("demo/outage-new-backup schedule = %q", n.Summary.Schedule)
	}
	m := have["demo/mongodb-backup"]
	if m == nil || !m.Basic.Paused {
		return fmt.Errorf("demo/mongodb-backup was paused during the outage: %+v", m)
	}
	for _, s := range m.BackupStorages {
		if s.Name == "s3-shared" && s.Size != "99 TiB" {
			return fmt.Errorf("BackupStorage kubestash/s3-shared size changed to 99 TiB during the outage, view shows %q", s.Size)
		}
	}
	return nil
}

// TestKubeAPIServerRestart (promise 2): kube-apiserver stops (its process only; etcd stays)
// while objects change underneath (written to etcd directly: a BackupConfiguration paused,
// one deleted, one created, a joined BackupStorage changed), then starts again. Watches
// through kube-apiserver end when it stops; within 30 s of it being back, LIST through
// kube-apiserver, backupview's /readyz, the APIService and a client-go informer that was
// never restarted all show every change made during the outage, and later changes flow again.
func TestKubeAPIServerRestart(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{Fixtures: []string{"hack/demo/samples.yaml"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	direct := bvDirect(t, c, c.Ports.Server)
	bvPID := pidOf(c, "backupview")

	// Setup (a failure here ends the test): a client-go informer on the views, through
	// kube-apiserver, running all along; a plain watch through kube-apiserver, and one
	// straight to backupview.
	f := informers.NewSharedInformerFactory(c.BV, 0)
	inf := f.Ui().V1alpha1().BackupConfigurationViews().Informer()
	var evMu sync.Mutex
	events := 0
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { evMu.Lock(); events++; evMu.Unlock() },
		UpdateFunc: func(_, _ interface{}) { evMu.Lock(); events++; evMu.Unlock() },
		DeleteFunc: func(interface{}) { evMu.Lock(); events++; evMu.Unlock() },
	})
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	informerViews := func() []v1alpha1.BackupConfigurationView {
		var out []v1alpha1.BackupConfigurationView
		for _, o := range inf.GetStore().List() {
			out = append(out, *o.(*v1alpha1.BackupConfigurationView))
		}
		return out
	}
	l, err := c.BV.UiV1alpha1().BackupConfigurationViews("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kasWatch, err := c.BV.UiV1alpha1().BackupConfigurationViews("").Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer kasWatch.Stop()
	directWatch, err := clientFor(c, c.Ports.Server).UiV1alpha1().BackupConfigurationViews("").Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer directWatch.Stop()
	directSeen := map[string]map[watch.EventType]bool{}
	var directMu sync.Mutex
	directEnded := make(chan struct{})
	go func() {
		defer close(directEnded)
		for e := range directWatch.ResultChan() {
			if v, ok := e.Object.(*v1alpha1.BackupConfigurationView); ok {
				directMu.Lock()
				k := v.Namespace + "/" + v.Name
				if directSeen[k] == nil {
					directSeen[k] = map[watch.EventType]bool{}
				}
				directSeen[k][e.Type] = true
				directMu.Unlock()
			}
		}
	}()

	s := newSteps(t)
	s.run("the informer holds the 7 samples", func(t *testing.T) {
		if n := len(informerViews()); n != 7 {
			t.Fatalf("informer holds %d views, want the 7 samples", n)
		}
	})

	var stopped time.Time
	s.run("kube-apiserver stops", func(t *testing.T) {
		stopped = time.Now()
		if err := c.CP.StopAPIServer(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("kube-apiserver stopped in %s", time.Since(stopped).Round(time.Millisecond))
	})
	s.run("a watch through kube-apiserver ends when it stops", func(t *testing.T) {
		s.after(t, "kube-apiserver stops")
		ended := false
		for deadline := time.After(15 * time.Second); !ended; {
			select {
			case e, ok := <-kasWatch.ResultChan():
				if !ok {
					ended = true
				} else if e.Type == watch.Error {
					t.Logf("watch through kube-apiserver: ERROR event %v", e.Object)
					ended = true
				}
			case <-deadline:
				t.Fatal("a watch through kube-apiserver was still open 15 s after kube-apiserver stopped")
			}
		}
		t.Logf("watch through kube-apiserver ended %s after the stop began", time.Since(stopped).Round(time.Millisecond))
	})

	// The recovery checks below compare against these changes: they need this step.
	s.run("objects change in etcd while kube-apiserver is down", func(t *testing.T) {
		s.after(t, "kube-apiserver stops")
		e := etcd{url: fmt.Sprintf("http://127.0.0.1:%d", c.Ports.Etcd)}
		mongo, err := e.get(crKey("core.kubestash.com", "backupconfigurations", "demo", "mongodb-backup"))
		if err != nil {
			t.Fatal(err)
		}
		created := deepCopyJSON(t, mongo)
		mongo["spec"].(map[string]interface{})["paused"] = true
		if err := e.put(crKey("core.kubestash.com", "backupconfigurations", "demo", "mongodb-backup"), mongo); err != nil {
			t.Fatal(err)
		}
		md := created["metadata"].(map[string]interface{})
		md["name"], md["uid"] = "outage-new-backup", "0e7a3a36-0000-4000-8000-000000000001"
		delete(md, "managedFields")
		created["spec"].(map[string]interface{})["sessions"].([]interface{})[0].(map[string]interface{})["scheduler"].(map[string]interface{})["schedule"] = "*/7 * * * *"
		if err := e.put(crKey("core.kubestash.com", "backupconfigurations", "demo", "outage-new-backup"), created); err != nil {
			t.Fatal(err)
		}
		if err := e.del(crKey("core.kubestash.com", "backupconfigurations", "analytics", "clickstream-backup")); err != nil {
			t.Fatal(err)
		}
		storage, err := e.get(crKey("storage.kubestash.com", "backupstorages", "kubestash", "s3-shared"))
		if err != nil {
			t.Fatal(err)
		}
		storage["status"].(map[string]interface{})["totalSize"] = "99 TiB"
		if err := e.put(crKey("storage.kubestash.com", "backupstorages", "kubestash", "s3-shared"), storage); err != nil {
			t.Fatal(err)
		}
	})
	s.run("backupview stays up while kube-apiserver is down", func(t *testing.T) {
		s.after(t, "kube-apiserver stops")
		time.Sleep(3 * time.Second)
		if !alive(bvPID) {
			t.Fatal("backupview exited while kube-apiserver was down")
		}
	})

	// Start kube-apiserver again (tried even if the stop failed); everything must recover
	// within 30 s of it being back.
	var back time.Time
	s.run("kube-apiserver starts again", func(t *testing.T) {
		if err := c.CP.StartAPIServer(context.Background()); err != nil {
			t.Fatal(err)
		}
		back = time.Now()
		t.Logf("kube-apiserver down for %s", back.Sub(stopped).Round(time.Millisecond))
	})
	const within = 30 * time.Second
	recovered := func(what string, f func() error) {
		s.run(strings.ReplaceAll(what, "/", "")+" recovers within 30 s", func(t *testing.T) {
			s.after(t, "kube-apiserver starts again", "objects change in etcd while kube-apiserver is down")
			if err := waitUntil(within-time.Since(back), f); err != nil {
				t.Errorf("%s did not recover within %s of kube-apiserver being ready: %v", what, within, err)
				return
			}
			t.Logf("%s recovered %s after kube-apiserver was ready", what, time.Since(back).Round(time.Millisecond))
		})
	}
	recovered("LIST through kube-apiserver", func() error {
		l, err := c.BV.UiV1alpha1().BackupConfigurationViews("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		return outageState(l.Items)
	})
	recovered("backupview /readyz", func() error {
		if r := direct.get("/readyz"); r.err != nil || r.code != 200 {
			return fmt.Errorf("%d %v %s", r.code, r.err, short(r.body))
		}
		return nil
	})
	recovered("APIService Available", func() error {
		out, err := c.Kubectl("get", "apiservice", "v1alpha1.ui.kubestash.com", "-o", "jsonpath={.status.conditions[?(@.type=='Available')].status}")
		if err != nil || out != "True" {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	recovered("kubectl get bcv -A", func() error {
		out, err := c.KubectlStdout("", "get", "bcv", "-A", "--no-headers")
		if err != nil || !strings.Contains(out, "outage-new-backup") || strings.Contains(out, "clickstream-backup") {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	recovered("client-go informer (never restarted)", func() error { return outageState(informerViews()) })

	s.run("the watch straight to backupview follows the outage or ends", func(t *testing.T) {
		s.after(t, "kube-apiserver starts again", "objects change in etcd while kube-apiserver is down")
		select {
		case <-directEnded:
			t.Log("the watch straight to backupview ended during the outage")
		default:
			if err := waitUntil(5*time.Second, func() error {
				directMu.Lock()
				defer directMu.Unlock()
				if !directSeen["analytics/clickstream-backup"][watch.Deleted] || !directSeen["demo/outage-new-backup"][watch.Added] || !directSeen["demo/mongodb-backup"][watch.Modified] {
					return fmt.Errorf("events seen: %v", directSeen)
				}
				return nil
			}); err != nil {
				t.Errorf("the watch straight to backupview stayed open but missed the outage's changes: %v", err)
			}
		}
	})

	s.run("later changes reach the same informer", func(t *testing.T) {
		s.after(t, "kube-apiserver starts again")
		evMu.Lock()
		before := events
		evMu.Unlock()
		if out, err := c.Kubectl("patch", "backupconfigurations.core.kubestash.com", "-n", "demo", "mongodb-backup", "--type=merge", "-p", `{"spec":{"paused":false}}`); err != nil {
			t.Fatal(err, out)
		}
		if err := waitUntil(5*time.Second, func() error {
			for _, v := range informerViews() {
				if v.Namespace == "demo" && v.Name == "mongodb-backup" && !v.Basic.Paused {
					return nil
				}
			}
			return fmt.Errorf("informer still shows demo/mongodb-backup paused (%d events since)", events-before)
		}); err != nil {
			t.Error(err)
		}
	})
	s.run("backupview was not restarted", func(t *testing.T) {
		if !alive(bvPID) || pidOf(c, "backupview") != bvPID {
			t.Error("backupview was restarted: the recovery must not need that")
		}
	})
	s.run("backupview logged no panic", func(t *testing.T) {
		if p := serverLogHasPanic(c); p != "" {
			t.Errorf("backupview logged a panic: %s", p)
		}
	})
}

func deepCopyJSON(t *testing.T, o map[string]interface{}) map[string]interface{} {
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]interface{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
