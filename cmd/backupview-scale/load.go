package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// markerNS/markerName: a ConfigMap recording that the cluster holds a complete load of a scale.
const (
	markerNS   = "default"
	markerName = "backupview-scale"
)

// LoadResult is what a load reports (and records in the marker).
type LoadResult struct {
	Scale       Scale   `json:"scale"`
	Objects     int     `json:"objects"`
	Requests    int64   `json:"requests"`
	Seconds     float64 `json:"seconds"`
	Concurrency int     `json:"concurrency"`
	// StatusInCreate: statuses were written with the create request (CRD status subresource
	// off during the load); otherwise through the status subresource, one more request each.
	StatusInCreate bool      `json:"statusInCreate"`
	At             time.Time `json:"at"`
}

func (r LoadResult) ObjectsPerSecond() float64  { return float64(r.Objects) / r.Seconds }
func (r LoadResult) RequestsPerSecond() float64 { return float64(r.Requests) / r.Seconds }

type loader struct {
	dyn      dynamic.Interface
	kube     kubernetes.Interface
	scale    Scale
	requests atomic.Int64
	objects  atomic.Int64
	sem      chan struct{}
	// statusInCreate sends the status in the create request: the CRDs' status subresource is
	// off during the load, which halves the requests.
	statusInCreate bool
}

func newClients(cfg *rest.Config) (dynamic.Interface, kubernetes.Interface) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0 // no client-side rate limit: concurrency is bounded by the workers
	return dynamic.NewForConfigOrDie(c), kubernetes.NewForConfigOrDie(c)
}

// ReadMarker returns the recorded load, if the cluster holds a complete one.
func ReadMarker(ctx context.Context, kube kubernetes.Interface) (*LoadResult, error) {
	cm, err := kube.CoreV1().ConfigMaps(markerNS).Get(ctx, markerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r LoadResult
	if err := json.Unmarshal([]byte(cm.Data["load"]), &r); err != nil {
		return nil, nil
	}
	return &r, nil
}

// Load creates the scale's objects with at most `concurrency` requests in flight, unless the
// marker says this scale is loaded already (force: load again; existing objects are kept).
func Load(ctx context.Context, cfg *rest.Config, sc Scale, concurrency int, force, statusInCreate bool, logf func(string, ...interface{})) (LoadResult, error) {
	dyn, kube := newClients(cfg)
	if m, err := ReadMarker(ctx, kube); err != nil {
		return LoadResult{}, err
	} else if m != nil && !force {
		if m.Scale == sc {
			logf("cluster already holds scale %q (loaded in %.0f s at %.0f objects/s); not loading again", sc.Name, m.Seconds, m.ObjectsPerSecond())
			return *m, nil
		}
		return LoadResult{}, fmt.Errorf("cluster holds scale %+v, not %+v: use a fresh cluster dir (hack/cluster.sh down DIR --purge)", m.Scale, sc)
	}
	if err := kube.CoreV1().ConfigMaps(markerNS).Delete(ctx, markerName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return LoadResult{}, err
	}
	l := &loader{dyn: dyn, kube: kube, scale: sc, statusInCreate: statusInCreate}
	if statusInCreate {
		restore, err := withoutStatusSubresource(ctx, dyn, logf)
		defer restore()
		if err != nil {
			return LoadResult{}, err
		}
	}
	logf("loading %s (%d objects) with %d concurrent requests", sc, sc.Total(), concurrency)
	start := time.Now()
	done := make(chan struct{})
	go func() { // progress and rate
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		var lastO, lastR int64
		last := start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				o, r := l.objects.Load(), l.requests.Load()
				dt := now.Sub(last).Seconds()
				logf("  %6.0fs  %7d/%d objects  %7.0f objects/s  %7.0f requests/s (last 10 s)", now.Sub(start).Seconds(), o, sc.Total(),
					float64(o-lastO)/dt, float64(r-lastR)/dt)
				lastO, lastR, last = o, r, now
			}
		}
	}()
	err := l.run(ctx, concurrency)
	close(done)
	res := LoadResult{Scale: sc, Objects: int(l.objects.Load()), Requests: l.requests.Load(), Seconds: time.Since(start).Seconds(), Concurrency: concurrency, At: start.UTC(), StatusInCreate: statusInCreate}
	if err != nil {
		return res, err
	}
	logf("loaded %d objects (%d requests) in %.1f s: %.0f objects/s, %.0f requests/s", res.Objects, res.Requests, res.Seconds, res.ObjectsPerSecond(), res.RequestsPerSecond())
	b, _ := json.Marshal(res)
	cm := map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj{"name": markerName, "namespace": markerNS}, "data": obj{"load": string(b)}}
	if err := l.create(ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, cm, nil); err != nil {
		return res, err
	}
	return res, nil
}

func (l *loader) run(ctx context.Context, concurrency int) error {
	sc := l.scale
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.sem = make(chan struct{}, concurrency) // requests in flight
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	goDo := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				fail(err)
			}
		}()
	}
	// Phase 1: namespaces, then the shared objects.
	for n := 0; n <= sc.Namespaces; n++ {
		name := sharedNS
		if n < sc.Namespaces {
			name = namespaceName(sc, n)
		}
		goDo(func() error { return l.create(ctx, gvrNamespace, meta("Namespace", "v1", "", name), nil) })
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for _, a := range addons {
		goDo(func() error { return l.create(ctx, gvrAddon, addonObj(a), nil) })
	}
	for k := 0; k < sc.Storages; k++ {
		goDo(func() error { o, st := storageObj(sc, k); return l.create(ctx, gvrStorage, o, st) })
	}
	for k := 0; k < sc.Policies; k++ {
		goDo(func() error { return l.create(ctx, gvrPolicy, policyObj(k), nil) })
	}
	// Phase 2: BackupConfigurations, a window of them at a time. Each creates the BC (its UID
	// is needed by its CronJobs and sessions), then its Repository, target and CronJobs in
	// one goroutine and its sessions, oldest first, in another; the semaphore bounds the
	// requests in flight.
	window := make(chan struct{}, 2*concurrency)
	for i := 0; i < sc.BCs && ctx.Err() == nil; i++ {
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		goDo(func() error {
			defer func() { <-window }()
			o, st := bcObj(sc, i)
			uid := ""
			if err := l.create(ctx, gvrBC, o, st, &uid); err != nil {
				return err
			}
			var inner sync.WaitGroup
			var errs [2]error
			inner.Add(2)
			go func() {
				defer inner.Done()
				if i < sc.Repositories {
					o, st := repoObj(sc, i)
					if errs[0] = l.create(ctx, gvrRepo, o, st); errs[0] != nil {
						return
					}
				}
				if sc.HasTarget(i) {
					gvr, o := targetObj(sc, i)
					if errs[0] = l.create(ctx, gvr, o, nil); errs[0] != nil {
						return
					}
				}
				for j := 0; j < sc.BCSessions(i); j++ {
					o, st := cronJobObj(sc, i, j, uid)
					if errs[0] = l.create(ctx, gvrCronJob, o, st); errs[0] != nil {
						return
					}
				}
			}()
			go func() {
				defer inner.Done()
				for k := 0; k < sc.SessionsOf(i); k++ {
					o, st := sessionObj(sc, i, k, uid)
					if errs[1] = l.create(ctx, gvrBS, o, st); errs[1] != nil {
						return
					}
				}
			}()
			inner.Wait()
			if errs[0] != nil {
				return errs[0]
			}
			return errs[1]
		})
	}
	wg.Wait()
	return firstErr
}

// do runs one request within the concurrency bound.
func (l *loader) do(ctx context.Context, f func() error) error {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.sem }()
	l.requests.Add(1)
	return f()
}

// create creates an object (an existing one is read back instead) and writes its status.
// uid, when given, receives the object's UID.
func (l *loader) create(ctx context.Context, gvr schema.GroupVersionResource, o, status obj, uid ...*string) error {
	u := &unstructured.Unstructured{Object: o}
	inCreate := status != nil && l.statusInCreate && isStatusCRD(gvr)
	if inCreate {
		o["status"] = status // kept while the CRD has no status subresource (see withoutStatusSubresource)
	}
	ri := l.resource(gvr, u.GetNamespace())
	var cur *unstructured.Unstructured
	err := l.do(ctx, func() (err error) { cur, err = ri.Create(ctx, u, metav1.CreateOptions{}); return })
	if apierrors.IsAlreadyExists(err) {
		err = l.do(ctx, func() (err error) { cur, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{}); return })
	}
	if err != nil {
		return fmt.Errorf("create %s %s/%s: %w", gvr.Resource, u.GetNamespace(), u.GetName(), err)
	}
	if len(uid) > 0 {
		*uid[0] = string(cur.GetUID())
	}
	// The status went with the create unless the CRD still had its status subresource (the
	// handler switches asynchronously) or the kind is not one of ours (CronJobs).
	if _, written := cur.Object["status"]; status != nil && (!inCreate || !written) {
		cur.Object["status"] = status
		err := l.do(ctx, func() error { _, err := ri.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); return err })
		if apierrors.IsNotFound(err) && l.statusInCreate {
			// The CRD handler already runs without the status subresource: the main resource
			// takes the status.
			err = l.do(ctx, func() error { _, err := ri.Update(ctx, cur, metav1.UpdateOptions{}); return err })
		}
		if err != nil {
			return fmt.Errorf("status of %s %s/%s: %w", gvr.Resource, u.GetNamespace(), u.GetName(), err)
		}
	}
	l.objects.Add(1)
	return nil
}

func (l *loader) resource(gvr schema.GroupVersionResource, ns string) dynamic.ResourceInterface {
	if ns == "" {
		return l.dyn.Resource(gvr)
	}
	return l.dyn.Resource(gvr).Namespace(ns)
}

var gvrCRD = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// statusCRDs are the loaded kinds whose CRD has a status subresource.
var statusCRDs = []schema.GroupVersionResource{gvrBC, gvrBS, gvrRepo, gvrStorage}

func isStatusCRD(gvr schema.GroupVersionResource) bool {
	for _, g := range statusCRDs {
		if g == gvr {
			return true
		}
	}
	return false
}

// withoutStatusSubresource turns the status subresource of the KubeStash CRDs off, so that a
// create stores the status too; restore turns it back on and waits until it is served. The
// stored objects are the same either way.
func withoutStatusSubresource(ctx context.Context, dyn dynamic.Interface, logf func(string, ...interface{})) (restore func(), err error) {
	var changed []string
	restore = func() {
		for _, name := range changed {
			patch := []byte(`[{"op":"add","path":"/spec/versions/0/subresources/status","value":{}}]`)
			if _, err := dyn.Resource(gvrCRD).Patch(context.Background(), name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
				logf("ERROR: restoring the status subresource of CRD %s: %v (re-apply the CRDs)", name, err)
			}
		}
		if len(changed) > 0 {
			waitSubresources(dyn, true)
			logf("status subresource of %d CRDs restored", len(changed))
		}
	}
	for _, gvr := range statusCRDs {
		name := gvr.Resource + "." + gvr.Group
		crd, err := dyn.Resource(gvrCRD).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return restore, err
		}
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		if len(versions) != 1 {
			return restore, fmt.Errorf("CRD %s has %d versions; expected one", name, len(versions))
		}
		// Restored even when already off (a load killed before it restored them).
		changed = append(changed, name)
		if _, ok, _ := unstructured.NestedMap(versions[0].(map[string]interface{}), "subresources", "status"); !ok {
			continue
		}
		patch := []byte(`[{"op":"remove","path":"/spec/versions/0/subresources/status"}]`)
		if _, err := dyn.Resource(gvrCRD).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
			return restore, err
		}
	}
	waitSubresources(dyn, false)
	logf("status subresource of %d CRDs off for the load (statuses go with the create request)", len(changed))
	return restore, nil
}

// waitSubresources waits (at most 30 s) until discovery shows the status subresources on or off.
func waitSubresources(dyn dynamic.Interface, on bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, gvr := range statusCRDs {
			crd, err := dyn.Resource(gvrCRD).Get(context.Background(), gvr.Resource+"."+gvr.Group, metav1.GetOptions{})
			if err != nil {
				ok = false
				break
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			est := false
			for _, c := range conds {
				if m, _ := c.(map[string]interface{}); m["type"] == "Established" && m["status"] == "True" {
					est = true
				}
			}
			ok = ok && est
		}
		if ok {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The CRD handler swaps its storage asynchronously after an update; give it a moment.
	time.Sleep(2 * time.Second)
	_ = on
}
