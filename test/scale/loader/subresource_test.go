package loader

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// crdDiscovery serves discovery from the CRDs in a dynamic client, as kube-apiserver does
// (after a delay there): a kind with a status subresource lists "<resource>/status". It
// counts the calls.
type crdDiscovery struct {
	c     Clients
	mu    sync.Mutex
	calls int
	// lag: the first lag calls answer as before the last change (the old state).
	lag  int
	last map[string]*metav1.APIResourceList
}

func (d *crdDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if d.calls <= d.lag && d.last != nil {
		return d.last[gv], nil
	}
	l := &metav1.APIResourceList{GroupVersion: gv}
	for _, gvr := range statusCRDs {
		if gvr.GroupVersion().String() != gv {
			continue
		}
		crd, err := d.c.Dyn.Resource(crds).Get(context.Background(), gvr.Resource+"."+gvr.Group, metav1.GetOptions{})
		if err != nil {
			continue
		}
		l.APIResources = append(l.APIResources, metav1.APIResource{Name: gvr.Resource})
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		if _, ok, _ := unstructured.NestedMap(versions[0].(map[string]interface{}), "subresources", "status"); ok {
			l.APIResources = append(l.APIResources, metav1.APIResource{Name: gvr.Resource + "/status"})
		}
	}
	return l, nil
}

func installCRDs(t *testing.T, c Clients) {
	t.Helper()
	for _, gvr := range statusCRDs {
		crd := &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]interface{}{"name": gvr.Resource + "." + gvr.Group},
			"spec": map[string]interface{}{"group": gvr.Group, "versions": []interface{}{map[string]interface{}{
				"name": gvr.Version, "served": true, "storage": true,
				"subresources": map[string]interface{}{"status": map[string]interface{}{}},
			}}},
		}}
		if _, err := c.Dyn.Resource(crds).Create(context.Background(), crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWithoutStatusSubresource(t *testing.T) {
	c, _ := fakes()
	installCRDs(t, c)
	d := &crdDiscovery{c: c}
	var logs []string
	logf := func(f string, a ...interface{}) { logs = append(logs, f) }
	restore, err := withoutStatusSubresource(context.Background(), c.Dyn, d, logf)
	if err != nil {
		t.Fatal(err)
	}
	if p := subresourcesPending(d, false); len(p) != 0 {
		t.Errorf("during the load these still have a status subresource: %v", p)
	}
	restore()
	if p := subresourcesPending(d, true); len(p) != 0 {
		t.Errorf("after restore these have no status subresource: %v", p)
	}
	for _, l := range logs {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "NOTE") {
			t.Errorf("logged %q", l)
		}
	}
}

func TestWaitSubresources(t *testing.T) {
	c, _ := fakes()
	installCRDs(t, c)
	ctx := context.Background()
	d := &crdDiscovery{c: c}
	// The kinds are in two group versions: one round asks twice.
	if err := waitSubresources(ctx, d, true, time.Second); err != nil || d.calls != 2 {
		t.Errorf("already on: %v after %d discovery calls; want nil after one round", err, d.calls)
	}
	// Discovery that lags the change: the wait returns once it shows it, not before.
	d = &crdDiscovery{c: c}
	d.last = map[string]*metav1.APIResourceList{}
	for _, gvr := range statusCRDs {
		d.last[gvr.GroupVersion().String()], _ = d.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	}
	d.calls, d.lag = 0, 3*2
	restore, err := withoutStatusSubresource(ctx, c.Dyn, d, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if d.calls <= d.lag {
		t.Errorf("returned after %d discovery calls, while discovery showed the old state for %d", d.calls, d.lag)
	}
	if p := subresourcesPending(d, false); len(p) != 0 {
		t.Errorf("returned while %v still have the subresource", p)
	}
	restore()
	// Never shown: the wait ends at its bound with an error naming the kinds.
	start := time.Now()
	err = waitSubresources(ctx, d, false, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "backupconfigurations.core.kubestash.com") {
		t.Errorf("never shown: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the bounded wait took %s", took)
	}
}
