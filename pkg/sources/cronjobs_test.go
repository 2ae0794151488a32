package sources

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metadatafake "k8s.io/client-go/metadata/fake"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// A CronJob joins a BackupConfiguration only within its namespace: an owner reference that
// names a BackupConfiguration's UID from another namespace (which Kubernetes' garbage
// collector does not honour either) neither shows in that view nor rebuilds it.
func TestCronJobsJoinOnlyWithinTheirNamespace(t *testing.T) {
	disco, dyn := fakeCluster(t, nil, bcObj("prod", "a", "uid-a", "", "s3", "keep", "r"), bcObj("prod", "b", "uid-b", "", "s3", "keep", "r"))
	s, rec := newRecorded(dynamicLister{dyn}, metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), disco)
	s.SetPollInterval(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Start(ctx)
	eventually(t, "sources synced", s.HasSynced)
	rec.next(t) // the BackupConfigurations' ADDs
	rec.next(t)
	rec.reset()

	tr := true
	cron := func(ns, name, owner string) {
		t.Helper()
		o := u(kubestash.CronJobs, "CronJob", ns, name, nil)
		o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "core.kubestash.com/v1alpha1", Kind: "BackupConfiguration", Name: "a", UID: types.UID(owner), Controller: &tr}})
		if _, err := dyn.Resource(kubestash.CronJobs).Namespace(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Events are delivered in order: had the CronJob in demo notified prod/a, that would come
	// before prod/b's.
	cron("demo", "trigger-a-full", "uid-a")
	cron("prod", "trigger-b-full", "uid-b")
	if got := rec.next(t); got != "prod/b" {
		t.Errorf("first notification %q, want prod/b: a CronJob in demo owned by prod/a's UID must notify nothing", got)
	}
	cron("prod", "trigger-a-full", "uid-a")
	if got := rec.next(t); got != "prod/a" {
		t.Errorf("notification %q, want prod/a", got)
	}
	got := s.CronJobs("prod", "uid-a")
	if len(got) != 1 || got[0].Namespace != "prod" {
		t.Errorf("CronJobs(prod, uid-a) = %d CronJobs, want only the one in prod", len(got))
	}
	if got := s.CronJobs("other", "uid-a"); len(got) != 0 {
		t.Errorf("CronJobs(other, uid-a) = %d CronJobs, want none", len(got))
	}
}
