package sources

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/kubestash/backupview/pkg/kubestash"
)

func snapshotObj(ns, name, repo string) *unstructured.Unstructured {
	return u(kubestash.Snapshots, "Snapshot", ns, name, map[string]interface{}{
		"spec":   map[string]interface{}{"repository": repo, "type": "FullBackup"},
		"status": map[string]interface{}{"phase": "Succeeded", "snapshotTime": "2026-12-01T04:00:00Z"},
	})
}

// The Snapshots are found by their Repository (in their own namespace), follow a change of
// spec.repository and a deletion, and read as not synced before they are listed.
func TestSnapshotsByRepository(t *testing.T) {
	disco, dyn := fakeCluster(t, nil, snapshotObj("demo", "s1", "repo"), snapshotObj("demo", "s2", "repo"), snapshotObj("prod", "s3", "repo"))
	s := New(dynamicLister{dyn}, metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), disco, func(Change) {})
	if _, synced := s.Snapshots("demo", "repo"); synced {
		t.Fatal("Snapshots synced before the sources started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	if err := s.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	names := func(ns, repo string) []string {
		l, synced := s.Snapshots(ns, repo)
		if !synced {
			t.Fatalf("Snapshots(%s, %s) not synced", ns, repo)
		}
		var out []string
		for _, sn := range l {
			out = append(out, sn.Name)
		}
		slices.Sort(out)
		return out
	}
	// eventually: the fake watch delivers asynchronously.
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
		}
	}
	if got := names("demo", "repo"); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Errorf("demo/repo: %v", got)
	}
	if got := names("prod", "repo"); !slices.Equal(got, []string{"s3"}) {
		t.Errorf("prod/repo: %v", got)
	}
	if sn, _ := s.Snapshot("demo", "s1"); sn == nil || sn.Phase != "Succeeded" || sn.Type != "FullBackup" {
		t.Errorf("Snapshot demo/s1: %+v", sn)
	}
	moved := snapshotObj("demo", "s2", "other")
	if _, err := dyn.Resource(kubestash.Snapshots).Namespace("demo").Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("s2 moves to demo/other", func() bool { return slices.Equal(names("demo", "other"), []string{"s2"}) })
	if got := names("demo", "repo"); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("demo/repo after the move: %v", got)
	}
	if err := dyn.Resource(kubestash.Snapshots).Namespace("demo").Delete(ctx, "s1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("s1 deleted", func() bool { return len(names("demo", "repo")) == 0 })
}
