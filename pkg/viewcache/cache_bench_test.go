package viewcache

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// benchSource is n BackupConfigurations (10 per namespace) with ten sessions each.
func benchSource(n int) *src {
	s := newSrc()
	for i := 0; i < n; i++ {
		ns, name := fmt.Sprintf("team-%04d", i/10), fmt.Sprintf("db-%05d-backup", i)
		s.bcs[ns+"/"+name] = &kubestash.BackupConfiguration{
			Meta: kubestash.Meta{Namespace: ns, Name: name, ResourceVersion: strconv.Itoa(1000 + i)}, UID: "uid",
			Sessions: []kubestash.Session{{Name: "full-backup", Schedule: "0 */4 * * *", Repositories: []string{"repo"}}},
		}
		for k := 0; k < 10; k++ {
			s.sessions[ns+"/"+name] = append(s.sessions[ns+"/"+name], &kubestash.BackupSession{
				Meta:  kubestash.Meta{Namespace: ns, Name: fmt.Sprintf("%s-full-backup-%d", name, 1795000000+k*14400), ResourceVersion: strconv.Itoa(20000 + k)},
				Phase: "Succeeded", Duration: "2m11s",
			})
		}
	}
	return s
}

// BenchmarkRebuildAll is the first build of every view (start-up).
func BenchmarkRebuildAll(b *testing.B) {
	ReleaseAfterFirstBuild = false
	defer func() { ReleaseAfterFirstBuild = true }()
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s := benchSource(n)
			b.ReportAllocs()
			for b.Loop() {
				c := New("backupconfigurationviews", join.Views(s, join.Options{}), Options{})
				ctx, cancel := context.WithCancel(context.Background())
				go c.Run(ctx)
				_ = c.WaitReady(ctx)
				cancel()
			}
		})
	}
}

// BenchmarkPublishOne is one source change (a session's status) in a cache of n views, with
// one watcher: compare, publish a snapshot, record and fan out the event.
func BenchmarkPublishOne(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s := benchSource(n)
			c := New("backupconfigurationviews", join.Views(s, join.Options{}), Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go c.Run(ctx)
			_ = c.WaitReady(ctx)
			w := &watcher[*ui.BackupConfigurationView]{set: &c.watchers, live: make(chan []*Event[*ui.BackupConfigurationView], 1), limit: 1 << 30, cancel: func() {}}
			if err := c.watchers.add(w, 1<<30, 1<<30); err != nil {
				b.Fatal(err)
			}
			key := "team-0050/db-00500-backup"
			bs := s.sessions[key][9]
			bc := s.bcs[key]
			rv := uint64(1 << 30)
			b.ReportAllocs()
			for b.Loop() {
				rv++
				bs.Duration = strconv.FormatUint(rv, 10) + "s"
				bs.ResourceVersion = strconv.FormatUint(rv, 10)
				view, jrv := join.Build(bc, s, join.Options{})
				c.publish([]built[*ui.BackupConfigurationView]{{key: key, cause: rv, obj: view, ok: true, srcRV: jrv}})
				<-w.live
			}
		})
	}
}

// BenchmarkRange is the slice of one namespace, and of everything, from a snapshot.
func BenchmarkRange(b *testing.B) {
	c := New("backupconfigurationviews", join.Views(benchSource(10000), join.Options{}), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	_ = c.WaitReady(ctx)
	snap := c.Current()
	b.Run("namespace", func(b *testing.B) {
		for b.Loop() {
			if len(snap.Range("team-0500", "")) != 10 {
				b.Fatal("want 10")
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			snap.Range("", "")
		}
	})
}

// BenchmarkIdleWatcher is what one idle watch costs the view cache itself (its watcher,
// channels, context and goroutine), apart from the generic server's serving of it: heap in use
// and goroutine stacks per watch, 2,000 namespace watches opened from now on 1,000 views
// (docs/benchmarks.md, "Memory per idle watcher").
func BenchmarkIdleWatcher(b *testing.B) {
	const n = 2000
	c := New("backupconfigurationviews", join.Views(benchSource(1000), join.Options{}), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	_ = c.WaitReady(ctx)
	var heap, stacks float64
	for b.Loop() {
		before := memStats()
		ws := make([]watch.Interface, n)
		for i := range ws {
			w, err := c.Watch(ctx, WatchOptions[*ui.BackupConfigurationView]{Namespace: fmt.Sprintf("team-%04d", i%100), Bookmarks: true, User: strconv.Itoa(i)}, nil)
			if err != nil {
				b.Fatal(err)
			}
			ws[i] = w
		}
		time.Sleep(100 * time.Millisecond) // every watcher's goroutine parked
		after := memStats()
		heap = float64(after.HeapInuse-before.HeapInuse) / n
		stacks = float64(after.StackInuse-before.StackInuse) / n
		for _, w := range ws {
			w.Stop()
		}
	}
	b.ReportMetric(heap, "heap-B/watch")
	b.ReportMetric(stacks, "stack-B/watch")
}

func memStats() runtime.MemStats {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m
}
