package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

var gvrView = schema.GroupVersionResource{Group: "ui.kubestash.com", Version: "v1alpha1", Resource: "backupconfigurationviews"}

// Bench drives the measurement against a loaded cluster in Dir.
type Bench struct {
	Root    string // repository root (hack/cluster.sh, _output/bin/kubectl)
	Dir     string // cluster state directory
	Scale   Scale
	Rounds  int // interleaved rounds for the list comparisons
	Gets    int // GET pairs
	Watches int // watch-latency samples
	Starts  int // start-to-ready rounds
	// Only, when set, limits the run to these parts: ready, memory, lists, json, gets, watch
	// (ready and memory always run: they restart the server).
	Only map[string]bool
	Logf func(string, ...interface{})

	cfg     *rest.Config
	dyn     dynamic.Interface
	http    *http.Client // through kube-apiserver, as the admin
	bvPort  string
	kasURL  string
	errs    []string
	results Results
}

// Results is everything the report prints.
type Results struct {
	Scale      Scale
	Load       *LoadResult
	Pairs      []Pair
	Ready      Pair // view = backupview start to ready; direct = a plain informer list
	Memory     Memory
	Views, BCs int
	Started    time.Time
	Took       time.Duration
	Machine    string
	LoadAvg    string
	Errors     []string
}

// Memory is backupview's footprint after sync.
type Memory struct {
	RSS, HWM, HeapInuse, HeapAlloc float64 // bytes
	SourceObjects                  int
	Views                          int
	BySource                       map[string]int
	RSSAfter, HeapAfter            float64 // at the end of the run, after every request
}

func (b *Bench) want(part string) bool { return len(b.Only) == 0 || b.Only[part] }

func (b *Bench) fail(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	b.errs = append(b.errs, msg)
	b.Logf("ERROR: %s", msg)
}

func (b *Bench) Run(ctx context.Context, cfg *rest.Config, load *LoadResult) (*Results, error) {
	b.cfg = rest.CopyConfig(cfg)
	b.cfg.QPS, b.cfg.Burst = -1, 0
	b.dyn = dynamic.NewForConfigOrDie(b.cfg)
	hc, err := rest.HTTPClientFor(b.cfg)
	if err != nil {
		return nil, err
	}
	b.http = hc
	b.kasURL = strings.TrimRight(b.cfg.Host, "/")
	b.bvPort = clusterEnv(b.Dir, "BV_PORT", "48443")
	b.results = Results{Scale: b.Scale, Load: load, Started: time.Now(), Machine: machine(), LoadAvg: loadavg()}
	start := time.Now()

	// 1. Start to ready, against a plain informer list of the same kinds, interleaved.
	if err := b.readiness(ctx); err != nil {
		return nil, err
	}
	// 2. Memory after sync (the gauges refresh every 5 s).
	time.Sleep(6 * time.Second)
	b.memory(ctx, false)
	// 3. Correctness: one view per BackupConfiguration.
	b.counts(ctx)
	// 4. Interleaved request comparisons.
	b.lists(ctx)
	if b.want("gets") {
		b.gets(ctx)
	}
	if b.want("watch") {
		b.watchLatency(ctx)
	}
	b.memory(ctx, true)
	b.results.Took = time.Since(start)
	b.results.Errors = b.errs
	return &b.results, nil
}

// ---- start to ready -------------------------------------------------------------------------

func (b *Bench) cluster(args ...string) error {
	cmd := exec.Command(filepath.Join(b.Root, "hack", "cluster.sh"), append([]string{args[0], b.Dir}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster.sh %s: %v\n%s", args[0], err, out)
	}
	return nil
}

func (b *Bench) readiness(ctx context.Context) error {
	p := Pair{Name: "start to ready (backupview) vs informer list of the same kinds", Goal: 1.5}
	// Every round ends with backupview running; even rounds list first (server stopped),
	// odd rounds start the server first (then list while it idles).
	for r := 0; r < b.Starts; r++ {
		var sd, id time.Duration
		var err error
		if r%2 == 0 {
			if err = b.cluster("stop-server"); err != nil {
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
		b.Logf("  round %d: backupview ready after %s; informers listed in %s", r+1, fmtDur(sd), fmtDur(id))
		p.View, p.Direct = append(p.View, sd), append(p.Direct, id)
	}
	b.results.Ready = p
	return nil
}

// startServer restarts backupview and returns the time from launch to /readyz OK; it returns
// once the APIService serves too (cluster.sh start-server waits for that).
func (b *Bench) startServer(ctx context.Context) (time.Duration, error) {
	if err := b.cluster("stop-server"); err != nil {
		return 0, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	client := b.bvClient(false)
	cmd := exec.Command(filepath.Join(b.Root, "hack", "cluster.sh"), "start-server", b.Dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var ready time.Duration
	for ready == 0 {
		select {
		case err := <-done:
			if err != nil {
				return 0, fmt.Errorf("start-server: %v\n%s", err, out.String())
			}
			done <- nil
		default:
		}
		resp, err := client.Get("https://127.0.0.1:" + b.bvPort + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				ready = time.Since(t0)
				break
			}
		}
		if ctx.Err() != nil {
			_ = cmd.Process.Kill()
			return 0, ctx.Err()
		}
		if time.Since(t0) > 15*time.Minute {
			return 0, fmt.Errorf("backupview not ready after 15 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-done; err != nil {
		return 0, fmt.Errorf("start-server: %v\n%s", err, out.String())
	}
	return ready, nil
}

// informerList is the reference: plain client-go informers (no transforms, full objects) for
// the same source kinds and target kinds, all started at once, until every one has synced.
func (b *Bench) informerList(ctx context.Context) time.Duration {
	ictx, cancel := context.WithCancel(ctx)
	md := metadata.NewForConfigOrDie(b.cfg)
	t0 := time.Now()
	var synced []cache.InformerSynced
	for _, gvr := range sourceGVRs {
		inf := dynamicinformer.NewFilteredDynamicInformer(b.dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		go inf.RunWithContext(ictx)
		synced = append(synced, inf.HasSynced)
	}
	for _, gvr := range targetGVRs {
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

// bvClient talks to backupview directly (readyz; metrics with the admin client certificate).
func (b *Bench) bvClient(withCert bool) *http.Client {
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(filepath.Join(b.Dir, "pki", "backupview-ca.crt")); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	tc := &tls.Config{RootCAs: pool}
	if withCert {
		if cert, err := tls.LoadX509KeyPair(filepath.Join(b.Dir, "pki", "admin.crt"), filepath.Join(b.Dir, "pki", "admin.key")); err == nil {
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

// ---- memory ---------------------------------------------------------------------------------

func (b *Bench) memory(ctx context.Context, after bool) {
	pid := readPID(filepath.Join(b.Dir, "pids", "backupview.pid"))
	rss, hwm := procStatus(pid, "VmRSS"), procStatus(pid, "VmHWM")
	m, err := b.metrics()
	if err != nil {
		b.fail("reading backupview /metrics: %v", err)
		return
	}
	mem := &b.results.Memory
	if after {
		mem.RSSAfter, mem.HeapAfter = rss, m["go_memstats_heap_inuse_bytes"]
		mem.HWM = hwm
		return
	}
	mem.RSS, mem.HWM, mem.HeapInuse, mem.HeapAlloc = rss, hwm, m["go_memstats_heap_inuse_bytes"], m["go_memstats_heap_alloc_bytes"]
	mem.BySource = map[string]int{}
	for k, v := range m {
		if strings.HasPrefix(k, "backupview_source_objects{") {
			res := k[strings.Index(k, `resource="`)+10:]
			res = res[:strings.IndexByte(res, '"')]
			mem.BySource[res] = int(v)
			mem.SourceObjects += int(v)
		}
	}
	b.Logf("  memory after sync: RSS %s (peak %s), heap in use %s, %d source objects: %.0f B RSS and %.0f B heap per object",
		fmtBytes(rss), fmtBytes(hwm), fmtBytes(mem.HeapInuse), mem.SourceObjects, rss/float64(max(mem.SourceObjects, 1)), mem.HeapInuse/float64(max(mem.SourceObjects, 1)))
}

// metrics reads backupview's /metrics directly with the admin client certificate, or through
// kube-apiserver's service proxy when that fails.
func (b *Bench) metrics() (map[string]float64, error) {
	resp, err := b.bvClient(true).Get("https://127.0.0.1:" + b.bvPort + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		if resp != nil {
			resp.Body.Close()
		}
		resp, err = b.http.Get(b.kasURL + "/api/v1/namespaces/backupview-system/services/https:backupview:" + b.bvPort + "/proxy/metrics")
		if err != nil {
			return nil, err
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

func readPID(f string) int {
	b, _ := os.ReadFile(f)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseFloat(f[1], 64)
				return n * 1024
			}
		}
	}
	return 0
}

// ---- correctness ----------------------------------------------------------------------------

func (b *Bench) counts(ctx context.Context) {
	count := func(path string) int {
		_, _, body, err := b.get(ctx, path, "application/json", true)
		if err != nil {
			b.fail("GET %s: %v", path, err)
			return -1
		}
		var l struct {
			Items []struct {
				Metadata struct{ Namespace, Name string }
			}
		}
		if err := json.Unmarshal(body, &l); err != nil {
			b.fail("decoding %s: %v", path, err)
			return -1
		}
		return len(l.Items)
	}
	b.results.Views = count("/apis/ui.kubestash.com/v1alpha1/backupconfigurationviews")
	b.results.BCs = count("/apis/core.kubestash.com/v1alpha1/backupconfigurations")
	if b.results.Views != b.results.BCs || b.results.BCs != b.Scale.BCs {
		b.fail("%d views for %d BackupConfigurations (scale: %d)", b.results.Views, b.results.BCs, b.Scale.BCs)
	} else {
		b.Logf("  %d views for %d BackupConfigurations", b.results.Views, b.results.BCs)
	}
}

// ---- requests -------------------------------------------------------------------------------

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// get requests a path through kube-apiserver and reads the whole body.
func (b *Bench) get(ctx context.Context, path, accept string, keep bool) (time.Duration, int64, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", b.kasURL+path, nil)
	req.Header.Set("Accept", accept)
	t0 := time.Now()
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	var body []byte
	var n int64
	if keep {
		body, err = io.ReadAll(resp.Body)
		n = int64(len(body))
	} else {
		n, err = io.Copy(io.Discard, resp.Body)
	}
	d := time.Since(t0)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
	}
	return d, n, body, err
}

// kubectl runs the built kubectl and returns its wall time and output size.
func (b *Bench) kubectl(args ...string) (time.Duration, int64, error) {
	cmd := exec.Command(filepath.Join(b.Root, "_output", "bin", "kubectl"),
		append([]string{"--kubeconfig", filepath.Join(b.Dir, "kubeconfig"), "--cache-dir", filepath.Join(b.Dir, "kubectl-cache")}, args...)...)
	var cw countWriter
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &cw, &stderr
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return d, cw.n, fmt.Errorf("kubectl %s: %v: %.500s", strings.Join(args, " "), err, stderr.String())
	}
	return d, cw.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// interleave runs view and direct alternately (ABBA...), rounds times, after one warm-up each.
func (b *Bench) interleave(p *Pair, rounds int, view, direct func() (time.Duration, int64, error)) {
	run := func(f func() (time.Duration, int64, error), s *Sample, size *int64) bool {
		d, n, err := f()
		if err != nil {
			b.fail("%s: %v", p.Name, err)
			return false
		}
		*s = append(*s, d)
		*size = n
		return true
	}
	var warm Sample
	var ignore int64
	if !run(view, &warm, &ignore) || !run(direct, &warm, &ignore) {
		return
	}
	for r := 0; r < rounds; r++ {
		if r%2 == 0 {
			if !run(view, &p.View, &p.ViewBytes) || !run(direct, &p.Direct, &p.DirBytes) {
				return
			}
		} else {
			if !run(direct, &p.Direct, &p.DirBytes) || !run(view, &p.View, &p.ViewBytes) {
				return
			}
		}
	}
}

func (b *Bench) lists(ctx context.Context) {
	type cmp struct {
		name     string
		part     string
		goal     float64
		view, bc func() (time.Duration, int64, error)
	}
	kc := func(args ...string) func() (time.Duration, int64, error) {
		return func() (time.Duration, int64, error) { return b.kubectl(args...) }
	}
	raw := func(path, accept string) func() (time.Duration, int64, error) {
		return func() (time.Duration, int64, error) {
			d, n, _, err := b.get(ctx, path, accept, false)
			return d, n, err
		}
	}
	const views, bcs = "/apis/ui.kubestash.com/v1alpha1/backupconfigurationviews", "/apis/core.kubestash.com/v1alpha1/backupconfigurations"
	for _, c := range []cmp{
		{"kubectl get -A (Table)", "lists", 1.0, kc("get", "bcv", "-A"), kc("get", "backupconfigurations", "-A")},
		{"kubectl get -A -o json", "json", 0, kc("get", "bcv", "-A", "-o", "json"), kc("get", "backupconfigurations", "-A", "-o", "json")},
		{"LIST -A as Table, one request (HTTP, no kubectl)", "lists", 0, raw(views, tableAccept), raw(bcs, tableAccept)},
		{"LIST -A as JSON, one request (HTTP, no kubectl)", "json", 0, raw(views, "application/json"), raw(bcs, "application/json")},
	} {
		if !b.want(c.part) {
			continue
		}
		p := Pair{Name: c.name, Goal: c.goal}
		b.Logf("  %s ...", c.name)
		b.interleave(&p, b.Rounds, c.view, c.bc)
		b.logPair(p)
		b.results.Pairs = append(b.results.Pairs, p)
	}
}

func (b *Bench) logPair(p Pair) {
	lo, hi := p.RatioRange()
	b.Logf("    view %s (%s .. %s), direct %s (%s .. %s): ratio %.2f (%.2f .. %.2f)", fmtDur(p.View.Median()), fmtDur(p.View.Min()), fmtDur(p.View.Max()),
		fmtDur(p.Direct.Median()), fmtDur(p.Direct.Min()), fmtDur(p.Direct.Max()), p.Ratio(), lo, hi)
}

func (b *Bench) gets(ctx context.Context) {
	p := Pair{Name: "GET one object (HTTP JSON, keep-alive)", Goal: 1.2}
	rng := rand.New(rand.NewSource(1))
	b.Logf("  %s ...", p.Name)
	var i int
	pick := func() { i = rng.Intn(b.Scale.BCs) }
	view := func() (time.Duration, int64, error) {
		d, n, _, err := b.get(ctx, fmt.Sprintf("/apis/ui.kubestash.com/v1alpha1/namespaces/%s/backupconfigurationviews/%s", bcNamespace(b.Scale, i), bcName(i)), "application/json", false)
		return d, n, err
	}
	direct := func() (time.Duration, int64, error) {
		d, n, _, err := b.get(ctx, fmt.Sprintf("/apis/core.kubestash.com/v1alpha1/namespaces/%s/backupconfigurations/%s", bcNamespace(b.Scale, i), bcName(i)), "application/json", false)
		return d, n, err
	}
	pick()
	b.interleave(&p, 1, view, direct) // warm-up and connection
	p.View, p.Direct = nil, nil
	for r := 0; r < b.Gets; r++ {
		pick()
		p2 := Pair{Name: p.Name}
		var ignore Sample
		_ = ignore
		if r%2 == 0 {
			b.once(&p2, view, direct)
		} else {
			b.once(&p2, nil, direct)
			b.once(&p2, view, nil)
		}
		if len(p2.View) == 1 && len(p2.Direct) == 1 {
			p.View, p.Direct = append(p.View, p2.View[0]), append(p.Direct, p2.Direct[0])
			p.ViewBytes, p.DirBytes = p2.ViewBytes, p2.DirBytes
		}
	}
	b.logPair(p)
	b.results.Pairs = append(b.results.Pairs, p)
}

func (b *Bench) once(p *Pair, view, direct func() (time.Duration, int64, error)) {
	for _, x := range []struct {
		f    func() (time.Duration, int64, error)
		s    *Sample
		size *int64
	}{{view, &p.View, &p.ViewBytes}, {direct, &p.Direct, &p.DirBytes}} {
		if x.f == nil {
			continue
		}
		d, n, err := x.f()
		if err != nil {
			b.fail("%s: %v", p.Name, err)
			continue
		}
		*x.s, *x.size = append(*x.s, d), n
	}
}

// watchLatency updates a BackupSession's status and times the event on a direct watch of
// that BackupSession and the MODIFIED event of its BackupConfiguration's view (both through
// kube-apiserver, both started before the update).
func (b *Bench) watchLatency(ctx context.Context) {
	p := Pair{Name: "watch latency: BackupSession status update to event", Goal: 1.5}
	b.Logf("  %s ...", p.Name)
	i := b.Scale.BCs / 2
	ns, bc := bcNamespace(b.Scale, i), bcName(i)
	bsObj, _ := sessionObj(b.Scale, i, b.Scale.SessionsOf(i)-1, "")
	bs := bsObj["metadata"].(obj)["name"].(string)

	bsRes := b.dyn.Resource(gvrBS).Namespace(ns)
	viewRes := b.dyn.Resource(gvrView).Namespace(ns)
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
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	b.logPair(p)
	b.results.Pairs = append(b.results.Pairs, p)
}

// ---- environment ----------------------------------------------------------------------------

func clusterEnv(dir, key, def string) string {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.env"))
	if err != nil {
		return def
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && k == key {
			return v
		}
	}
	return def
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	mem := procMeminfo("MemTotal")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d cores (%s), %s RAM, Linux %s, %s", runtime.NumCPU(), model, fmtBytes(mem), strings.TrimSpace(string(kernel)), runtime.Version())
}

func procMeminfo(field string) float64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			n, _ := strconv.ParseFloat(f[1], 64)
			return n * 1024
		}
	}
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
