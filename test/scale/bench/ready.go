package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/report"
	"github.com/kubestash/backupview/test/scale/stats"
)

// readiness times backupview's start to ready against the reference informers, Starts rounds.
func (b *Bench) readiness(ctx context.Context) error {
	p := stats.Pair{Name: "start to ready (backupview) vs informer list of the same kinds", Goal: report.ReadyGoal}
	// Every round ends with backupview running; even rounds list first (server stopped),
	// odd rounds start the server first (then list while it idles).
	for r := 0; r < b.Starts; r++ {
		var sd, id time.Duration
		var err error
		if r%2 == 0 {
			if err = b.Cluster.StopServer(); err != nil {
				return err
			}
			id = b.informerList(ctx)
			sd, err = b.startServer(ctx)
		} else {
			sd, err = b.startServer(ctx)
			if err == nil {
				id = b.informerList(ctx)
			}
		}
		if err != nil {
			return err
		}
		b.Logf("  round %d: backupview ready after %s; informers listed in %s", r+1, report.Duration(sd), report.Duration(id))
		p.View, p.Direct = append(p.View, sd), append(p.Direct, id)
	}
	b.results.Ready = p
	return nil
}

// startServer restarts backupview and returns the time from launch to /readyz OK; it returns
// once the APIService serves too.
func (b *Bench) startServer(ctx context.Context) (time.Duration, error) {
	if err := b.Cluster.StopServer(); err != nil {
		return 0, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	// The driver opens every watch as one user: its share is the whole server's.
	return b.Cluster.StartServer(ctx, append([]string{"--max-watches-per-user=1000000"}, b.ServerFlags...)...)
}

// informerList is the reference: plain client-go informers (no transforms, full objects) for
// the same source kinds and target kinds, all started at once, until every one has synced.
func (b *Bench) informerList(ctx context.Context) time.Duration {
	ictx, cancel := context.WithCancel(ctx)
	md := metadata.NewForConfigOrDie(b.cfg)
	t0 := time.Now()
	var synced []cache.InformerSynced
	for _, gvr := range scale.SourceKinds {
		inf := dynamicinformer.NewFilteredDynamicInformer(b.dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		go inf.RunWithContext(ictx)
		synced = append(synced, inf.HasSynced)
	}
	for _, gvr := range scale.TargetKinds {
		inf := metadatainformer.NewFilteredMetadataInformer(md, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		go inf.RunWithContext(ictx)
		synced = append(synced, inf.HasSynced)
	}
	cache.WaitForCacheSync(ictx.Done(), synced...)
	d := time.Since(t0)
	cancel()
	runtime.GC()
	debug.FreeOSMemory()
	return d
}
