package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/flowcontrol"

	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
)

var (
	gvrViews      = schema.GroupVersionResource{Group: "ui.kubestash.com", Version: "v1alpha1", Resource: "backupconfigurationviews"}
	gvrAPIService = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

const apiServiceName = "v1alpha1.ui.kubestash.com"

// load is what users do meanwhile: GET loops on one view through kube-apiserver and the
// aggregator, and a client-go informer on every view.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       map[string]int
	informer   cache.SharedIndexInformer
	cancel     context.CancelFunc
	done       chan struct{}
}

func startLoad(t *testing.T) *load {
	t.Helper()
	cfg := rest.CopyConfig(c.Config)
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cfg.Timeout = 15 * time.Second
	bv := clientset.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{errs: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	f := dynamicinformer.NewDynamicSharedInformerFactory(dynamic.NewForConfigOrDie(cfg), 0)
	l.informer = f.ForResource(gvrViews).Informer()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), l.informer.HasSynced) {
		t.Fatal("the informer did not sync")
	}
	// Four readers, so that a short window of failures during a rollout is not missed
	// between one reader's requests.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Get(ctx, "mongodb-backup", metav1.GetOptions{})
				switch {
				case err == nil:
					l.ok.Add(1)
				case ctx.Err() != nil:
				default:
					l.failed.Add(1)
					l.mu.Lock()
					l.errs[err.Error()]++
					l.mu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

// stop ends the load and reports it; the informer must then hold exactly what a fresh LIST
// returns (converged: same views, same resourceVersions).
func (l *load) stop(t *testing.T, what string) (ok, failed int64) {
	t.Helper()
	defer l.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var diff string
	for ctx.Err() == nil { // the informer is behind the LIST by at most one event
		list, err := c.Dyn.Resource(gvrViews).List(ctx, metav1.ListOptions{})
		if err != nil {
			diff = err.Error()
		} else if diff = storeDiff(l.informer.GetStore(), list); diff == "" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	l.cancel()
	<-l.done
	ok, failed = l.ok.Load(), l.failed.Load()
	t.Logf("%s: %d GETs through the aggregator, %d failed %v; informer holds %d views", what, ok+failed, failed, l.errs, len(l.informer.GetStore().ListKeys()))
	if diff != "" {
		t.Errorf("%s: the informer did not converge with a fresh LIST: %s", what, diff)
	}
	if ok == 0 {
		t.Errorf("%s: no GET succeeded", what)
	}
	return ok, failed
}

func storeDiff(store cache.Store, list *unstructured.UnstructuredList) string {
	want := map[string]string{}
	for _, u := range list.Items {
		want[u.GetNamespace()+"/"+u.GetName()] = u.GetResourceVersion()
	}
	var d []string
	for _, o := range store.List() {
		u := o.(*unstructured.Unstructured)
		k := u.GetNamespace() + "/" + u.GetName()
		if rv, ok := want[k]; !ok || rv != u.GetResourceVersion() {
			d = append(d, fmt.Sprintf("%s at %s (LIST: %q)", k, u.GetResourceVersion(), rv))
		}
		delete(want, k)
	}
	for k := range want {
		d = append(d, k+" missing")
	}
	return strings.Join(d, ", ")
}

// until watches one object of gvr (by name, in ns) until cond holds.
func until(ctx context.Context, gvr schema.GroupVersionResource, ns, name string, cond func(*unstructured.Unstructured) bool) error {
	ri := dynamic.ResourceInterface(c.Dyn.Resource(gvr))
	if ns != "" {
		ri = c.Dyn.Resource(gvr).Namespace(ns)
	}
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return ri.Watch(ctx, o)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		if e.Type == watch.Deleted {
			return cond(nil), nil
		}
		u, ok := e.Object.(*unstructured.Unstructured)
		return ok && cond(u), nil
	})
	return err
}

func available(u *unstructured.Unstructured) bool {
	if u == nil {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, x := range conds {
		if m, ok := x.(map[string]any); ok && m["type"] == "Available" {
			return m["status"] == "True"
		}
	}
	return false
}

// waitAPIService waits until the APIService's Available condition is want.
func waitAPIService(ctx context.Context, want bool) error {
	err := until(ctx, gvrAPIService, "", apiServiceName, func(u *unstructured.Unstructured) bool { return u != nil && available(u) == want })
	if err != nil {
		return fmt.Errorf("apiservice %s not Available=%v: %w", apiServiceName, want, err)
	}
	return nil
}

// waitRolledOut waits until the Deployment has rolled out its current template: every replica
// updated, ready and available, and no old one left.
func waitRolledOut(ctx context.Context) (*appsv1.Deployment, error) {
	var last *appsv1.Deployment
	err := until(ctx, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, namespace, release,
		func(u *unstructured.Unstructured) bool {
			if u == nil {
				return false
			}
			var d appsv1.Deployment
			if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d) != nil {
				return false
			}
			last = &d
			want := *d.Spec.Replicas
			s := d.Status
			return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want &&
				s.AvailableReplicas == want && s.Replicas == want
		})
	if err != nil {
		return last, fmt.Errorf("deployment %s/%s not rolled out: %w (status %+v)", namespace, release, err, last)
	}
	return last, nil
}

// serverPods are the Deployment's pods, Running or not.
func serverPods(ctx context.Context, t *testing.T) []corev1.Pod {
	t.Helper()
	pods, err := c.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=backupview"})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// serverProcs are the host PIDs of the backupview-apiserver processes of the Deployment's
// running pods (found by the pod UID in their cgroup path): this machine sees the node's
// processes.
func serverProcs(t *testing.T) []int {
	t.Helper()
	var uids []string
	for _, p := range serverPods(context.Background(), t) {
		if p.DeletionTimestamp == nil {
			uids = append(uids, "pod"+string(p.UID))
		}
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || filepath.Base(exe) != "backupview-apiserver" {
			continue
		}
		cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err != nil {
			continue
		}
		for _, uid := range uids {
			// cgroupfs spells the pod's cgroup with its UID as is.
			if strings.Contains(string(cg), uid) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

func procFile(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func notFound(err error) bool { return apierrors.IsNotFound(err) }

// waitSettled waits until the Deployment has rolled out and its pods are exactly its
// replicas, each Ready: every old or deleted pod gone (they terminate for the shutdown delay).
func waitSettled(ctx context.Context) error {
	d, err := waitRolledOut(ctx)
	if err != nil {
		return err
	}
	want := int(*d.Spec.Replicas)
	lw := cache.NewFilteredListWatchFromClient(c.Kube.CoreV1().RESTClient(), "pods", namespace,
		func(o *metav1.ListOptions) { o.LabelSelector = "app.kubernetes.io/name=backupview" })
	// The condition reads the informer's store, not the event: the initial list's events
	// arrive one by one, and a half-delivered list may look settled.
	var store cache.Store
	var seen []string
	settled := func() bool {
		seen = seen[:0]
		ok := true
		for _, o := range store.List() {
			p := o.(*corev1.Pod)
			seen = append(seen, fmt.Sprintf("%s ready=%v terminating=%v", p.Name, podReady(p), p.DeletionTimestamp != nil))
			ok = ok && p.DeletionTimestamp == nil && podReady(p)
		}
		return ok && len(seen) == want
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, func(s cache.Store) (bool, error) {
		store = s
		return settled(), nil
	}, func(watch.Event) (bool, error) { return settled(), nil })
	if err != nil {
		return fmt.Errorf("pods not settled at %d: %w (%v)", want, err, seen)
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
