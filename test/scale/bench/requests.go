package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/report"
	"github.com/kubestash/backupview/test/scale/stats"
)

// counts checks the one promise the benchmark fails on: one view per BackupConfiguration.
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
	cmd := exec.Command(b.Cluster.Kubectl(),
		append([]string{"--kubeconfig", b.Cluster.Kubeconfig(""), "--cache-dir", filepath.Join(b.Cluster.Dir(), "kubectl-cache")}, args...)...)
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

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// interleave runs view and direct alternately (ABBA...), rounds times, after one warm-up each.
func (b *Bench) interleave(p *stats.Pair, rounds int, view, direct func() (time.Duration, int64, error)) {
	run := func(f func() (time.Duration, int64, error), s *stats.Sample, size *int64) bool {
		d, n, err := f()
		if err != nil {
			b.fail("%s: %v", p.Name, err)
			return false
		}
		*s = append(*s, d)
		*size = n
		return true
	}
	var warm stats.Sample
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

// clearKubectlCache empties kubectl's discovery cache: one written while the benchmark
// restarted backupview may lack the views (the control plane's StartServer waits until
// kube-apiserver's discovery lists them again).
func (b *Bench) clearKubectlCache() {
	_ = os.RemoveAll(filepath.Join(b.Cluster.Dir(), "kubectl-cache"))
}

// lists compares kubectl get -A and one-request LISTs, as Table and as JSON.
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
		{"kubectl get -A (Table)", "lists", report.KubectlTableGoal, kc("get", "bcv", "-A"), kc("get", "backupconfigurations", "-A")},
		{"kubectl get -A -o json", "json", report.KubectlJSONGoal, kc("get", "bcv", "-A", "-o", "json"), kc("get", "backupconfigurations", "-A", "-o", "json")},
		{report.ListTable, "lists", report.ListGoal, raw(views, tableAccept), raw(bcs, tableAccept)},
		{report.ListJSON, "json", report.ListGoal, raw(views, "application/json"), raw(bcs, "application/json")},
	} {
		if !b.want(c.part) {
			continue
		}
		p := stats.Pair{Name: c.name, Goal: c.goal}
		b.Logf("  %s ...", c.name)
		b.interleave(&p, b.Rounds, c.view, c.bc)
		b.logPair(p)
		b.results.Pairs = append(b.results.Pairs, p)
	}
}

// logPair logs a comparison's summary.
func (b *Bench) logPair(p stats.Pair) {
	lo, hi := p.RatioRange()
	b.Logf("    view %s (%s .. %s), direct %s (%s .. %s): ratio %.2f (%.2f .. %.2f)", report.Duration(p.View.Median()), report.Duration(p.View.Min()), report.Duration(p.View.Max()),
		report.Duration(p.Direct.Median()), report.Duration(p.Direct.Min()), report.Duration(p.Direct.Max()), p.Ratio(), lo, hi)
}

// gets compares GETs of one object, a random BackupConfiguration per pair, alternating
// which goes first.
func (b *Bench) gets(ctx context.Context) {
	p := stats.Pair{Name: "GET one object (HTTP JSON, keep-alive)", Goal: report.GetGoal}
	rng := rand.New(rand.NewSource(1))
	b.Logf("  %s ...", p.Name)
	var i int
	pick := func() { i = rng.Intn(b.Scale.BCs) }
	view := func() (time.Duration, int64, error) {
		d, n, _, err := b.get(ctx, fmt.Sprintf("/apis/ui.kubestash.com/v1alpha1/namespaces/%s/backupconfigurationviews/%s", b.Scale.Namespace(i), scale.BCName(i)), "application/json", false)
		return d, n, err
	}
	direct := func() (time.Duration, int64, error) {
		d, n, _, err := b.get(ctx, fmt.Sprintf("/apis/core.kubestash.com/v1alpha1/namespaces/%s/backupconfigurations/%s", b.Scale.Namespace(i), scale.BCName(i)), "application/json", false)
		return d, n, err
	}
	pick()
	b.interleave(&p, 1, view, direct) // warm-up and connection
	p.View, p.Direct = nil, nil
	for r := 0; r < b.Gets; r++ {
		pick()
		p2 := stats.Pair{Name: p.Name}
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

// once runs view and direct (each when not nil) once, in that order, into p.
func (b *Bench) once(p *stats.Pair, view, direct func() (time.Duration, int64, error)) {
	for _, x := range []struct {
		f    func() (time.Duration, int64, error)
		s    *stats.Sample
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
