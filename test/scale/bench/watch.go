package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/report"
	"github.com/kubestash/backupview/test/scale/stats"
)

// watchLatency updates a BackupSession's status and times the event on a direct watch of
// that BackupSession and the MODIFIED event of its BackupConfiguration's view (both through
// kube-apiserver, both started before the update).
func (b *Bench) watchLatency(ctx context.Context) {
	p := stats.Pair{Name: "watch latency: BackupSession status update to event", Goal: report.WatchGoal}
	b.Logf("  %s ...", p.Name)
	i := b.Scale.BCs / 2
	ns, bc := b.Scale.Namespace(i), scale.BCName(i)
	bs := b.Scale.BackupSessionName(i, b.Scale.SessionsOf(i)-1)

	bsRes := b.dyn.Resource(kubestash.BackupSessions).Namespace(ns)
	viewRes := b.dyn.Resource(views).Namespace(ns)
	// Both watches start from the resourceVersion of a LIST (a view's own version is that of
	// its newest source, which a freshly started backupview may not keep history back to).
	sel := metav1.ListOptions{FieldSelector: "metadata.name=" + bs}
	bl, err := bsRes.List(ctx, sel)
	if err == nil && len(bl.Items) != 1 {
		err = fmt.Errorf("%d found", len(bl.Items))
	}
	if err != nil {
		b.fail("watch latency: list backupsession %s/%s: %v", ns, bs, err)
		return
	}
	vsel := metav1.ListOptions{FieldSelector: "metadata.name=" + bc}
	vl, err := viewRes.List(ctx, vsel)
	if err == nil && len(vl.Items) != 1 {
		err = fmt.Errorf("%d found", len(vl.Items))
	}
	if err != nil {
		b.fail("watch latency: list view %s/%s: %v", ns, bc, err)
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sel.ResourceVersion, vsel.ResourceVersion = bl.GetResourceVersion(), vl.GetResourceVersion()
	dw, err := bsRes.Watch(wctx, sel)
	if err != nil {
		b.fail("watch latency: watch backupsession: %v", err)
		return
	}
	defer dw.Stop()
	vw, err := viewRes.Watch(wctx, vsel)
	if err != nil {
		b.fail("watch latency: watch view: %v", err)
		return
	}
	defer vw.Stop()

	type seen struct {
		at  time.Time
		dur string
	}
	dch, vch := make(chan seen, 100), make(chan seen, 100)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for e := range dw.ResultChan() {
			if u, ok := e.Object.(*unstructured.Unstructured); ok && e.Type == watch.Modified {
				d, _, _ := unstructured.NestedString(u.Object, "status", "duration")
				dch <- seen{time.Now(), d}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for e := range vw.ResultChan() {
			if u, ok := e.Object.(*unstructured.Unstructured); ok && e.Type == watch.Modified {
				ss, _, _ := unstructured.NestedSlice(u.Object, "backupSessions")
				for _, s := range ss {
					if m, ok := s.(map[string]interface{}); ok && m["name"] == bs {
						d, _ := m["duration"].(string)
						vch <- seen{time.Now(), d}
					}
				}
			}
		}
	}()
	waitFor := func(ch chan seen, want string, t0 time.Time) (time.Duration, bool) {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case s := <-ch:
				if s.dur == want {
					return s.at.Sub(t0), true
				}
			case <-timeout:
				return 0, false
			}
		}
	}
	for r := 0; r < b.Watches; r++ {
		want := fmt.Sprintf("%dm%02ds", 20+r/60, r%60)
		patch := []byte(`{"status":{"duration":"` + want + `"}}`)
		t0 := time.Now()
		if _, err := bsRes.Patch(ctx, bs, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			b.fail("watch latency: patch: %v", err)
			return
		}
		dd, ok1 := waitFor(dch, want, t0)
		vd, ok2 := waitFor(vch, want, t0)
		if !ok1 || !ok2 {
			b.fail("watch latency: no event within 10 s (direct %v, view %v)", ok1, ok2)
			return
		}
		p.Direct, p.View = append(p.Direct, dd), append(p.View, vd)
		if err := pause(ctx, 100*time.Millisecond); err != nil { // samples apart
			return
		}
	}
	cancel()
	b.logPair(p)
	b.results.Pairs = append(b.results.Pairs, p)
}
