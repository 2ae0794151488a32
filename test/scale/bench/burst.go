package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"

	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/controlplane"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/report"
)

// BurstLabel marks the burst part's BackupSessions (its value is the run's start, in Unix
// seconds), so that they can be deleted by selector, an interrupted run's too.
const BurstLabel = "bench.backupview.kubestash.com/burst"

// The states a burst session goes through, as its phase shows them.
const (
	created = iota
	running
	succeeded
	states
)

// stateOf is the burst state a phase shows (-1: none of them).
func stateOf(phase string) int {
	switch phase {
	case "":
		return created
	case "Running":
		return running
	case "Succeeded":
		return succeeded
	}
	return -1
}

// burst is the top of the hour: one new BackupSession for every BackupConfiguration, created
// as fast as kube-apiserver takes them (BurstConcurrency in flight), then each updated to
// Running and to Succeeded through the status subresource. It times every view's reaching
// the final state after the last write, the view watch's lag behind a direct BackupSession
// watch, and backupview's CPU. The sessions are deleted afterwards (and an interrupted run's
// before), so that the cluster keeps its scale's shape for the next run's memory and
// timings, the default scale's cluster being reused between runs.
func (b *Bench) burst(ctx context.Context) {
	conc := b.BurstConcurrency
	if conc <= 0 {
		conc = 32
	}
	u := &report.Burst{Concurrency: conc}
	b.results.Burst = u
	b.Logf("  top of the hour: a BackupSession for each of %d BackupConfigurations ...", b.Scale.BCs)
	md, err := metadata.NewForConfig(b.cfg)
	if err != nil {
		b.fail("burst: %v", err)
		return
	}
	if err := b.deleteBurst(ctx, md, conc, true); err != nil {
		b.fail("burst: deleting an earlier run's sessions: %v", err)
		return
	}
	bcs, err := md.Resource(kubestash.BackupConfigurations).List(ctx, metav1.ListOptions{})
	if err != nil {
		b.fail("burst: listing BackupConfigurations: %v", err)
		return
	}
	uids := map[string]string{}
	for _, bc := range bcs.Items {
		uids[bc.Namespace+"/"+bc.Name] = string(bc.UID)
	}
	run := strconv.FormatInt(b.results.Started.Unix(), 10)
	trigger := b.results.Started.Truncate(time.Second)
	type session struct {
		obj                scale.Object
		running, succeeded map[string]interface{}
		duration           string
	}
	n := b.Scale.BCs
	sessions := make([]session, n)
	index := map[string]int{} // session name → BackupConfiguration
	for i := 0; i < n; i++ {
		uid, ok := uids[b.Scale.Key(i)]
		if !ok {
			b.fail("burst: BackupConfiguration %s not found", b.Scale.Key(i))
			return
		}
		o, r, s := b.Scale.BurstSession(i, uid, trigger, map[string]string{BurstLabel: run})
		sessions[i] = session{o, r, s, s["duration"].(string)}
		index[o.Unstructured().GetName()] = i
	}
	defer func() {
		if err := b.deleteBurst(context.WithoutCancel(ctx), md, conc, false); err != nil {
			b.fail("burst: deleting the sessions: %v", err)
		}
	}()

	// The first time each session's state was seen at the direct watch and at the view watch.
	var mu sync.Mutex
	var direct, view [][states]time.Time = make([][states]time.Time, n), make([][states]time.Time, n)
	var final atomic.Int64 // sessions whose view shows Succeeded with their duration
	allFinal := make(chan struct{})
	var lastFinal time.Time
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	brv, err := b.listRV(ctx, bsPath, nil)
	if err != nil {
		b.fail("burst: listing backupsessions: %v", err)
		return
	}
	vrv, err := b.listRV(ctx, viewsPath, nil)
	if err != nil {
		b.fail("burst: listing views: %v", err)
		return
	}
	dw, err := b.rawWatch(wctx, bsPath, url.Values{"resourceVersion": {brv}, "labelSelector": {BurstLabel + "=" + run}}, func(at time.Time, e *watchEvent) {
		i, ok := index[e.Object.Metadata.Name]
		st := stateOf(e.Object.Status.Phase)
		if !ok || st < 0 {
			return
		}
		mu.Lock()
		if direct[i][st].IsZero() {
			direct[i][st] = at
		}
		mu.Unlock()
	})
	if err != nil {
		b.fail("burst: watch backupsessions: %v", err)
		return
	}
	vw, err := b.rawWatch(wctx, viewsPath, url.Values{"resourceVersion": {vrv}}, func(at time.Time, e *watchEvent) {
		for _, s := range e.Object.BackupSessions {
			i, ok := index[s.Name]
			st := stateOf(s.Phase)
			if !ok || st < 0 {
				continue
			}
			mu.Lock()
			if view[i][st].IsZero() {
				view[i][st] = at
				if st == succeeded && s.Duration == sessions[i].duration {
					lastFinal = at
					if final.Add(1) == int64(n) {
						close(allFinal)
					}
				}
			}
			mu.Unlock()
		}
	})
	if err != nil {
		b.fail("burst: watch views: %v", err)
		return
	}

	pid := b.Cluster.Pid(controlplane.Server)
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		b.fail("burst: %v", err)
		return
	}
	var writes atomic.Int64
	wave := func(f func(i int) error) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(conc)
		for i := 0; i < n && gctx.Err() == nil; i++ {
			g.Go(func() error { writes.Add(1); return f(i) })
		}
		return g.Wait()
	}
	bsc := b.dyn.Resource(kubestash.BackupSessions)
	patchStatus := func(i int, status map[string]interface{}) error {
		body, _ := json.Marshal(map[string]interface{}{"status": status})
		o := sessions[i].obj.Unstructured()
		_, err := bsc.Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.MergePatchType, body, metav1.PatchOptions{}, "status")
		return err
	}
	t0 := time.Now()
	if err := wave(func(i int) error {
		_, err := bsc.Namespace(b.Scale.Namespace(i)).Create(ctx, sessions[i].obj.Unstructured(), metav1.CreateOptions{})
		return err
	}); err != nil {
		b.fail("burst: create: %v", err)
		return
	}
	u.Create = time.Since(t0)
	b.Logf("    %d created in %s", n, report.Duration(u.Create))
	if err := wave(func(i int) error { return patchStatus(i, sessions[i].running) }); err != nil {
		b.fail("burst: status Running: %v", err)
		return
	}
	if err := wave(func(i int) error { return patchStatus(i, sessions[i].succeeded) }); err != nil {
		b.fail("burst: status Succeeded: %v", err)
		return
	}
	lastWrite := time.Now()
	u.Sessions, u.Writes, u.Writing = n, int(writes.Load()), lastWrite.Sub(t0)
	b.Logf("    %d writes in %s", u.Writes, report.Duration(u.Writing))
	select {
	case <-allFinal:
		mu.Lock()
		u.Converged = max(lastFinal.Sub(lastWrite), 0)
		mu.Unlock()
	case <-vw:
		// The view watch ended (closed for falling behind, say): a finding in itself; one
		// LIST tells how many views had not caught up by then.
		b.Logf("    the view watch ended early")
		u.Converged = -1
		if done := b.burstDone(ctx, index, func(i int) string { return sessions[i].duration }); done >= 0 {
			u.NotConverged = n - done
		}
	case <-time.After(30 * time.Second):
		u.Converged, u.NotConverged = -1, n-int(final.Load())
	case <-ctx.Done():
		return
	}
	if u.Converged < 0 {
		b.fail("burst: %d of %d views did not show their session Succeeded within 30 s of the last write", u.NotConverged, n)
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		b.fail("burst: %v", err)
		return
	}
	u.CPUSeconds = cpu1 - cpu0
	// The watches may coalesce states (a view shows Running first when the create and the
	// update came close together): only states both watches saw count.
	mu.Lock()
	for i := range n {
		for st := range states {
			if !direct[i][st].IsZero() && !view[i][st].IsZero() {
				u.Lag = append(u.Lag, view[i][st].Sub(direct[i][st]))
			}
		}
	}
	mu.Unlock()
	cancel()
	<-dw
	<-vw
	if u.Converged >= 0 {
		b.verifyBurst(ctx, index, func(i int) string { return sessions[i].duration })
	}
	b.Logf("    converged %s after the last write; view lag p50/p99 %s (n=%d); backupview CPU %.2f s", report.Duration(u.Converged), p50p99(u.Lag), len(u.Lag), u.CPUSeconds)
}

// verifyBurst checks through a LIST that every view shows its burst session Succeeded with
// its duration.
func (b *Bench) verifyBurst(ctx context.Context, index map[string]int, duration func(int) string) {
	if ok := b.burstDone(ctx, index, duration); ok >= 0 && ok != len(index) {
		b.fail("burst: a LIST after convergence shows %d of %d sessions Succeeded", ok, len(index))
	}
}

// burstDone is how many burst sessions a LIST of the views shows Succeeded with their
// duration (-1: the LIST failed).
func (b *Bench) burstDone(ctx context.Context, index map[string]int, duration func(int) string) int {
	_, _, body, err := b.get(ctx, viewsPath, "application/json", true)
	if err != nil {
		b.fail("burst: LIST views: %v", err)
		return -1
	}
	var l struct {
		Items []struct {
			BackupSessions []sessionState `json:"backupSessions"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		b.fail("burst: decoding views: %v", err)
		return -1
	}
	ok := 0
	for _, v := range l.Items {
		for _, s := range v.BackupSessions {
			if i, found := index[s.Name]; found && s.Phase == "Succeeded" && s.Duration == duration(i) {
				ok++
			}
		}
	}
	return ok
}

// deleteBurst deletes the burst part's sessions, every run's, namespace by namespace; with
// settle, it waits a little for the views to follow when there were any (an interrupted run's).
func (b *Bench) deleteBurst(ctx context.Context, md metadata.Interface, conc int, settle bool) error {
	sel := metav1.ListOptions{LabelSelector: BurstLabel}
	if settle {
		l, err := md.Resource(kubestash.BackupSessions).List(ctx, metav1.ListOptions{LabelSelector: BurstLabel, Limit: 1})
		if err != nil || len(l.Items) == 0 {
			return err
		}
		b.Logf("    deleting an earlier run's burst sessions")
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for k := 0; k < b.Scale.Namespaces; k++ {
		g.Go(func() error {
			return md.Resource(kubestash.BackupSessions).Namespace(scale.NamespaceName(k)).DeleteCollection(gctx, metav1.DeleteOptions{}, sel)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if settle {
		return pause(ctx, 5*time.Second)
	}
	return nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux the
// benchmark runs on (reading sysconf would need cgo).
const clockTicks = 100

// cpuSeconds is a process's user plus system CPU time so far.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a /proc/PID/stat line; the
// command name (field 2, in parentheses) may hold spaces, so fields count from its end.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc stat %.80q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("unreadable /proc stat %.80q", stat)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unreadable /proc stat %.80q", stat)
	}
	return (ut + st) / clockTicks, nil
}
