package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/pkg/sources"
	"github.com/kubestash/backupview/pkg/viewcache"
	"github.com/kubestash/backupview/test/scale"
)

// The in-process memory benchmarks (docs/benchmarks.md, "Memory: in-process heap per source
// object"): the server's sources and view cache, run on a generated scale served by
// client-go's fakes, without a cluster.

var benchScale = flag.String("bench-scale", "default", "the scale BenchmarkHeapPerObject loads ("+scale.Syntax+")")

// sourceKinds are the kinds the sources watch, as discovery serves them, and the scale's
// target kinds.
var sourceKinds = []struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}{
	{kubestash.BackupConfigurations, "BackupConfiguration", true}, {kubestash.BackupSessions, "BackupSession", true},
	{kubestash.Repositories, "Repository", true}, {kubestash.BackupStorages, "BackupStorage", true},
	{kubestash.RetentionPolicies, "RetentionPolicy", true}, {kubestash.Addons, "Addon", false},
	{kubestash.CronJobs, "CronJob", true}, {kubestash.Snapshots, "Snapshot", true},
	{kubestash.BackupVerifiers, "BackupVerifier", true}, {kubestash.BackupVerificationSessions, "BackupVerificationSession", true},
	{scale.MongoDBs, "MongoDB", true}, {scale.Postgreses, "Postgres", true},
}

// fakeCluster serves every source kind through fake discovery and dynamic clients.
func fakeCluster() (*discoveryfake.FakeDiscovery, *dynamicfake.FakeDynamicClient) {
	lists := map[schema.GroupVersionResource]string{}
	byGV := map[string][]metav1.APIResource{}
	var order []string
	for _, k := range sourceKinds {
		lists[k.gvr] = k.kind + "List"
		gv := k.gvr.GroupVersion().String()
		if _, ok := byGV[gv]; !ok {
			order = append(order, gv)
		}
		byGV[gv] = append(byGV[gv], metav1.APIResource{Name: k.gvr.Resource, Kind: k.kind, Namespaced: k.namespaced})
	}
	disco := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	for _, gv := range order {
		disco.Resources = append(disco.Resources, &metav1.APIResourceList{GroupVersion: gv, APIResources: byGV[gv]})
	}
	return disco, dynamicfake.NewSimpleDynamicClientWithCustomListKinds(k8sruntime.NewScheme(), lists)
}

// generated is a scale's objects as the API server would send them: JSON per resource, with
// the server's metadata (uid, resourceVersion, creationTimestamp) and the status written.
type generated struct {
	objects map[schema.GroupVersionResource][][]byte
	count   int // source objects (targets included, namespaces not)
}

func generate(b *testing.B, sc scale.Scale) *generated {
	g := &generated{objects: map[schema.GroupVersionResource][][]byte{}}
	rv := 1000
	add := func(o scale.Object, uid string) {
		rv++
		m := o.Object["metadata"].(map[string]interface{})
		m["uid"], m["resourceVersion"], m["generation"] = uid, strconv.Itoa(rv), int64(1)
		m["creationTimestamp"] = scale.Base.Add(-time.Duration(rv) * time.Second).Format(time.RFC3339)
		if o.Status != nil {
			o.Object["status"] = o.Status
		}
		data, err := json.Marshal(o.Object)
		if err != nil {
			b.Fatal(err)
		}
		g.objects[o.Resource] = append(g.objects[o.Resource], data)
		g.count++
	}
	uid := func(kind, i int) string { return fmt.Sprintf("00000000-0000-4000-8%03d-%012d", kind, i) }
	for n, o := range sc.SharedObjects() {
		add(o, uid(0, n))
	}
	for i := 0; i < sc.BCs; i++ {
		bcUID := uid(1, i)
		add(sc.BackupConfiguration(i), bcUID)
		refs, sessions := sc.Dependents(i, bcUID)
		for n, o := range refs {
			add(o, uid(2+n, i))
		}
		for k, o := range sessions {
			add(o, uid(10, i*1000+k))
		}
		for k, o := range sc.SnapshotsOf(i, uid(2, i)) { // the Repository is refs[0]
			add(o, uid(11, i*1000+k))
		}
	}
	if g.count != sc.SourceObjects() {
		b.Fatalf("generated %d objects, the scale has %d", g.count, sc.SourceObjects())
	}
	return g
}

// cluster serves the generated objects through fake clients, decoding each list from JSON
// as client-go does (every string its own allocation, numbers int64), so that what the
// informers keep is measured apart from the generator's copy.
func (g *generated) cluster(b *testing.B) (*sources.Sources, *viewcache.Cache[*ui.BackupConfigurationView]) {
	disco, dyn := fakeCluster()
	dyn.PrependReactor("list", "*", func(a clienttesting.Action) (bool, k8sruntime.Object, error) {
		l := &unstructured.UnstructuredList{Object: map[string]interface{}{"apiVersion": "v1", "kind": "List",
			"metadata": map[string]interface{}{"resourceVersion": "1"}}}
		for _, data := range g.objects[a.GetResource()] {
			o, _, err := unstructured.UnstructuredJSONScheme.Decode(data, nil, nil)
			if err != nil {
				return true, nil, err
			}
			l.Items = append(l.Items, *o.(*unstructured.Unstructured))
		}
		return true, l, nil
	})
	md := metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme())
	md.PrependReactor("list", "*", func(a clienttesting.Action) (bool, k8sruntime.Object, error) {
		l := &metav1.List{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
		for _, data := range g.objects[a.GetResource()] {
			var m metav1.PartialObjectMetadata
			if err := json.Unmarshal(data, &m); err != nil {
				return true, nil, err
			}
			l.Items = append(l.Items, k8sruntime.RawExtension{Object: &m})
		}
		return true, l, nil
	})
	var cache *viewcache.Cache[*ui.BackupConfigurationView]
	var s *sources.Sources
	s = sources.New(sources.NewDynamicLister(dyn), md, disco, func(c sources.Change) {
		if keys := join.Affected(s, c.Kind, c.Old, c.Object); len(keys) > 0 {
			cache.Notify(keys, c.RV, c.Deleted)
		}
	})
	cache = viewcache.New("backupconfigurationviews", join.Views(s, join.Options{}), viewcache.Options{})
	return s, cache
}

// held keeps the last measured sources and views alive after the benchmark, so that the heap
// profile of -memprofile (written when the benchmarks are done) shows them in use.
var (
	held      *sources.Sources
	heldCache *viewcache.Cache[*ui.BackupConfigurationView]
)

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// atRest stops what cancel started and waits (up to 10 s) until no more goroutines run than
// the goroutines before it, so that the heap is measured with the informers and rebuilder
// stopped: their event buffers, which drain in a running server, are not counted.
func atRest(cancel context.CancelFunc, goroutines int) {
	cancel()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkHeapPerObject is the Go heap the sources' stores, indexes and the views hold per
// source object at a generated scale (-bench-scale; default: the scale benchmark's default),
// synced the way the server starts (docs/benchmarks.md, "Memory: in-process heap per source
// object"): every object through the reflectors into the sources' stores, the target
// kinds watched, then every view built.
func BenchmarkHeapPerObject(b *testing.B) {
	sc, err := scale.Parse(*benchScale)
	if err != nil {
		b.Fatal(err)
	}
	viewcache.ReleaseAfterFirstBuild = false
	defer func() { viewcache.ReleaseAfterFirstBuild = true }()
	g := generate(b, sc)
	var perObject, views float64
	for b.Loop() {
		held, heldCache = nil, nil
		before, goroutines := liveHeap(), runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		// The fake clients serve a copy that is emptied once synced: the held sources must
		// not keep the generated objects alive for the profile.
		feed := &generated{objects: g.objects, count: g.count}
		s, cache := feed.cluster(b)
		s.Start(ctx)
		if err := s.WaitForSync(ctx); err != nil {
			b.Fatal(err)
		}
		s.StartTargets(s.TargetKinds())
		if err := s.WaitForTargets(ctx); err != nil {
			b.Fatal(err)
		}
		go cache.Run(ctx)
		if err := cache.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		views = float64(len(cache.Current().Entries))
		if want := float64(sc.BCs); views != want {
			b.Fatalf("%v views, want %v", views, want)
		}
		stored := 0
		for _, st := range s.Statuses() {
			if !st.Synced {
				b.Fatalf("%s not synced", st.Resource)
			}
			stored += st.Objects
		}
		if stored != g.count {
			b.Fatalf("%d objects in the stores, %d generated", stored, g.count)
		}
		// Measured at rest (stores and views kept).
		atRest(cancel, goroutines)
		feed.objects = nil
		held, heldCache = s, cache
		perObject = float64(liveHeap()-before) / float64(g.count)
	}
	b.ReportMetric(perObject, "heap-B/object")
	b.ReportMetric(float64(g.count), "objects")
	b.ReportMetric(views, "views")
}

// snapshotScale is the shape BenchmarkHeapPerSnapshot takes its 10,000 Snapshots from.
const snapshotScale = "custom:ns=100,bc=1000,bs=10000,repo=1000"

// generateSnapshots is the Snapshots of a scale alone, as the API server would send them,
// each component's restic stats repeated statsEntries times (1: as generated, a few hundred
// bytes); statsBytes is the stats' JSON per Snapshot.
func generateSnapshots(b *testing.B, sc scale.Scale, statsEntries int) (g *generated, statsBytes int) {
	g = &generated{objects: map[schema.GroupVersionResource][][]byte{}}
	for i := 0; i < sc.BCs; i++ {
		for k, o := range sc.SnapshotsOf(i, fmt.Sprintf("00000000-0000-4000-8002-%012d", i)) {
			m := o.Object["metadata"].(map[string]interface{})
			m["uid"], m["resourceVersion"], m["generation"] = fmt.Sprintf("00000000-0000-4000-8011-%012d", i*1000+k), strconv.Itoa(1000+g.count), int64(1)
			m["creationTimestamp"] = scale.Base.Format(time.RFC3339)
			for _, c := range o.Status["components"].(map[string]interface{}) {
				c := c.(map[string]interface{})
				if stats, ok := c["resticStats"].([]interface{}); ok {
					var more []interface{}
					for range statsEntries {
						more = append(more, stats...)
					}
					c["resticStats"] = more
					data, _ := json.Marshal(more)
					statsBytes += len(data)
				}
			}
			o.Object["status"] = o.Status
			data, err := json.Marshal(o.Object)
			if err != nil {
				b.Fatal(err)
			}
			g.objects[kubestash.Snapshots] = append(g.objects[kubestash.Snapshots], data)
			g.count++
		}
	}
	return g, statsBytes / max(g.count, 1)
}

// BenchmarkHeapPerSnapshot is the live heap the sources' store and index hold per Snapshot
// (docs/benchmarks.md, "Memory: heap per Snapshot"): 10,000 Snapshots alone through the
// reflector into the store, measured at rest as BenchmarkHeapPerObject measures. stats=small
// are the generator's Snapshots (restic stats of a few hundred bytes per component);
// stats=large the same with stats of about 8 KiB. The decoder keeps none of the per-driver
// stats, so both hold the same; the benchmark fails when large holds 1 KiB per Snapshot more.
func BenchmarkHeapPerSnapshot(b *testing.B) {
	sc, err := scale.Parse(snapshotScale)
	if err != nil {
		b.Fatal(err)
	}
	perSnapshot := map[string]float64{}
	for _, c := range []struct {
		name    string
		entries int
	}{{"stats=small", 1}, {"stats=large", 20}} {
		b.Run(c.name, func(b *testing.B) {
			g, statsBytes := generateSnapshots(b, sc, c.entries)
			var per float64
			for b.Loop() {
				held, heldCache = nil, nil
				before, goroutines := liveHeap(), runtime.NumGoroutine()
				ctx, cancel := context.WithCancel(context.Background())
				feed := &generated{objects: g.objects, count: g.count}
				s, _ := feed.cluster(b)
				s.Start(ctx)
				if err := s.WaitForSync(ctx); err != nil {
					b.Fatal(err)
				}
				stored := 0
				for _, st := range s.Statuses() {
					stored += st.Objects
				}
				if stored != g.count {
					b.Fatalf("%d objects in the stores, %d Snapshots generated", stored, g.count)
				}
				atRest(cancel, goroutines)
				feed.objects = nil
				held = s
				per = float64(liveHeap()-before) / float64(g.count)
			}
			perSnapshot[c.name] = per
			b.ReportMetric(per, "heap-B/snapshot")
			b.ReportMetric(float64(statsBytes), "stats-B/snapshot")
			b.ReportMetric(float64(g.count), "snapshots")
		})
	}
	if small, large := perSnapshot["stats=small"], perSnapshot["stats=large"]; small > 0 && large-small > 1024 {
		b.Errorf("a Snapshot with large stats holds %.0f B, one with small stats %.0f B: the stats are kept", large, small)
	}
}

// BenchmarkDecode is the sources' decoding of one object of each kind from its JSON, as the
// API server sends it: what every listed or watched source object costs.
func BenchmarkDecode(b *testing.B) {
	g := generate(b, scale.Tiny)
	for _, k := range []struct {
		gvr    schema.GroupVersionResource
		decode func([]byte) metav1.Object
	}{
		{kubestash.BackupConfigurations, func(d []byte) metav1.Object { return kubestash.DecodeBackupConfiguration(d) }},
		{kubestash.BackupSessions, func(d []byte) metav1.Object { return kubestash.DecodeBackupSession(d) }},
		{kubestash.Repositories, func(d []byte) metav1.Object { return kubestash.DecodeRepository(d) }},
		{kubestash.BackupStorages, func(d []byte) metav1.Object { return kubestash.DecodeBackupStorage(d) }},
		{kubestash.RetentionPolicies, func(d []byte) metav1.Object { return kubestash.DecodeRetentionPolicy(d) }},
		{kubestash.Addons, func(d []byte) metav1.Object { return kubestash.DecodeAddon(d) }},
		{kubestash.CronJobs, func(d []byte) metav1.Object { return kubestash.DecodeCronJob(d) }},
		{kubestash.Snapshots, func(d []byte) metav1.Object { return kubestash.DecodeSnapshot(d) }},
	} {
		b.Run(k.gvr.Resource, func(b *testing.B) {
			data := g.objects[k.gvr][0]
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if o := k.decode(data); o.GetName() == "" {
					b.Fatal(o)
				}
			}
		})
	}
}
