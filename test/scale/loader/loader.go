// Package loader creates a scale's objects (test/scale) in a cluster with a bounded number of
// requests in flight, and records a complete load in a marker ConfigMap so that a second
// load of the same scale does nothing (docs/benchmarks.md, "The cluster").
package loader

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/scale"
)

// MarkerNamespace/MarkerName: the ConfigMap recording that the cluster holds a complete load
// of a scale (its data "load" is the LoadResult as JSON).
const (
	MarkerNamespace = "default"
	MarkerName      = "backupview-scale"
)

// LoadResult is what a load reports (and records in the marker).
type LoadResult struct {
	Scale       scale.Scale `json:"scale"`
	Objects     int         `json:"objects"`
	Requests    int64       `json:"requests"`
	Seconds     float64     `json:"seconds"`
	Concurrency int         `json:"concurrency"`
	// StatusInCreate: statuses were written with the create request (CRD status subresource
	// off during the load); otherwise through the status subresource, one more request each.
	StatusInCreate bool      `json:"statusInCreate"`
	At             time.Time `json:"at"`
	// Existing is how many of the objects an earlier, interrupted load had made: this load
	// resumed it (it read them back and wrote their statuses only where missing).
	Existing int `json:"existing,omitempty"`
}

func (r LoadResult) ObjectsPerSecond() float64  { return float64(r.Objects) / r.Seconds }
func (r LoadResult) RequestsPerSecond() float64 { return float64(r.Requests) / r.Seconds }

// Clients are what a load talks to the cluster with.
type Clients struct {
	Dyn  dynamic.Interface
	Kube kubernetes.Interface
}

// NewClients makes clients without a client-side rate limit: the loader bounds the requests
// in flight itself.
func NewClients(cfg *rest.Config) (Clients, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		return Clients{}, err
	}
	kube, err := kubernetes.NewForConfig(c)
	if err != nil {
		return Clients{}, err
	}
	return Clients{Dyn: dyn, Kube: kube}, nil
}

// Options of a load.
type Options struct {
	// Concurrency is the most requests in flight (at least 1).
	Concurrency int
	// Force loads even when the marker says this scale is loaded (existing objects are kept).
	Force bool
	// StatusInCreate turns the KubeStash CRDs' status subresource off during the load, so
	// that each status goes with its create request (half the requests), and back on after.
	// Only for a cluster nobody else uses meanwhile: it changes the CRDs.
	StatusInCreate bool
	// Logf receives progress (every 10 s) and the result.
	Logf func(format string, args ...interface{})
}

// ReadMarker returns the recorded load, if the cluster holds a complete one (nil otherwise).
func ReadMarker(ctx context.Context, kube kubernetes.Interface) (*LoadResult, error) {
	cm, err := kube.CoreV1().ConfigMaps(MarkerNamespace).Get(ctx, MarkerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r LoadResult
	if err := json.Unmarshal([]byte(cm.Data["load"]), &r); err != nil {
		return nil, nil // unreadable: as if incomplete
	}
	return &r, nil
}

// Load creates the scale's objects, unless the marker says this scale is loaded already.
func Load(ctx context.Context, c Clients, sc scale.Scale, o Options) (LoadResult, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...interface{}) {}
	}
	if m, err := ReadMarker(ctx, c.Kube); err != nil {
		return LoadResult{}, err
	} else if m != nil && !o.Force {
		if m.Scale == sc {
			logf("cluster already holds scale %q (loaded in %.0f s at %.0f objects/s); not loading again", sc.Name, m.Seconds, m.ObjectsPerSecond())
			return *m, nil
		}
		return LoadResult{}, fmt.Errorf("cluster holds scale %+v, not %+v: use a fresh cluster dir (hack/cluster.sh down DIR --purge)", m.Scale, sc)
	}
	if err := c.Kube.CoreV1().ConfigMaps(MarkerNamespace).Delete(ctx, MarkerName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return LoadResult{}, err
	}
	l := &loader{dyn: c.Dyn, scale: sc, statusInCreate: o.StatusInCreate, sem: make(chan struct{}, max(o.Concurrency, 1))}
	if o.StatusInCreate {
		restore, err := withoutStatusSubresource(ctx, c.Dyn, c.Kube.Discovery(), logf)
		defer restore()
		if err != nil {
			return LoadResult{}, err
		}
	}
	logf("loading %s (%d objects) with %d concurrent requests", sc, sc.Total(), o.Concurrency)
	start := time.Now()
	done := make(chan struct{})
	go l.progress(start, done, logf)
	err := l.run(ctx)
	close(done)
	res := LoadResult{Scale: sc, Objects: int(l.objects.Load()), Requests: l.requests.Load(), Seconds: time.Since(start).Seconds(),
		Concurrency: o.Concurrency, At: start.UTC(), StatusInCreate: o.StatusInCreate, Existing: int(l.existing.Load())}
	if err != nil {
		return res, err
	}
	logf("loaded %d objects (%d requests) in %.1f s: %.0f objects/s, %.0f requests/s", res.Objects, res.Requests, res.Seconds, res.ObjectsPerSecond(), res.RequestsPerSecond())
	if res.Existing > 0 {
		logf("resumed an interrupted load: %d of the objects existed already", res.Existing)
	}
	b, _ := json.Marshal(res)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: MarkerNamespace, Name: MarkerName}, Data: map[string]string{"load": string(b)}}
	if _, err := c.Kube.CoreV1().ConfigMaps(MarkerNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return res, fmt.Errorf("writing the marker: %w", err)
	}
	return res, nil
}

type loader struct {
	dyn            dynamic.Interface
	scale          scale.Scale
	statusInCreate bool
	sem            chan struct{} // requests in flight
	requests       atomic.Int64
	objects        atomic.Int64
	existing       atomic.Int64
}

// progress logs the objects and requests per second every 10 s until done is closed.
func (l *loader) progress(start time.Time, done <-chan struct{}, logf func(string, ...interface{})) {
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
			logf("  %6.0fs  %7d/%d objects  %7.0f objects/s  %7.0f requests/s (last 10 s)", now.Sub(start).Seconds(), o, l.scale.Total(),
				float64(o-lastO)/dt, float64(r-lastR)/dt)
			lastO, lastR, last = o, r, now
		}
	}
}

// run creates the namespaces, then the shared objects and the BackupConfigurations with
// their dependents, at most 2×concurrency BackupConfigurations at a time (the requests in
// flight are bounded by do). The first error cancels the rest.
func (l *loader) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, o := range l.scale.NamespaceObjects() {
		g.Go(func() error { _, err := l.create(gctx, o); return err })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(2 * cap(l.sem))
	for _, o := range l.scale.SharedObjects() {
		g.Go(func() error { _, err := l.create(gctx, o); return err })
	}
	for i := 0; i < l.scale.BCs && gctx.Err() == nil; i++ {
		g.Go(func() error { return l.backupConfiguration(gctx, i) })
	}
	return g.Wait()
}

// backupConfiguration creates BackupConfiguration i (its dependents need its uid), then its
// two series of dependents side by side; the Snapshots follow the Repository (its uid) in the
// first.
func (l *loader) backupConfiguration(ctx context.Context, i int) error {
	uid, err := l.create(ctx, l.scale.BackupConfiguration(i))
	if err != nil {
		return err
	}
	refs, sessions := l.scale.Dependents(i, uid)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		repoUID := ""
		for _, o := range refs {
			uid, err := l.create(gctx, o)
			if err != nil {
				return err
			}
			if o.Resource == kubestash.Repositories {
				repoUID = uid
			}
		}
		for _, o := range l.scale.SnapshotsOf(i, repoUID) {
			if _, err := l.create(gctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		for _, o := range sessions {
			if _, err := l.create(gctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// do runs one request within the concurrency bound; none starts once ctx has ended.
func (l *loader) do(ctx context.Context, f func() error) error {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.sem }()
	if err := ctx.Err(); err != nil { // ended while a slot was free too
		return err
	}
	l.requests.Add(1)
	return f()
}

// create creates an object (an existing one is read back instead), writes its status and
// returns its uid.
func (l *loader) create(ctx context.Context, o scale.Object) (string, error) {
	u := o.Unstructured()
	inCreate := o.Status != nil && l.statusInCreate && slices.Contains(statusCRDs, o.Resource)
	if inCreate {
		u.Object["status"] = o.Status // kept while the CRD has no status subresource (see withoutStatusSubresource)
	}
	ri := l.resource(o.Resource, u.GetNamespace())
	var cur *unstructured.Unstructured
	err := l.do(ctx, func() (err error) { cur, err = ri.Create(ctx, u, metav1.CreateOptions{}); return })
	existed := apierrors.IsAlreadyExists(err)
	if existed { // an interrupted load's: resume
		l.existing.Add(1)
		err = l.do(ctx, func() (err error) { cur, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{}); return })
	}
	if err != nil {
		return "", fmt.Errorf("create %s %s/%s: %w", o.Resource.Resource, u.GetNamespace(), u.GetName(), err)
	}
	// The status went with the create unless the CRD still had its status subresource (the
	// handler switches asynchronously) or the kind is not one of ours (CronJobs); an object
	// that existed has it when the interrupted load got that far.
	status, has := cur.Object["status"]
	done := inCreate && has
	if existed {
		done = has && reflect.DeepEqual(status, o.Status)
	}
	if o.Status != nil && !done {
		cur.Object["status"] = o.Status
		err := l.do(ctx, func() error { _, err := ri.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); return err })
		if apierrors.IsNotFound(err) && l.statusInCreate {
			// The CRD handler already runs without the status subresource: the main resource
			// takes the status.
			err = l.do(ctx, func() error { _, err := ri.Update(ctx, cur, metav1.UpdateOptions{}); return err })
		}
		if err != nil {
			return "", fmt.Errorf("status of %s %s/%s: %w", o.Resource.Resource, u.GetNamespace(), u.GetName(), err)
		}
	}
	l.objects.Add(1)
	return string(cur.GetUID()), nil
}

func (l *loader) resource(gvr schema.GroupVersionResource, ns string) dynamic.ResourceInterface {
	if ns == "" {
		return l.dyn.Resource(gvr)
	}
	return l.dyn.Resource(gvr).Namespace(ns)
}

// statusCRDs are the loaded kinds whose CRD has a status subresource.
var statusCRDs = []schema.GroupVersionResource{kubestash.BackupConfigurations, kubestash.BackupSessions, kubestash.Snapshots, kubestash.Repositories, kubestash.BackupStorages}
