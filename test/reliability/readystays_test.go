package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/test/harness"
)

// TestReadyStaysReady (promise 17): once backupview is ready, a KubeStash CRD installed later
// that it cannot list (here Addons, whose objects are stored in a version only a conversion
// webhook that does not exist could turn into the v1alpha1 backupview reads) never makes
// /readyz fail: a Deployment's readinessProbe would take the whole aggregated API down. It is
// reported instead: by backupview_source_synced, the log, and a Warning on view requests.
func TestReadyStaysReady(t *testing.T) {
	need(t)
	const poll = 2 * time.Second
	c := startCluster(t, harness.Options{SkipCRDs: true, SkipServer: true,
		ServerArgs: []string{"--source-poll-interval=" + poll.String()}})
	installCRDsExcept(t, c, addonsCRD)
	if err := c.StartServer(); err != nil { // ready
		t.Fatal(err)
	}
	direct := bvDirect(t, c, c.Ports.Server)
	kas := kasHTTP(t, c, "admin")
	log := filepath.Join(c.Dir, "logs", "backupview.log")
	readyz := sampleReadyz(direct, 100*time.Millisecond)

	// The Addons CRD, first serving only v1 (its storage version), so that an Addon can be
	// stored without conversion; then v1alpha1 is served too, through the missing webhook.
	if out, err := c.KubectlStdout(brokenAddonsCRD(false), "apply", "-f", "-"); err != nil {
		t.Fatal(err, out)
	}
	if err := c.WaitCRDsEstablished(); err != nil {
		t.Fatal(err)
	}
	addonV1 := schema.GroupVersionResource{Group: "addons.kubestash.com", Version: "v1", Resource: "addons"}
	if err := waitUntil(30*time.Second, func() error {
		return createAll(context.Background(), c.Dyn, []item{{gvr: addonV1, obj: u("addons.kubestash.com/v1", "Addon", "", "mongodb-addon", nil)}}, 1)
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.KubectlStdout(brokenAddonsCRD(true), "apply", "-f", "-"); err != nil {
		t.Fatal(err, out)
	}
	appeared := time.Now()

	// Reported: the Warning (at once), the metric (refreshed every 5 s), the log (after 10 s).
	const resource = "addons.addons.kubestash.com"
	unsynced := fmt.Sprintf(`backupview_source_synced{installed="true",resource=%q} 0`, resource)
	for _, check := range []struct {
		what string
		ok   func() bool
	}{
		{"a Warning on LIST", func() bool { // not the one for CRDs that are not installed
			for _, w := range kas.get(viewsPath).hdr.Values("Warning") {
				if strings.Contains(w, resource) && strings.Contains(w, "cannot list") {
					return true
				}
			}
			return false
		}},
		{"backupview_source_synced", func() bool { return strings.Contains(string(direct.get("/metrics").body), unsynced) }},
		{"the log", func() bool { return countLines(t, log, "source installed but not synced") > 0 }},
	} {
		if err := waitUntil(30*time.Second, func() error {
			if !check.ok() {
				return fmt.Errorf("not yet")
			}
			return nil
		}); err != nil {
			t.Errorf("an Addons CRD that cannot be listed is not reported by %s within 30 s", check.what)
		} else {
			t.Logf("reported by %s %s after it appeared", check.what, time.Since(appeared).Round(time.Millisecond))
		}
	}
	// The premise: listing what backupview lists fails (client-go retries that 429 for ~10 s).
	var listErr error
	if err := waitUntil(20*time.Second, func() error {
		_, listErr = c.Dyn.Resource(gvrAddon).List(context.Background(), metav1.ListOptions{})
		if listErr == nil || apierrors.IsNotFound(listErr) { // not served yet
			return fmt.Errorf("listing Addons in v1alpha1: %v", listErr)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v: the test needs that list to fail", err)
	}
	t.Logf("listing Addons in v1alpha1 fails as intended: %.200v", listErr)
	// /readyz is sampled for at least 10 s after the CRD appeared.
	time.Sleep(time.Until(appeared.Add(10 * time.Second)))
	got := readyz()
	t.Logf("/readyz every 100 ms from before the CRD appeared to %s after: %v", time.Since(appeared).Round(time.Millisecond), got)
	if len(got) != 1 || got[200] < 100 {
		t.Errorf("/readyz: %v, want only 200 (at least 100 samples)", got)
	}
	if r := kas.get(viewsPath); r.code != 200 {
		t.Errorf("LIST with a KubeStash CRD that cannot be listed: %d %s", r.code, short(r.body))
	}
}

// brokenAddonsCRD is the Addons CRD with objects stored in v1 and v1alpha1 (what backupview
// reads) converted by a webhook that does not exist; v1alpha1 is served only when
// servedAlpha.
func brokenAddonsCRD(servedAlpha bool) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: addons.addons.kubestash.com
spec:
  group: addons.kubestash.com
  names: {kind: Addon, plural: addons, singular: addon, listKind: AddonList}
  scope: Cluster
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
  - name: v1alpha1
    served: %t
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, servedAlpha)
}
