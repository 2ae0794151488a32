package backupconfigurationview

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// fakeCache serves fixed snapshots.
type fakeCache struct {
	ready bool
	snaps map[uint64]*viewcache.Snapshot[*ui.BackupConfigurationView]
	cur   uint64
}

func (f *fakeCache) WaitReady(ctx context.Context) error {
	if f.ready {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}
func (f *fakeCache) Reach(ctx context.Context, rv uint64) (*viewcache.Snapshot[*ui.BackupConfigurationView], error) {
	if f.Current().RV >= rv {
		return f.Current(), nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}
func (f *fakeCache) Current() *viewcache.Snapshot[*ui.BackupConfigurationView] { return f.snaps[f.cur] }
func (f *fakeCache) SnapshotAt(rv uint64) *viewcache.Snapshot[*ui.BackupConfigurationView] {
	return f.snaps[rv]
}
func (f *fakeCache) Get(key string) *viewcache.Entry[*ui.BackupConfigurationView] {
	return f.Current().Find(key)
}
func (f *fakeCache) Watch(context.Context, viewcache.WatchOptions[*ui.BackupConfigurationView], func()) (watch.Interface, error) {
	return watch.NewEmptyWatch(), nil
}

func view(ns, name string, paused bool, lbl map[string]string) *viewcache.Entry[*ui.BackupConfigurationView] {
	v := &ui.BackupConfigurationView{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl, ResourceVersion: "5"}}
	v.Basic.Paused = paused
	v.Basic.Phase = "Ready"
	v.Target = ui.TargetRef{Kind: "MongoDB", Name: name}
	return &viewcache.Entry[*ui.BackupConfigurationView]{Key: ns + "/" + name, Object: v, RV: 5}
}

func newStore() (*REST, *fakeCache) {
	s := &viewcache.Snapshot[*ui.BackupConfigurationView]{RV: 7, Entries: []*viewcache.Entry[*ui.BackupConfigurationView]{
		view("a", "one", false, map[string]string{"team": "x"}), view("a", "two", true, nil),
		view("b", "three", false, map[string]string{"team": "x"}), view("c", "four", false, nil),
	}}
	f := &fakeCache{ready: true, snaps: map[uint64]*viewcache.Snapshot[*ui.BackupConfigurationView]{7: s}, cur: 7}
	return NewREST(f, Hooks{}), f
}

func names(l *ui.BackupConfigurationViewList) string {
	var out []string
	for _, v := range l.Items {
		out = append(out, v.Namespace+"/"+v.Name)
	}
	return strings.Join(out, ",")
}

func list(t *testing.T, r *REST, ns string, o *metainternalversion.ListOptions) (*ui.BackupConfigurationViewList, error) {
	t.Helper()
	ctx := genericapirequest.WithNamespace(context.Background(), ns)
	obj, err := r.List(ctx, o)
	if err != nil {
		return nil, err
	}
	return obj.(*ui.BackupConfigurationViewList), nil
}

func TestListSelectors(t *testing.T) {
	r, _ := newStore()
	cases := []struct {
		ns   string
		o    *metainternalversion.ListOptions
		want string
	}{
		{"", nil, "a/one,a/two,b/three,c/four"},
		{"a", nil, "a/one,a/two"},
		{"", &metainternalversion.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"team": "x"})}, "a/one,b/three"},
		{"", &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("basic.paused", "true")}, "a/two"},
		{"", &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("target.name", "four")}, "c/four"},
		{"b", &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "one")}, ""},
	}
	for _, tc := range cases {
		l, err := list(t, r, tc.ns, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(l); got != tc.want {
			t.Errorf("ns %q %v: got %s, want %s", tc.ns, tc.o, got, tc.want)
		}
		if l.ResourceVersion != "7" {
			t.Errorf("list rv %s", l.ResourceVersion)
		}
	}
	_, err := list(t, r, "", &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.x", "y")})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "basic.paused") {
		t.Errorf("unsupported field: %v", err)
	}
}

func TestPaging(t *testing.T) {
	r, f := newStore()
	var all []string
	o := &metainternalversion.ListOptions{Limit: 3}
	for page := 0; ; page++ {
		l, err := list(t, r, "", o)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) > 3 {
			t.Fatalf("page %d has %d items", page, len(l.Items))
		}
		all = append(all, names(l))
		if l.Continue == "" {
			break
		}
		if page == 0 && (l.RemainingItemCount == nil || *l.RemainingItemCount != 1) {
			t.Errorf("remainingItemCount = %v", l.RemainingItemCount)
		}
		// A change between pages: the walk keeps its snapshot.
		f.snaps[8] = &viewcache.Snapshot[*ui.BackupConfigurationView]{RV: 8}
		f.cur = 8
		o = &metainternalversion.ListOptions{Limit: 3, Continue: l.Continue}
	}
	if got := strings.Join(all, ","); got != "a/one,a/two,b/three,c/four" {
		t.Errorf("pages = %s", got)
	}
	// An expired snapshot: 410 Gone.
	r, f = newStore()
	l, _ := list(t, r, "", &metainternalversion.ListOptions{Limit: 1})
	if l.Continue == "" {
		t.Fatal("no continue token")
	}
	f.snaps = map[uint64]*viewcache.Snapshot[*ui.BackupConfigurationView]{9: {RV: 9}}
	f.cur = 9
	if _, err := list(t, r, "", &metainternalversion.ListOptions{Limit: 1, Continue: l.Continue}); !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Errorf("expired continue: %v", err)
	}
	if _, err := list(t, r, "", &metainternalversion.ListOptions{Continue: "garbage"}); !apierrors.IsBadRequest(err) {
		t.Errorf("bad continue: %v", err)
	}
	// A filtered page that ends exactly at the last match gives no token.
	r2, _ := newStore()
	l2, _ := list(t, r2, "", &metainternalversion.ListOptions{Limit: 1, FieldSelector: fields.OneTermEqualSelector("basic.paused", "true")})
	if names(l2) != "a/two" || l2.Continue != "" {
		t.Errorf("filtered page = %s continue %q", names(l2), l2.Continue)
	}
}

func TestGetAndNotReady(t *testing.T) {
	r, f := newStore()
	ctx := genericapirequest.WithNamespace(context.Background(), "a")
	if o, err := r.Get(ctx, "one", nil); err != nil || o.(*ui.BackupConfigurationView).Name != "one" {
		t.Errorf("get: %v", err)
	}
	if _, err := r.Get(ctx, "three", nil); !apierrors.IsNotFound(err) {
		t.Errorf("a view of another namespace: %v", err)
	}
	f.ready = false
	r.ReadyWait = 100 * time.Millisecond
	if _, err := r.List(ctx, nil); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("not ready: %v", err)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	c := tableConvertor{now: func() time.Time { return now }}
	v := &ui.BackupConfigurationView{ObjectMeta: metav1.ObjectMeta{Name: "x", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}}
	v.Summary.Schedule = "@hourly"
	v.Health.Verdict = "Healthy"
	v.Health.Reasons = []ui.HealthReason{{Type: "Overdue", After: &metav1.Time{Time: now.Add(-time.Minute)}}}
	v.CronJobs = []ui.CronJobRef{{Suspend: true}, {}}
	v.Repositories = []ui.RepositoryRef{
		{Name: "a", Snapshots: []ui.SnapshotRef{{Name: "a-1", Phase: "Succeeded", SnapshotTime: &metav1.Time{Time: now.Add(-3 * time.Hour)}}}},
		{Name: "b", Snapshots: []ui.SnapshotRef{{Name: "b-1", Phase: "Failed", SnapshotTime: &metav1.Time{Time: now.Add(-2 * time.Hour)}}}},
	}
	tbl, err := c.ConvertToTable(context.Background(), &ui.BackupConfigurationViewList{Items: []ui.BackupConfigurationView{*v}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.ColumnDefinitions) != 16 || len(tbl.Rows) != 1 || len(tbl.Rows[0].Cells) != 16 {
		t.Fatalf("table shape: %d columns, %d rows", len(tbl.ColumnDefinitions), len(tbl.Rows))
	}
	var defaults []string
	for _, col := range tbl.ColumnDefinitions {
		if col.Description == "" {
			t.Errorf("column %s has no description", col.Name)
		}
		if col.Priority == 0 {
			defaults = append(defaults, col.Name)
		}
	}
	// HEALTH is a default column, between PHASE and AGE.
	if got := strings.Join(defaults, " "); got != "Name Schedule Paused Repository BackupStorage Target Task RetentionPolicy Phase Health Age" {
		t.Errorf("default columns = %s", got)
	}
	cells := tbl.Rows[0].Cells
	// The stored verdict is Healthy; read at now, the Overdue reason holds.
	if cells[9] != "Overdue" || cells[10] != "60m" || cells[14] != "2 (1 suspended)" || cells[3] != "<none>" || cells[13] != "<none>" || cells[15] != "Failed 120m" {
		t.Errorf("cells = %v", cells)
	}
	// No headers when asked; headers on an empty list.
	tbl, _ = c.ConvertToTable(context.Background(), &ui.BackupConfigurationViewList{}, &metav1.TableOptions{NoHeaders: true})
	if len(tbl.ColumnDefinitions) != 0 {
		t.Error("NoHeaders ignored")
	}
	tbl, _ = c.ConvertToTable(context.Background(), &ui.BackupConfigurationViewList{}, nil)
	if len(tbl.ColumnDefinitions) != 16 || len(tbl.Rows) != 0 {
		t.Error("an empty list must still have headers")
	}
}

// NEXT-RUN is never an age in the past: a stale nextSchedule gives way to the schedule's next
// firing after now.
func TestTableNextRun(t *testing.T) {
	now := time.Date(2026, 12, 1, 22, 30, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	cases := []struct {
		name     string
		paused   bool
		sessions []ui.Session
		want     string
	}{
		{"ahead", false, []ui.Session{{Schedule: "0 */4 * * *", NextSchedule: at(90 * time.Minute)}}, "in 90m"},
		{"stale: the next firing", false, []ui.Session{{Schedule: "0 */4 * * *", NextSchedule: at(-4 * 24 * time.Hour)}}, "in 90m"},
		{"exactly now is past", false, []ui.Session{{Schedule: "0 3 * * *", NextSchedule: at(0)}}, "in 4h30m"},
		{"the earliest session", false, []ui.Session{
			{Schedule: "0 3 * * *", NextSchedule: at(-time.Hour)},
			{Schedule: "*/5 * * * *", NextSchedule: at(-time.Minute)},
			{Schedule: "0 0 * * *", NextSchedule: at(2 * time.Minute)},
		}, "in 2m"},
		{"stale and unparsable", false, []ui.Session{{Schedule: "nope", NextSchedule: at(-time.Hour)}}, "<none>"},
		{"not reported: not scheduled", false, []ui.Session{{Schedule: "0 3 * * *"}}, "<none>"},
		{"paused", true, []ui.Session{{Schedule: "0 3 * * *", NextSchedule: at(time.Hour)}}, "<none>"},
	}
	for _, tc := range cases {
		v := &ui.BackupConfigurationView{Sessions: tc.sessions}
		v.Basic.Paused = tc.paused
		if got := nextRun(v, now); got != tc.want {
			t.Errorf("%s: NEXT-RUN %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFieldSelectorHealthVerdict(t *testing.T) {
	s := &viewcache.Snapshot[*ui.BackupConfigurationView]{RV: 7}
	for i, verdict := range []string{"Healthy", "Failing", "Invalid", "Healthy", "Paused"} {
		e := view("a", fmt.Sprintf("v%d", i), false, nil)
		e.Object.Health.Verdict = verdict
		s.Entries = append(s.Entries, e)
	}
	r := NewREST(&fakeCache{ready: true, snaps: map[uint64]*viewcache.Snapshot[*ui.BackupConfigurationView]{7: s}, cur: 7}, Hooks{})
	for sel, want := range map[string]string{
		"health.verdict=Failing":                         "a/v1",
		"health.verdict!=Healthy":                        "a/v1,a/v2,a/v4",
		"health.verdict==Healthy":                        "a/v0,a/v3",
		"health.verdict!=Healthy,health.verdict!=Paused": "a/v1,a/v2",
	} {
		fs, err := fields.ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		l, err := list(t, r, "", &metainternalversion.ListOptions{FieldSelector: fs})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(l); got != want {
			t.Errorf("%s: got %s, want %s", sel, got, want)
		}
	}
}
