package controlplane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"
)

var gvrCRD = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDFiles are the CRDs a cluster of backupview's runs with: the upstream KubeStash CRDs from
// shared (the directory beside the repository) when it has them, the project's own
// (hack/crds) otherwise, and the demo's target CRDs.
func CRDFiles(root, shared string) (files []string, upstream bool) {
	kubestash := filepath.Join(root, "hack", "crds")
	if st, err := os.Stat(filepath.Join(shared, "kubestash-crds")); err == nil && st.IsDir() {
		kubestash, upstream = filepath.Join(shared, "kubestash-crds"), true
	}
	return []string{kubestash, filepath.Join(root, "hack", "demo", "target-crds.yaml")}, upstream
}

// InstallCRDs applies the CRDs in files (files or directories) server-side with kubectl, as
// the admin, and watches them until every one is Established.
func (c *Cluster) InstallCRDs(ctx context.Context, files ...string) error {
	args := []string{"--kubeconfig", c.Kubeconfig(""), "apply", "--server-side", "-o", "name"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	out, err := exec.CommandContext(ctx, c.Kubectl(), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("applying CRDs: %v\n%s", err, out)
	}
	pending := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		if name, ok := strings.CutPrefix(l, "customresourcedefinition.apiextensions.k8s.io/"); ok {
			pending[name] = true
		}
	}
	return c.waitEstablished(ctx, pending)
}

// waitEstablished watches the CRDs until none of pending lacks the Established condition.
func (c *Cluster) waitEstablished(ctx context.Context, pending map[string]bool) error {
	if len(pending) == 0 {
		return nil
	}
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	lw := listWatch(dyn.Resource(gvrCRD), "")
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok || !pending[u.GetName()] {
			return len(pending) == 0, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, x := range conds {
			if m, ok := x.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				delete(pending, u.GetName())
			}
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		var names []string
		for n := range pending {
			names = append(names, n)
		}
		return fmt.Errorf("CRDs not Established within %s: %s: %w", c.cfg.ReadyTimeout, strings.Join(names, ", "), err)
	}
	return nil
}

// WaitCRDsEstablished watches every CRD of the cluster until each one is Established.
func (c *Cluster) WaitCRDsEstablished(ctx context.Context) error {
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	l, err := dyn.Resource(gvrCRD).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, u := range l.Items {
		pending[u.GetName()] = true
	}
	return c.waitEstablished(ctx, pending)
}
