package sources

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// A discovery that fails (kube-apiserver unreachable or slow at startup) is not "KubeStash is
// not installed": the sources must not report synced, or the views would be built empty.
func TestFailedDiscoveryIsNotSynced(t *testing.T) {
	disco := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	disco.Resources = []*metav1.APIResourceList{{GroupVersion: "batch/v1", APIResources: []metav1.APIResource{{Name: "cronjobs", Kind: "CronJob", Namespaced: true}}}}
	var failing atomic.Bool
	failing.Store(true)
	disco.AddReactor("get", "resource", func(clienttesting.Action) (bool, runtime.Object, error) {
		if failing.Load() {
			return true, nil, errors.New("net/http: TLS handshake timeout")
		}
		return false, nil, nil
	})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{kubestash.CronJobs: "CronJobList"})
	s := New(dynamicLister{dyn}, metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), disco, func(Change) {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	time.Sleep(200 * time.Millisecond)
	if s.HasSynced() {
		t.Fatal("synced although discovery failed")
	}
	failing.Store(false) // discovery answers now; the retry comes within a second
	deadline := time.Now().Add(5 * time.Second)
	for !s.HasSynced() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !s.HasSynced() {
		t.Fatal("not synced after discovery recovered")
	}
	if got := len(s.MissingKinds()); got != len(sourceKinds)-1 { // all but CronJobs
		t.Errorf("missing kinds = %v", s.MissingKinds())
	}
}

// A served kind whose list fails (RBAC, a broken conversion webhook) is named by NotSynced and
// reported installed but not synced; the others sync.
func TestUnlistableKindIsReportedNotSynced(t *testing.T) {
	disco, dyn := fakeCluster(t, nil)
	dyn.PrependReactor("list", "addons", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("conversion webhook for addons.kubestash.com/v1alpha1 failed")
	})
	s := New(dynamicLister{dyn}, metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), disco, func(Change) {})
	s.SetPollInterval(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	eventually(t, "every other kind synced", func() bool {
		for _, st := range s.Statuses() {
			if st.Resource != "addons.addons.kubestash.com" && !st.Synced {
				return false
			}
		}
		return true
	})
	if got := s.NotSynced(); len(got) != 1 || got[0] != "addons.addons.kubestash.com" {
		t.Errorf("NotSynced() = %v, want [addons.addons.kubestash.com]", got)
	}
	for _, st := range s.Statuses() {
		if st.Resource == "addons.addons.kubestash.com" && (!st.Installed || st.Synced) {
			t.Errorf("addons status %+v, want installed and not synced", st)
		}
	}
}
