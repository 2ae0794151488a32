package backupconfigurationview

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1beta1 "k8s.io/apimachinery/pkg/apis/meta/v1beta1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kubestash/backupview/pkg/apis/ui/install"
	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// The benchmarks below measure what a LIST of every view costs in this package (List, then
// the Table), next to what merely encoding the same bytes costs (the JSON serializer the
// generic API server uses, streaming collections on), so that our own share is visible.
// Views are built by the real join from objects shaped like cmd/backupview-scale's.

var t0 = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

type lookup struct {
	sessions map[string][]*kubestash.BackupSession
	crons    map[string][]*kubestash.CronJob
}

func (l *lookup) BackupSessions(k string) []*kubestash.BackupSession { return l.sessions[k] }
func (l *lookup) CronJobs(_, uid string) []*kubestash.CronJob        { return l.crons[uid] }
func (l *lookup) Repository(ns, n string) *kubestash.Repository {
	i32 := int32(10)
	return &kubestash.Repository{Meta: om(ns, n, "7", t0), AppRef: &kubestash.TypedRef{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: ns, Name: "db"},
		Phase: "Ready", Size: "12.204 MiB", SnapshotCount: &i32, LastBackupTime: &metav1.Time{Time: t0}}
}
func (l *lookup) BackupStorage(ns, n string) *kubestash.BackupStorage {
	return &kubestash.BackupStorage{Meta: om(ns, n, "3", t0), Provider: "s3", Phase: "Ready", TotalSize: "51.387 GiB", Repositories: 500}
}
func (l *lookup) RetentionPolicy(ns, n string) *kubestash.RetentionPolicy {
	return &kubestash.RetentionPolicy{Meta: om(ns, n, "4", t0), MaxRetentionPeriod: "2mo"}
}
func (l *lookup) Snapshots(string, string) ([]*kubestash.Snapshot, bool)  { return nil, true }
func (l *lookup) BackupVerifier(string, string) *kubestash.BackupVerifier { return nil }
func (l *lookup) VerificationSessions(string) ([]*kubestash.BackupVerificationSession, bool) {
	return nil, true
}
func (l *lookup) Target(t kubestash.TypedRef) (*kubestash.Object, bool) {
	return &kubestash.Object{Meta: om(t.Namespace, t.Name, "5", t0)}, true
}

func om(ns, name, rv string, created time.Time) kubestash.Meta {
	return kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: rv, CreationTimestamp: metav1.NewTime(created)}
}

// benchSnapshot is n views (10 per namespace, 10 sessions each, half with two sessions).
func benchSnapshot(n int) *viewcache.Snapshot[*v1alpha1.BackupConfigurationView] {
	l := &lookup{sessions: map[string][]*kubestash.BackupSession{}, crons: map[string][]*kubestash.CronJob{}}
	snap := &viewcache.Snapshot[*v1alpha1.BackupConfigurationView]{RV: 1 << 20}
	i32 := int32(1)
	for i := 0; i < n; i++ {
		ns, name := fmt.Sprintf("team-%04d", i/10), fmt.Sprintf("db-%05d-backup", i)
		m := om(ns, name, fmt.Sprint(1000+i), t0.Add(-7*24*time.Hour))
		uid := kubestashUID(i)
		labels := map[string]string{"app.kubernetes.io/name": "backupconfigurations.core.kubestash.com", "app.kubernetes.io/instance": name,
			"app.kubernetes.io/managed-by": "Helm", "team": fmt.Sprintf("team-%d", i%7), "env": "staging"}
		annotations := map[string]string{"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns}
		bc := &kubestash.BackupConfiguration{
			Meta: m, UID: uid, Labels: labels, Annotations: annotations, Phase: "Ready",
			Target:   &kubestash.TypedRef{APIGroup: "kubedb.com", Kind: "Postgres", Namespace: ns, Name: fmt.Sprintf("db-%05d", i)},
			Backends: []kubestash.Backend{{Name: "default-backend", StorageRef: &kubestash.Ref{Namespace: "kubestash", Name: fmt.Sprintf("s3-%02d", i%20)}, RetentionPolicy: &kubestash.Ref{Namespace: "kubestash", Name: fmt.Sprintf("keep-%02d", i%20)}}},
			Sessions: []kubestash.Session{{Name: "full-backup", Schedule: "0 */4 * * *", Addon: "postgres-addon", Tasks: []string{"logical-backup"}, Repositories: []string{fmt.Sprintf("db-%05d-repo", i)}, NextSchedule: "2026-11-27T08:00:00Z"}},
			Conditions: []kubestash.Condition{{Type: "ValidationPassed", Status: "True", Reason: "ResourceValidationPassed", Message: "Resource validation passed.",
				LastTransitionTime: &metav1.Time{Time: t0}}},
		}
		if i%2 == 1 {
			bc.Sessions = append(bc.Sessions, kubestash.Session{Name: "manifest-backup", Schedule: "30 1 * * *", Addon: "postgres-addon", Tasks: []string{"manifest-backup"}, Repositories: bc.Sessions[0].Repositories})
		}
		key := ns + "/" + name
		for k := 0; k < 10; k++ {
			trigger := t0.Add(-time.Duration(9-k) * 4 * time.Hour)
			s := bc.Sessions[k%len(bc.Sessions)].Name
			l.sessions[key] = append(l.sessions[key], &kubestash.BackupSession{Meta: om(ns, fmt.Sprintf("%s-%s-%d", name, s, trigger.Unix()), fmt.Sprint(5000+k), trigger),
				Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: name, Session: s, Phase: "Succeeded", Duration: "2m11s", TotalSnapshots: &i32})
		}
		for _, s := range bc.Sessions {
			l.crons[string(uid)] = append(l.crons[string(uid)], &kubestash.CronJob{Meta: om(ns, "trigger-"+name+"-"+s.Name, "9", t0), Schedule: s.Schedule,
				LastScheduleTime: &metav1.Time{Time: t0}})
		}
		v, rv := join.Build(bc, l, join.Options{})
		e := &viewcache.Entry[*v1alpha1.BackupConfigurationView]{Key: key, Object: v, RV: rv}
		v.ResourceVersion = fmt.Sprint(rv)
		snap.Entries = append(snap.Entries, e)
	}
	return snap
}

func kubestashUID(i int) types.UID { return types.UID(fmt.Sprintf("0b8a3c55-6f7e-4f43-9c1e-%012d", i)) }

// benchCache serves one snapshot.
type benchCache struct {
	snap *viewcache.Snapshot[*v1alpha1.BackupConfigurationView]
}

func (f *benchCache) WaitReady(context.Context) error { return nil }
func (f *benchCache) Reach(context.Context, uint64) (*viewcache.Snapshot[*v1alpha1.BackupConfigurationView], error) {
	return f.snap, nil
}
func (f *benchCache) Current() *viewcache.Snapshot[*v1alpha1.BackupConfigurationView] { return f.snap }
func (f *benchCache) SnapshotAt(rv uint64) *viewcache.Snapshot[*v1alpha1.BackupConfigurationView] {
	return f.snap
}
func (f *benchCache) Get(key string) *viewcache.Entry[*v1alpha1.BackupConfigurationView] {
	return f.snap.Find(key)
}
func (f *benchCache) Watch(context.Context, viewcache.WatchOptions[*v1alpha1.BackupConfigurationView], func()) (watch.Interface, error) {
	return nil, nil
}

var benchSizes = []int{1000, 10000}

func benchREST(n int) (*REST, context.Context) {
	r := NewREST(&benchCache{snap: benchSnapshot(n)}, Hooks{})
	return r, genericapirequest.WithNamespace(context.Background(), "")
}

func everything() *metainternalversion.ListOptions { return &metainternalversion.ListOptions{} }

// BenchmarkList is List of every view (kubectl get bcv -A -o json, before encoding).
func BenchmarkList(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, ctx := benchREST(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.List(ctx, everything()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListTable is List plus the Table (kubectl get bcv -A, before encoding).
func BenchmarkListTable(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, ctx := benchREST(n)
			b.ReportAllocs()
			for b.Loop() {
				l, err := r.List(ctx, everything())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.ConvertToTable(ctx, l, &metav1.TableOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// codecs is the generic API server's JSON serializer setup for our group.
func codecs() runtime.Encoder {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	utilMust(metav1.AddMetaToScheme(scheme))
	utilMust(metav1beta1.AddMetaToScheme(scheme))
	cf := serializer.NewCodecFactory(scheme, serializer.WithStreamingCollectionEncodingToJSON())
	info, _ := runtime.SerializerInfoForMediaType(cf.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return cf.EncoderForVersion(info.Serializer, schema.GroupVersions{v1alpha1.SchemeGroupVersion, metav1.SchemeGroupVersion})
}

func utilMust(err error) {
	if err != nil {
		panic(err)
	}
}

// asServed turns Table rows into PartialObjectMetadata, as the endpoint does for kubectl's
// default includeObject=Metadata.
func asServed(t *metav1.Table) {
	for i := range t.Rows {
		m, _ := meta.Accessor(t.Rows[i].Object.Object)
		p := meta.AsPartialObjectMetadata(m)
		p.GetObjectKind().SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata"))
		t.Rows[i].Object.Object = p
	}
}

// BenchmarkListTableJSON is the whole of kubectl get bcv -A in this process: List, Table,
// rows as metadata, JSON.
func BenchmarkListTableJSON(b *testing.B) {
	enc := codecs()
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, ctx := benchREST(n)
			var size int
			b.ReportAllocs()
			for b.Loop() {
				l, _ := r.List(ctx, everything())
				t, _ := r.ConvertToTable(ctx, l, &metav1.TableOptions{})
				asServed(t)
				var w countingWriter
				if err := enc.Encode(t, &w); err != nil {
					b.Fatal(err)
				}
				size = w.n
			}
			b.ReportMetric(float64(size), "bytes/response")
		})
	}
}

// BenchmarkListJSON is the whole of kubectl get bcv -A -o json in this process: List, JSON.
func BenchmarkListJSON(b *testing.B) {
	enc := codecs()
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, ctx := benchREST(n)
			var size int
			b.ReportAllocs()
			for b.Loop() {
				l, _ := r.List(ctx, everything())
				var w countingWriter
				if err := enc.Encode(l, &w); err != nil {
					b.Fatal(err)
				}
				size = w.n
			}
			b.ReportMetric(float64(size), "bytes/response")
		})
	}
}

// BenchmarkEncodeOnlyJSON encodes an already built list: the floor for -o json.
func BenchmarkEncodeOnlyJSON(b *testing.B) {
	enc := codecs()
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, ctx := benchREST(n)
			l, _ := r.List(ctx, everything())
			v1 := l
			b.ReportAllocs()
			for b.Loop() {
				if err := enc.Encode(v1, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeOnlyTableJSON encodes an already built Table: the floor for kubectl get.
func BenchmarkEncodeOnlyTableJSON(b *testing.B) {
	enc := codecs()
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r, ctx := benchREST(n)
			l, _ := r.List(ctx, everything())
			t, _ := r.ConvertToTable(ctx, l, &metav1.TableOptions{})
			asServed(t)
			b.ReportAllocs()
			for b.Loop() {
				if err := enc.Encode(t, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet is one view.
func BenchmarkGet(b *testing.B) {
	r, _ := benchREST(10000)
	ctx := genericapirequest.WithNamespace(context.Background(), "team-0500")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Get(ctx, "db-05003-backup", &metav1.GetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// fieldSet is a view's field selectors as a fields.Set (how they were matched before the
// table's Matcher), for BenchmarkFieldMatch.
func fieldSet(v *v1alpha1.BackupConfigurationView) fields.Set {
	set := make(fields.Set, len(v1alpha1.ViewFields))
	for _, f := range v1alpha1.ViewFields {
		set[f.Name] = f.Value(v)
	}
	return set
}

// BenchmarkListFieldSelector is LIST -A with a field selector: it evaluates every view.
func BenchmarkListFieldSelector(b *testing.B) {
	r, ctx := benchREST(10000)
	opts := &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("basic.phase", "Ready")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.List(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFieldMatch is one view against a field selector: through a fields.Set map and
// through the table's Matcher.
func BenchmarkFieldMatch(b *testing.B) {
	v := benchSnapshot(1).Entries[0].Object
	sel := fields.OneTermEqualSelector("basic.phase", "Ready")
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sel.Matches(fieldSet(v))
		}
	})
	match, err := v1alpha1.ViewFields.Matcher(sel)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("matcher", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			match(v)
		}
	})
}
