package viewcache

import (
	"fmt"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// benchSource is n BackupConfigurations (10 per namespace) with ten sessions each.
func benchSource(n int) *src {
	s := &src{bcs: map[string]*kubestash.BackupConfiguration{}, sessions: map[string][]*kubestash.BackupSession{}}
	for i := 0; i < n; i++ {
		ns, name := fmt.Sprintf("team-%04d", i/10), fmt.Sprintf("db-%05d-backup", i)
		s.bcs[ns+"/"+name] = &kubestash.BackupConfiguration{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: strconv.Itoa(1000 + i), UID: "uid"},
			Sessions:   []kubestash.Session{{Name: "full-backup", Schedule: "0 */4 * * *", Repositories: []string{"repo"}}},
		}
		for k := 0; k < 10; k++ {
			s.sessions[ns+"/"+name] = append(s.sessions[ns+"/"+name], &kubestash.BackupSession{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-full-backup-%d", name, 1795000000+k*14400), ResourceVersion: strconv.Itoa(20000 + k)},
				Phase:      "Succeeded", Duration: "2m11s",
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
			c := New(benchSource(n), Options{})
			b.ReportAllocs()
			for b.Loop() {
				c.rebuildAll()
			}
		})
	}
}

// BenchmarkApplyOne is one source change (a session's status) in a cache of n views, with
// one watcher: rebuild, compare, publish a snapshot, record and fan out the event.
func BenchmarkApplyOne(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s := benchSource(n)
			c := New(s, Options{})
			c.rebuildAll()
			w := &watcher{c: c, live: make(chan *Event, 1)}
			c.watchers[w] = struct{}{}
			key := "team-0050/db-00500-backup"
			bs := s.sessions[key][9]
			rv := uint64(1 << 30)
			b.ReportAllocs()
			for b.Loop() {
				rv++
				bs.Duration = strconv.FormatUint(rv, 10) + "s"
				bs.ResourceVersion = strconv.FormatUint(rv, 10)
				c.apply(map[string]uint64{key: rv})
				<-w.live
			}
		})
	}
}

// BenchmarkRange is the slice of one namespace, and of everything, from a snapshot.
func BenchmarkRange(b *testing.B) {
	c := New(benchSource(10000), Options{})
	c.rebuildAll()
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
