package loader

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// subresourceWait bounds the wait for discovery to show a changed status subresource.
const subresourceWait = 30 * time.Second

// resourceLister is the part of discovery the wait reads.
type resourceLister interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// withoutStatusSubresource turns the status subresource of the KubeStash CRDs off, so that a
// create stores the status too; restore turns it back on and waits until discovery serves
// it. The stored objects are the same either way.
func withoutStatusSubresource(ctx context.Context, dyn dynamic.Interface, disc resourceLister, logf func(string, ...interface{})) (restore func(), err error) {
	var changed []string
	restore = func() {
		// Also after ctx ended (an interrupted load): the CRDs must get their subresource back.
		bg := context.Background()
		for _, name := range changed {
			patch := []byte(`[{"op":"add","path":"/spec/versions/0/subresources/status","value":{}}]`)
			if _, err := dyn.Resource(crds).Patch(bg, name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
				logf("ERROR: restoring the status subresource of CRD %s: %v (re-apply the CRDs)", name, err)
			}
		}
		if len(changed) > 0 {
			if err := waitSubresources(bg, disc, true, subresourceWait); err != nil {
				logf("ERROR: %v", err)
				return
			}
			logf("status subresource of %d CRDs restored", len(changed))
		}
	}
	for _, gvr := range statusCRDs {
		name := gvr.Resource + "." + gvr.Group
		crd, err := dyn.Resource(crds).Get(ctx, name, metav1.GetOptions{})
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
		if _, err := dyn.Resource(crds).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
			return restore, err
		}
	}
	// Not fatal: create copes with a CRD handler that still has the subresource (it writes
	// the status through it); only the request count is higher.
	if err := waitSubresources(ctx, disc, false, subresourceWait); err != nil {
		logf("NOTE: %v; loading anyway", err)
	}
	logf("status subresource of %d CRDs off for the load (statuses go with the create request)", len(changed))
	return restore, nil
}

// waitSubresources waits, at most timeout, until discovery serves every kind of statusCRDs
// with its status subresource (on) or without it (off). Discovery has no watch: it is asked
// every 100 ms.
func waitSubresources(ctx context.Context, disc resourceLister, on bool, timeout time.Duration) error {
	var pending []string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		pending = subresourcesPending(disc, on)
		return len(pending) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("discovery still shows the status subresource of %v %s after %s: %w", pending, map[bool]string{true: "off", false: "on"}[on], timeout, err)
	}
	return nil
}

// subresourcesPending lists the kinds of statusCRDs that discovery does not serve yet, or
// serves with the status subresource when on is false (without it when on is true).
func subresourcesPending(disc resourceLister, on bool) []string {
	var pending []string
	lists := map[string]*metav1.APIResourceList{}
	for _, gvr := range statusCRDs {
		gv := gvr.GroupVersion().String()
		l, ok := lists[gv]
		if !ok {
			l, _ = disc.ServerResourcesForGroupVersion(gv) // an error (not served yet): pending
			lists[gv] = l
		}
		served, status := false, false
		if l != nil {
			for _, r := range l.APIResources {
				served = served || r.Name == gvr.Resource
				status = status || r.Name == gvr.Resource+"/status"
			}
		}
		if !served || status != on {
			pending = append(pending, gvr.Resource+"."+gvr.Group)
		}
	}
	return pending
}
