package reliability

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
	"github.com/kubestash/backupview/test/scale"
)

var gvrAPIService = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// TestCascade (promise: KubeStash's ownership works with backupview in the cluster): deleting a
// BackupConfiguration makes kube-controller-manager's garbage collector delete the
// BackupSessions and trigger CronJobs that name it as their controller (as KubeStash creates
// them), in the background and in the foreground, and its view goes with a DELETED event;
// a namespace holding KubeStash objects deletes completely (the namespace controller asks
// discovery of every group, backupview's included); the APIService stays Available throughout.
func TestCascade(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{})
	ctx := context.Background()
	const ns = "cascade"
	unavailable := watchAPIService(t, c)

	// A namespace with what KubeStash keeps there: a BackupStorage, a RetentionPolicy, a
	// Repository, a target, and BackupConfigurations with their sessions and trigger CronJobs.
	first := []item{
		{gvr: gvrNS, obj: u("v1", "Namespace", "", ns, nil)},
		{gvr: gvrStorage, obj: u("storage.kubestash.com/v1alpha1", "BackupStorage", ns, "local-s3", obj{
			"spec": obj{"storage": obj{"provider": "s3", "s3": obj{"bucket": "b", "endpoint": "s3.amazonaws.com"}}, "deletionPolicy": "WipeOut"}})},
		{gvr: gvrPolicy, obj: u("storage.kubestash.com/v1alpha1", "RetentionPolicy", ns, "keep", obj{"spec": obj{"maxRetentionPeriod": "1mo"}})},
		{gvr: gvrMongoDB, obj: u("kubedb.com/v1", "MongoDB", ns, "db", obj{"spec": obj{"version": "6.0"}})},
		{gvr: gvrRepo, obj: u("storage.kubestash.com/v1alpha1", "Repository", ns, "db-repo", obj{"spec": obj{
			"appRef":     obj{"apiGroup": "kubedb.com", "kind": "MongoDB", "namespace": ns, "name": "db"},
			"storageRef": obj{"namespace": ns, "name": "local-s3"}, "path": ns + "/db"}})},
	}
	if err := createAll(ctx, c.Dyn, first, 1); err != nil {
		t.Fatal(err)
	}
	bcs := []string{"background-backup", "foreground-backup", "kept-backup"}
	const sessions = 3
	for _, name := range bcs {
		created, err := c.Dyn.Resource(gvrBC).Namespace(ns).Create(ctx, cascadeBC(ns, name), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := createAll(ctx, c.Dyn, dependents(created, sessions), 4); err != nil {
			t.Fatal(err)
		}
	}
	// In a real cluster KubeStash's CRDs are long installed when a BackupConfiguration is
	// deleted; here they are seconds old, and the garbage collector picks new kinds up from
	// discovery every 30 s. Until it watches them it still notices a deleted owner, but late
	// (by polling with backoff): wait for its watches so that the timings below are a real
	// cluster's.
	waitGCWatches(t, c, "backupconfigurations", "backupsessions")

	views := newViewWatch(t, c, ns)
	if err := views.until(30*time.Second, func(v map[string]*v1alpha1.BackupConfigurationView) bool {
		for _, name := range bcs {
			if v[name] == nil || len(v[name].BackupSessions) != sessions || len(v[name].CronJobs) != 1 {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("the views never showed %d sessions and a CronJob each: %v", sessions, err)
	}

	// Background (kubectl delete's default): the BackupConfiguration goes at once, the
	// garbage collector deletes its dependents after.
	deleted := time.Now()
	if err := c.Dyn.Resource(gvrBC).Namespace(ns).Delete(ctx, "background-backup", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := views.until(30*time.Second, func(v map[string]*v1alpha1.BackupConfigurationView) bool { return v["background-backup"] == nil }); err != nil {
		t.Fatalf("no DELETED event for the view of the deleted BackupConfiguration: %v", err)
	}
	viewGone := time.Since(deleted)
	waitNoDependents(t, c, ns, "background-backup", 60*time.Second)
	t.Logf("background deletion: view DELETED after %s, sessions and CronJob collected after %s",
		viewGone.Round(time.Millisecond), time.Since(deleted).Round(time.Millisecond))

	// Foreground (kubectl delete --cascade=foreground): the dependents (blockOwnerDeletion)
	// go first, the BackupConfiguration and so its view last.
	deleted = time.Now()
	fg := metav1.DeletePropagationForeground
	if err := c.Dyn.Resource(gvrBC).Namespace(ns).Delete(ctx, "foreground-backup", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	if err := views.until(60*time.Second, func(v map[string]*v1alpha1.BackupConfigurationView) bool { return v["foreground-backup"] == nil }); err != nil {
		t.Fatalf("no DELETED event for the view of the BackupConfiguration deleted in the foreground: %v", err)
	}
	if left := dependentsOf(t, c, ns, "foreground-backup"); len(left) > 0 {
		t.Errorf("foreground deletion: the view went while dependents remained: %v", left)
	}
	t.Logf("foreground deletion: dependents collected and view DELETED after %s", time.Since(deleted).Round(time.Millisecond))

	// What nothing owns stays.
	if v := views.get("kept-backup"); v == nil || len(v.BackupSessions) != sessions || len(v.CronJobs) != 1 {
		t.Errorf("kept-backup lost sessions or its CronJob to the garbage collector: %+v", v)
	}
	if left := dependentsOf(t, c, ns, "kept-backup"); len(left) != sessions+1 {
		t.Errorf("kept-backup's dependents: %v, want %d sessions and a CronJob", left, sessions)
	}

	// The namespace, with everything in it.
	deleted = time.Now()
	if err := c.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNamespaceGone(t, c, ns, 90*time.Second)
	t.Logf("namespace %s with its KubeStash objects deleted in %s", ns, time.Since(deleted).Round(time.Millisecond))
	if err := views.until(10*time.Second, func(v map[string]*v1alpha1.BackupConfigurationView) bool { return len(v) == 0 }); err != nil {
		t.Errorf("views left after the namespace was deleted: %v", err)
	}
	if l, err := c.BV.UiV1alpha1().BackupConfigurationViews(ns).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("LIST of the deleted namespace's views: %v %v", err, l)
	}
	for _, gvr := range []schema.GroupVersionResource{gvrBC, gvrBS, gvrRepo, gvrStorage, gvrPolicy, gvrMongoDB, kubestash.CronJobs} {
		if l, err := c.Dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
			t.Errorf("%s left in the deleted namespace: %v %v", gvr.Resource, err, l)
		}
	}
	if bad := unavailable(); len(bad) > 0 {
		t.Errorf("the APIService was not Available throughout: %s", strings.Join(bad, "; "))
	}
}

// cascadeBC is a BackupConfiguration of the cascade namespace.
func cascadeBC(ns, name string) *unstructured.Unstructured {
	return u("core.kubestash.com/v1alpha1", "BackupConfiguration", ns, name, obj{"spec": obj{
		"target":   obj{"apiGroup": "kubedb.com", "kind": "MongoDB", "namespace": ns, "name": "db"},
		"backends": list{obj{"name": "default-backend", "storageRef": obj{"namespace": ns, "name": "local-s3"}, "retentionPolicy": obj{"namespace": ns, "name": "keep"}}},
		"sessions": list{obj{
			"name":         "full-backup",
			"scheduler":    obj{"schedule": "0 3 * * *", "jobTemplate": obj{"backoffLimit": int64(1)}},
			"repositories": list{obj{"name": "db-repo", "backend": "default-backend", "directory": ns + "/db"}},
			"addon":        obj{"name": "mongodb-addon", "tasks": list{obj{"name": "logical-backup"}}},
		}},
	}})
}

// dependents are what KubeStash creates for a BackupConfiguration: BackupSessions and the
// session's trigger CronJob, each with a controller ownerReference to it.
func dependents(bc *unstructured.Unstructured, sessions int) []item {
	ns, name := bc.GetNamespace(), bc.GetName()
	owner := list{obj{"apiVersion": "core.kubestash.com/v1alpha1", "kind": "BackupConfiguration", "name": name,
		"uid": string(bc.GetUID()), "controller": true, "blockOwnerDeletion": true}}
	labels := obj{"app.kubernetes.io/managed-by": "kubestash.com", "kubestash.com/invoker-kind": "BackupConfiguration",
		"kubestash.com/invoker-name": name, "kubestash.com/invoker-namespace": ns}
	var out []item
	for i := 0; i < sessions; i++ {
		at := scale.Base.Add(-time.Duration(i) * 24 * time.Hour)
		out = append(out, item{gvr: gvrBS, obj: u("core.kubestash.com/v1alpha1", "BackupSession", ns, fmt.Sprintf("%s-full-backup-%d", name, at.Unix()), obj{
			"metadata": obj{"labels": labels, "ownerReferences": owner},
			"spec":     obj{"invoker": obj{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": name}, "session": "full-backup"},
		}), status: obj{"phase": "Succeeded", "duration": "49s", "totalSnapshots": int64(1)}})
	}
	out = append(out, item{gvr: kubestash.CronJobs, obj: u("batch/v1", "CronJob", ns, "trigger-"+name+"-full-backup", obj{
		"metadata": obj{"labels": obj{"app.kubernetes.io/managed-by": "kubestash.com"}, "ownerReferences": owner},
		"spec": obj{"schedule": "0 3 * * *", "jobTemplate": obj{"spec": obj{"backoffLimit": int64(1), "template": obj{"spec": obj{
			"restartPolicy": "Never",
			"containers":    list{obj{"name": "trigger", "image": "ghcr.io/kubestash/kubestash:v0.29.0", "args": list{"create", "backupsession", "--invoker-name=" + name}}},
		}}}}},
	})})
	return out
}

// dependentsOf lists the BackupSessions and CronJobs of the namespace whose controller is the
// BackupConfiguration of that name (by ownerReference).
func dependentsOf(t *testing.T, c *harness.Cluster, ns, bc string) []string {
	t.Helper()
	var out []string
	for _, gvr := range []schema.GroupVersionResource{gvrBS, kubestash.CronJobs} {
		l, err := c.Dyn.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			for _, r := range o.GetOwnerReferences() {
				if r.Kind == "BackupConfiguration" && r.Name == bc {
					out = append(out, gvr.Resource+"/"+o.GetName())
				}
			}
		}
	}
	return out
}

// waitNoDependents blocks until no BackupSession or CronJob of the namespace names the
// BackupConfiguration as its owner (a watch of each, from its list).
func waitNoDependents(t *testing.T, c *harness.Cluster, ns, bc string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, gvr := range []schema.GroupVersionResource{gvrBS, kubestash.CronJobs} {
		left := map[string]bool{}
		owned := func(o *unstructured.Unstructured) bool {
			for _, r := range o.GetOwnerReferences() {
				if r.Kind == "BackupConfiguration" && r.Name == bc {
					return true
				}
			}
			return false
		}
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return c.Dyn.Resource(gvr).Namespace(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return c.Dyn.Resource(gvr).Namespace(ns).Watch(ctx, o)
			},
		}
		_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
			for _, o := range store.List() {
				if uo := o.(*unstructured.Unstructured); owned(uo) {
					left[uo.GetName()] = true
				}
			}
			return len(left) == 0, nil
		}, func(e watch.Event) (bool, error) {
			if uo, ok := e.Object.(*unstructured.Unstructured); ok && owned(uo) {
				if e.Type == watch.Deleted {
					delete(left, uo.GetName())
				} else {
					left[uo.GetName()] = true
				}
			}
			return len(left) == 0, nil
		})
		if err != nil {
			t.Fatalf("%s of the deleted BackupConfiguration %s/%s still there after %s: %v (is kube-controller-manager's garbage collector running?)", gvr.Resource, ns, bc, timeout, sortedKeys(left))
		}
	}
}

// waitNamespaceGone blocks until the namespace is gone; on timeout it reports its conditions.
func waitNamespaceGone(t *testing.T, c *harness.Cluster, ns string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = "metadata.name=" + ns
			return c.Dyn.Resource(gvrNS).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = "metadata.name=" + ns
			return c.Dyn.Resource(gvrNS).Watch(ctx, o)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
		return len(store.List()) == 0, nil
	}, func(e watch.Event) (bool, error) { return e.Type == watch.Deleted, nil })
	if err != nil {
		o, gerr := c.Dyn.Resource(gvrNS).Get(context.Background(), ns, metav1.GetOptions{})
		var conds interface{}
		if gerr == nil {
			conds, _, _ = unstructured.NestedSlice(o.Object, "status", "conditions")
		}
		t.Fatalf("namespace %s not deleted within %s (is kube-controller-manager's namespace controller running?): %v; conditions %v", ns, timeout, err, conds)
	}
}

// waitGCWatches waits (at most 45 s, then goes on) until kube-apiserver serves at least two
// watches of each resource: backupview's informer and the garbage collector's. It reads
// kube-apiserver's apiserver_longrunning_requests gauge, the one place that shows them.
func waitGCWatches(t *testing.T, c *harness.Cluster, resources ...string) {
	t.Helper()
	admin := kasHTTP(t, c, "admin")
	start := time.Now()
	watches := func() map[string]float64 {
		n := map[string]float64{}
		r := admin.get("/metrics")
		for _, l := range strings.Split(string(r.body), "\n") {
			if !strings.HasPrefix(l, "apiserver_longrunning_requests{") || !strings.Contains(l, `verb="WATCH"`) {
				continue
			}
			for _, res := range resources {
				if strings.Contains(l, `resource="`+res+`"`) {
					if i := strings.LastIndexByte(l, ' '); i > 0 {
						v, _ := strconv.ParseFloat(l[i+1:], 64)
						n[res] += v
					}
				}
			}
		}
		return n
	}
	err := waitUntil(45*time.Second, func() error {
		n := watches()
		for _, res := range resources {
			if n[res] < 2 {
				return fmt.Errorf("watches %v", n)
			}
		}
		return nil
	})
	if err != nil {
		t.Logf("the garbage collector does not seem to watch %v yet (%v); going on", resources, err)
		return
	}
	t.Logf("the garbage collector watches %v (waited %s)", resources, time.Since(start).Round(time.Millisecond))
}

// viewWatch follows the views of a namespace through kube-apiserver.
type viewWatch struct {
	t     *testing.T
	w     watch.Interface
	views map[string]*v1alpha1.BackupConfigurationView
}

func newViewWatch(t *testing.T, c *harness.Cluster, ns string) *viewWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l, err := c.BV.UiV1alpha1().BackupConfigurationViews(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.BV.UiV1alpha1().BackupConfigurationViews(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: l.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	vw := &viewWatch{t: t, w: w, views: map[string]*v1alpha1.BackupConfigurationView{}}
	for i := range l.Items {
		vw.views[l.Items[i].Name] = &l.Items[i]
	}
	return vw
}

// until applies the watch's events to the views it knows until cond holds for them.
func (vw *viewWatch) until(timeout time.Duration, cond func(map[string]*v1alpha1.BackupConfigurationView) bool) error {
	deadline := time.After(timeout)
	for !cond(vw.views) {
		select {
		case e, ok := <-vw.w.ResultChan():
			if !ok {
				return fmt.Errorf("the watch of views ended")
			}
			v, isView := e.Object.(*v1alpha1.BackupConfigurationView)
			switch {
			case !isView:
				return fmt.Errorf("%s event: %v", e.Type, e.Object)
			case e.Type == watch.Deleted:
				delete(vw.views, v.Name)
			default:
				vw.views[v.Name] = v
			}
		case <-deadline:
			return fmt.Errorf("not within %s; views: %v", timeout, viewSummary(vw.views))
		}
	}
	return nil
}

func (vw *viewWatch) get(name string) *v1alpha1.BackupConfigurationView { return vw.views[name] }

func viewSummary(m map[string]*v1alpha1.BackupConfigurationView) string {
	var out []string
	for name, v := range m {
		out = append(out, fmt.Sprintf("%s(sessions %d, cronjobs %d)", name, len(v.BackupSessions), len(v.CronJobs)))
	}
	return strings.Join(out, ", ")
}

// watchAPIService records every moment the APIService is not Available, from now until the
// test ends; the returned function lists them.
func watchAPIService(t *testing.T, c *harness.Cluster) func() []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ri := c.Dyn.Resource(gvrAPIService)
	const name = "v1alpha1.ui.kubestash.com"
	var mu sync.Mutex
	var bad []string
	check := func(o *unstructured.Unstructured, how string) {
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		status, msg := "missing", ""
		for _, cd := range conds {
			if m, ok := cd.(map[string]interface{}); ok && m["type"] == "Available" {
				status, msg = fmt.Sprint(m["status"]), fmt.Sprint(m["message"])
			}
		}
		if status != "True" {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%s at %s: Available=%s %s", how, time.Now().Format("15:04:05.000"), status, msg))
			mu.Unlock()
		}
	}
	cur, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(cur, "at start")
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, cur.GetResourceVersion(), &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = "metadata.name=" + name
			return ri.Watch(ctx, o)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for e := range rw.ResultChan() {
			if o, ok := e.Object.(*unstructured.Unstructured); ok {
				if e.Type == watch.Deleted {
					mu.Lock()
					bad = append(bad, "deleted")
					mu.Unlock()
					continue
				}
				check(o, string(e.Type))
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), bad...)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
