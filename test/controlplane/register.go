package controlplane

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
)

var (
	gvrAPIService = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	gvrService    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrNamespace  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// RESTConfig is the admin's client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.Kubeconfig(""))
}

func (c *Cluster) dynamic() (dynamic.Interface, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// Register applies Namespace backupview-system, Service backupview (ExternalName localhost,
// on the server's port) and APIService v1alpha1.ui.kubestash.com (caBundle: backupview-ca),
// server-side, so that it can be applied again.
func (c *Cluster) Register(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ca, err := os.ReadFile(c.PKI("backupview-ca.crt"))
	if err != nil {
		return fmt.Errorf("no cluster in %s: run up first (%w)", c.cfg.Dir, err)
	}
	if c.state.Ports.Server == 0 {
		return fmt.Errorf("no server port chosen in %s: run up first", c.cfg.Dir)
	}
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	port := int64(c.state.Ports.Server)
	objs := []struct {
		gvr schema.GroupVersionResource
		ns  string
		obj map[string]any
	}{
		{gvrNamespace, "", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ServerNamespace}}},
		{gvrService, ServerNamespace, map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": ServerService, "namespace": ServerNamespace},
			"spec": map[string]any{"type": "ExternalName", "externalName": "localhost",
				"ports": []any{map[string]any{"name": "https", "port": port, "protocol": "TCP"}}}}},
		{gvrAPIService, "", map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": APIServiceName},
			"spec": map[string]any{"group": APIServiceGroup, "version": APIServiceVer,
				"groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
				"service":  map[string]any{"namespace": ServerNamespace, "name": ServerService, "port": port},
				"caBundle": base64.StdEncoding.EncodeToString(ca)}}},
	}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o.obj}
		var ri dynamic.ResourceInterface = dyn.Resource(o.gvr)
		if o.ns != "" {
			ri = dyn.Resource(o.gvr).Namespace(o.ns)
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "backupview-cluster", Force: true}); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		c.cfg.Logf("%s/%s applied", u.GetKind(), u.GetName())
	}
	return nil
}

func (c *Cluster) registered(ctx context.Context) (bool, error) {
	dyn, err := c.dynamic()
	if err != nil {
		return false, err
	}
	_, err = dyn.Resource(gvrAPIService).Get(ctx, APIServiceName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// waitAvailable watches the APIService until its Available condition is True.
func (c *Cluster) waitAvailable(ctx context.Context) error {
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	lw := listWatch(dyn.Resource(gvrAPIService), fields.OneTermEqualSelector("metadata.name", APIServiceName).String())
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	var last *unstructured.Unstructured
	_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		last = u
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, x := range conds {
			if m, ok := x.(map[string]any); ok && m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		status := "not found"
		if last != nil {
			s, _, _ := unstructured.NestedFieldNoCopy(last.Object, "status")
			status = fmt.Sprint(s)
		}
		return fmt.Errorf("apiservice/%s not Available within %s (status %s): %w\n%s", APIServiceName, c.cfg.ReadyTimeout, status, err, c.logTail(Server))
	}
	return nil
}

// listWatch lists and watches a resource (with a field selector, when not empty) for
// watchtools.UntilWithSync.
func listWatch(ri dynamic.ResourceInterface, fieldSelector string) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fieldSelector
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fieldSelector
			return ri.Watch(ctx, o)
		},
	}
}
