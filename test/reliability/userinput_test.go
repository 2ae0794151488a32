package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/harness"
)

// addonsCRD is the KubeStash CRD these tests install late.
const addonsCRD = "addons.kubestash.com_addons.yaml"

// TestUserInputNeverChangesWhatIsWatched (promise 13): 500 previews naming 500 made-up target
// kinds (and a few served kinds no BackupConfiguration backs up) make backupview send
// kube-apiserver no discovery request beyond its own poll, start no informer, keep /readyz
// 200, and a KubeStash CRD installed right after is still picked up by the next poll.
//
// Discovery requests are counted in kube-apiserver's audit log, by backupview's user agent:
// kube-controller-manager's garbage collector and quota controller run discovery every 30 s
// on their own, which apiserver_request_total cannot tell apart (its total is logged too).
func TestUserInputNeverChangesWhatIsWatched(t *testing.T) {
	need(t)
	const poll = 2 * time.Second
	audit, auditArgs := discoveryAudit(t)
	// No form target kinds: those start by configuration once the views are built, which
	// would race the "before" count; this promise is about what requests start.
	c := startCluster(t, harness.Options{SkipCRDs: true, SkipServer: true, APIServerArgs: auditArgs,
		ServerArgs: []string{"--source-poll-interval=" + poll.String(), "-v=2", "--form-target-kinds="}})
	installCRDsExcept(t, c, addonsCRD) // Addons is installed at the end
	if err := c.StartServer(); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Kubectl("create", "namespace", "demo"); err != nil {
		t.Fatal(err, out)
	}
	kas := kasHTTP(t, c, "admin")
	direct := bvDirect(t, c, c.Ports.Server)
	log := filepath.Join(c.Dir, "logs", "backupview.log")
	watching0 := countLines(t, log, `"watching target kind"`)
	series0 := targetSeries(t, direct)

	// Let start-up's discovery settle, then count from here.
	time.Sleep(poll + time.Second)
	auditFrom := audit.size(t)
	metricFrom := kasDiscoveryTotal(t, kas)
	readyz := sampleReadyz(direct, 100*time.Millisecond)
	// Before the fix each preview of a new kind cost discovery round trips, and each poll one
	// per kind seen so far: 500 previews took about 6 minutes. Stop sending after 2.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	// 500 made-up kinds, and kinds the cluster serves that no BackupConfiguration backs up
	// (a lookup that registered kinds would start a cluster-wide informer on them).
	var targets []map[string]interface{}
	for i := range 500 {
		targets = append(targets, map[string]interface{}{"apiGroup": fmt.Sprintf("made-up-%d.example.com", i), "kind": fmt.Sprintf("MadeUp%d", i)})
	}
	for _, gk := range [][2]string{{"apps", "Deployment"}, {"core", "ConfigMap"}, {"rbac.authorization.k8s.io", "ClusterRole"}} {
		targets = append(targets, map[string]interface{}{"apiGroup": gk[0], "kind": gk[1]})
	}
	previews := len(targets)
	var mu sync.Mutex
	codes := map[int]int{}
	var firstBad string
	form := mustJSON(validForm(t, c.Root))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if ctx.Err() != nil {
					continue
				}
				var f map[string]interface{}
				_ = json.Unmarshal(form, &f)
				f["metadata"].(map[string]interface{})["name"] = fmt.Sprintf("preview-%d", i)
				target := map[string]interface{}{"namespace": "demo", "name": "x"}
				for k, v := range targets[i] {
					target[k] = v
				}
				f["spec"].(map[string]interface{})["target"] = target
				r := kas.do(ctx, http.MethodPost, previewsPath, "application/json", strings.NewReader(string(mustJSON(f))))
				mu.Lock()
				codes[r.code]++
				if r.code != 201 && firstBad == "" {
					firstBad = fmt.Sprintf("%d %v %s", r.code, r.err, short(r.body))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range previews {
		work <- i
	}
	close(work)
	wg.Wait()
	sent := time.Since(start)
	time.Sleep(time.Second) // anything the previews set off comes now
	window := time.Since(start)
	byBV, all, agents := audit.discovery(t, auditFrom)
	metricDelta := kasDiscoveryTotal(t, kas) - metricFrom
	t.Logf("%d previews in %s: %v; discovery requests in the %s window: backupview %d %v, all clients %d (audit; by user agent %v), %.0f (apiserver_request_total)",
		previews, sent.Round(time.Millisecond), codes, window.Round(time.Millisecond), len(byBV), firstOf(byBV, 20), all, agents, metricDelta)
	if codes[201] != previews {
		t.Errorf("previews: %v, want %d x 201; first other: %s", codes, previews, firstBad)
	}
	// While Addons is missing, backupview's poll asks discovery once per interval (/api and
	// /apis); the previews may add a handful at most.
	allowed := 5 + 2*(int(window/poll)+1)
	if len(byBV) > allowed {
		t.Errorf("backupview sent %d discovery requests during %d previews of kinds nothing watches (%s), want at most %d (its poll: 2 per %s, plus 5)",
			len(byBV), previews, window.Round(time.Millisecond), allowed, poll)
	}

	// No informer started: no log line, no metric series (the gauges refresh every 5 s).
	time.Sleep(5 * time.Second)
	if n := countLines(t, log, `"watching target kind"`); n != watching0 {
		t.Errorf("backupview started %d target informers during the previews", n-watching0)
	}
	if s := targetSeries(t, direct); len(s) != len(series0) {
		t.Errorf("backupview_source_synced series of target kinds: %v before the previews, %v after", series0, s)
	}
	if got := readyz(); len(got) != 1 || got[200] == 0 {
		t.Errorf("/readyz during the previews: %v, want only 200", got)
	} else {
		t.Logf("/readyz during the previews: %v", got)
	}

	// The CRD that was missing throughout: found by the next poll, negative answers or not.
	b, err := os.ReadFile(filepath.Join(crdDir(c), addonsCRD))
	if err != nil {
		t.Fatal(err)
	}
	watchingAddons := `"watching" resource="addons.kubestash.com/v1alpha1, Resource=addons"`
	applied := time.Now()
	if out, err := c.KubectlStdout(string(b), "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatal(err, out)
	}
	if err := c.WaitCRDsEstablished(); err != nil {
		t.Fatal(err)
	}
	established := time.Now()
	if err := waitUntil(3*poll, func() error {
		if countLines(t, log, watchingAddons) == 0 {
			return fmt.Errorf("no %s in backupview's log", watchingAddons)
		}
		return nil
	}); err != nil {
		t.Fatalf("Addons CRD installed after the previews not picked up within %s of being Established: %v", 3*poll, err)
	}
	t.Logf("Addons CRD picked up %s after it was applied (Established after %s; poll %s)",
		time.Since(applied).Round(time.Millisecond), established.Sub(applied).Round(time.Millisecond), poll)
	if r := direct.get("/readyz"); r.code != 200 {
		t.Errorf("/readyz at the end: %d %s", r.code, short(r.body))
	}
}

// installCRDsExcept installs the KubeStash CRDs but the named files, and waits for them.
func installCRDsExcept(t *testing.T, c *harness.Cluster, skip ...string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir(c), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s: %v", crdDir(c), err)
	}
	args := []string{"apply", "--server-side"}
	for _, f := range files {
		if !contains(skip, filepath.Base(f)) {
			args = append(args, "-f", f)
		}
	}
	if out, err := c.Kubectl(args...); err != nil {
		t.Fatal(err, out)
	}
	if err := c.WaitCRDsEstablished(); err != nil {
		t.Fatal(err)
	}
}

func crdDir(c *harness.Cluster) string { d, _ := c.CRDDir(); return d }

// countLines counts the lines of a file that contain s.
func countLines(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), s)
}

// targetSeries lists backupview_source_synced's series other than the KubeStash kinds'.
func targetSeries(t *testing.T, h *httpc) []string {
	t.Helper()
	r := h.get("/metrics")
	if r.code != 200 {
		t.Fatalf("backupview /metrics: %d %v", r.code, r.err)
	}
	var out []string
	for _, l := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(l, "backupview_source_synced{") && !strings.Contains(l, "kubestash.com") && !strings.Contains(l, `"cronjobs.batch"`) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// sampleReadyz GETs /readyz every interval until the returned function is called, which
// returns how often each status code came (0: no answer).
func sampleReadyz(h *httpc, every time.Duration) func() map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			r := h.get("/readyz")
			mu.Lock()
			codes[r.code]++
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return func() map[int]int {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return codes
	}
}

// kasDiscoveryTotal sums kube-apiserver's apiserver_request_total over discovery requests:
// GETs of no resource that are not /healthz, /readyz, /livez, /metrics, /version or openapi
// (their subresource label is "api" or "apis", or empty for a group's or version's document).
func kasDiscoveryTotal(t *testing.T, kas *httpc) float64 {
	t.Helper()
	r := kas.get("/metrics")
	if r.code != 200 {
		t.Fatalf("kube-apiserver /metrics: %d %v", r.code, r.err)
	}
	var sum float64
	for _, l := range strings.Split(string(r.body), "\n") {
		rest, ok := strings.CutPrefix(l, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		if !strings.Contains(labels, `,resource="",`) || !strings.Contains(labels, `verb="GET"`) {
			continue
		}
		sub := labels[strings.Index(labels, `subresource="`)+len(`subresource="`):]
		if strings.HasPrefix(sub, "/") || strings.HasPrefix(sub, "openapi") {
			continue
		}
		var v float64
		fmt.Sscan(value, &v)
		sum += v
	}
	return sum
}

// auditLog is kube-apiserver's audit log of discovery requests.
type auditLog struct{ path string }

// discoveryAudit returns an audit log and the kube-apiserver flags that log every discovery
// request (the non-resource URLs /api and /apis and below) to it.
func discoveryAudit(t *testing.T) (*auditLog, []string) {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*"]
- level: None
`), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &auditLog{path: filepath.Join(dir, "audit.log")}
	return a, []string{"--audit-policy-file=" + policy, "--audit-log-path=" + a.path, "--audit-log-format=json", "--audit-log-mode=blocking"}
}

func (a *auditLog) size(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(a.path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// discovery reads the audit events after offset: the URIs backupview-apiserver asked for,
// how many discovery requests all clients sent, and how many each user agent (its program).
func (a *auditLog) discovery(t *testing.T, offset int64) (byBackupview []string, all int, agents map[string]int) {
	t.Helper()
	f, err := os.Open(a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e struct {
			Stage      string `json:"stage"`
			RequestURI string `json:"requestURI"`
			UserAgent  string `json:"userAgent"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Stage != "ResponseComplete" {
			continue
		}
		all++
		if agents == nil {
			agents = map[string]int{}
		}
		prog, _, _ := strings.Cut(e.UserAgent, " ")
		agents[prog]++
		if strings.HasPrefix(e.UserAgent, "backupview-apiserver") { // its binary's name

			byBackupview = append(byBackupview, e.RequestURI)
		}
	}
	return byBackupview, all, agents
}

func firstOf(l []string, n int) []string {
	if len(l) > n {
		return append(l[:n:n], fmt.Sprintf("... %d more", len(l)-n))
	}
	return l
}
