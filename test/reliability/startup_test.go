package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/harness"
	"github.com/kubestash/backupview/test/scale"
)

// startupModel is what the sources say each view must show: its BackupSessions, its
// BackupStorage (found, with its provider), its RetentionPolicy (found) and whether its
// target exists. A view built before every informer synced lacks some of it.
type startupModel struct {
	n        int
	sessions map[string][]string // view key -> BackupSession names, sorted; absent: none
	targets  map[string]bool     // view keys whose target exists
	storage  string              // namespace/name of the one BackupStorage
	provider string
	policy   string // namespace/name of the one RetentionPolicy
}

// viewContent is the part of a view the startup test compares with the model.
type viewContent struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	BackupSessions []struct {
		Name string `json:"name"`
	} `json:"backupSessions"`
	BackupStorages []struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Found     bool   `json:"found"`
		Provider  string `json:"provider"`
	} `json:"backupStorages"`
	RetentionPolicies []struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Found     bool   `json:"found"`
	} `json:"retentionPolicies"`
	Target struct {
		Found bool `json:"found"`
	} `json:"target"`
}

// diff says how a view differs from the model ("" when it does not).
func (m *startupModel) diff(raw json.RawMessage) string {
	var v viewContent
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Sprintf("undecodable view: %v", err)
	}
	key := v.Metadata.Namespace + "/" + v.Metadata.Name
	var got []string
	for _, s := range v.BackupSessions {
		got = append(got, s.Name)
	}
	slices.Sort(got)
	var problems []string
	if want := m.sessions[key]; !slices.Equal(got, want) {
		problems = append(problems, fmt.Sprintf("backupSessions %v, want %v", got, want))
	}
	if len(v.BackupStorages) != 1 || v.BackupStorages[0].Namespace+"/"+v.BackupStorages[0].Name != m.storage ||
		!v.BackupStorages[0].Found || v.BackupStorages[0].Provider != m.provider {
		problems = append(problems, fmt.Sprintf("backupStorages %+v, want %s found with provider %s", v.BackupStorages, m.storage, m.provider))
	}
	if len(v.RetentionPolicies) != 1 || v.RetentionPolicies[0].Namespace+"/"+v.RetentionPolicies[0].Name != m.policy || !v.RetentionPolicies[0].Found {
		problems = append(problems, fmt.Sprintf("retentionPolicies %+v, want %s found", v.RetentionPolicies, m.policy))
	}
	if v.Target.Found != m.targets[key] {
		problems = append(problems, fmt.Sprintf("target found=%v, want %v", v.Target.Found, m.targets[key]))
	}
	if problems == nil {
		return ""
	}
	return key + ": " + strings.Join(problems, "; ")
}

// diffAll checks a complete set of views: every one as the model says, each once.
func (m *startupModel) diffAll(items []json.RawMessage) string {
	if len(items) != m.n {
		return fmt.Sprintf("%d of %d views", len(items), m.n)
	}
	for _, it := range items {
		if d := m.diff(it); d != "" {
			return d
		}
	}
	return ""
}

// withJoinedObjects adds to the loaded BackupConfigurations (loadBackupConfigurations: one
// storage, one policy) what the views of a sample join: 1 to 3 BackupSessions for every 40th
// BackupConfiguration (spread over all namespaces), and the target of every 80th.
func withJoinedObjects(t *testing.T, c *harness.Cluster, s scale.Scale) *startupModel {
	t.Helper()
	m := &startupModel{n: s.BCs, sessions: map[string][]string{}, targets: map[string]bool{},
		storage: scale.SharedNamespace + "/" + scale.StorageName(0), provider: "s3", policy: scale.SharedNamespace + "/" + scale.PolicyName(0)}
	var items []item
	for i := 7; i < s.BCs; i += 40 {
		ns, key := s.Namespace(i), s.Key(i)
		for j := 0; j <= i%3; j++ {
			name := fmt.Sprintf("%s-full-backup-%d", scale.BCName(i), scale.Base.Add(-time.Duration(j)*time.Hour).Unix())
			items = append(items, item{gvr: gvrBS, obj: u("core.kubestash.com/v1alpha1", "BackupSession", ns, name, obj{
				"spec": obj{"invoker": obj{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": scale.BCName(i)}, "session": "full-backup"},
			}), status: obj{"phase": "Succeeded", "duration": "49s", "totalSnapshots": int64(1)}})
			m.sessions[key] = append(m.sessions[key], name)
		}
		slices.Sort(m.sessions[key])
		if i%80 == 7 {
			items = append(items, itemOf(s.Target(i)))
			m.targets[key] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := createAll(ctx, c.Dyn, items, 8); err != nil {
		t.Fatal(err)
	}
	return m
}

// initialViews opens a WatchList-style watch (sendInitialEvents=true) and returns the objects
// of the ADDED events before the initial-events-end bookmark; complete is false when the
// stream ended without the bookmark.
func initialViews(ctx context.Context, h *httpc, path string) (code int, views []json.RawMessage, complete bool, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path+"?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", nil)
	req.Header.Set("Accept", "application/json")
	r, err := h.hc.Do(req)
	if err != nil {
		return 0, nil, false, err
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, r.Body)
		return r.StatusCode, nil, false, nil
	}
	dec := json.NewDecoder(r.Body)
	for {
		var e watchEvent
		if err := dec.Decode(&e); err != nil {
			return 200, views, false, err
		}
		switch e.Type {
		case "ADDED":
			views = append(views, e.Object)
		case "BOOKMARK":
			if metaOf(e.Object).Metadata.Annotations["k8s.io/initial-events-end"] == "true" {
				return 200, views, true, nil
			}
		case "ERROR":
			return 200, views, false, fmt.Errorf("ERROR event: %s", short(e.Object))
		}
	}
}

// startupObserver hammers a starting backupview with every kind of read and records any
// answer that is not either a refusal (503, not listening yet, ...) or complete and as the
// sources say.
type startupObserver struct {
	want   int
	model  *startupModel
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	wrong  []string // short lists, views missing joined data, 404s for existing views, "No resources found"
	counts map[string]int
	// readyzOK is set once backupview's /readyz answered 200.
	readyzOK atomic.Bool
	// notReady is the last failed /readyz?verbose answer, for the log.
	notReady atomic.Value
}

func (o *startupObserver) count(what string) {
	o.mu.Lock()
	o.counts[what]++
	o.mu.Unlock()
}

func (o *startupObserver) bad(format string, args ...interface{}) {
	o.mu.Lock()
	if len(o.wrong) < 20 {
		o.wrong = append(o.wrong, fmt.Sprintf(format, args...))
	}
	o.mu.Unlock()
}

func (o *startupObserver) loop(every time.Duration, f func()) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		for {
			select {
			case <-o.stop:
				return
			default:
			}
			f()
			select {
			case <-o.stop:
				return
			case <-time.After(every):
			}
		}
	}()
}

// observe starts the pollers: /readyz, LIST (direct and through kube-apiserver), GET of an
// existing view, a WatchList-style watch, and kubectl get. Every view a 200 carries is
// compared with the model.
func observe(t *testing.T, c *harness.Cluster, m *startupModel, existing string) *startupObserver {
	want := m.n
	o := &startupObserver{want: want, model: m, stop: make(chan struct{}), counts: map[string]int{}}
	direct := bvDirect(t, c, c.Ports.Server)
	kas := kasHTTP(t, c, "admin")
	o.loop(50*time.Millisecond, func() {
		r := direct.get("/readyz?verbose")
		if r.err == nil && r.code == 200 {
			o.readyzOK.Store(true)
			o.count("readyz 200")
		} else {
			o.count("readyz not ready")
			if r.err == nil {
				var failed []string
				for _, l := range strings.Split(string(r.body), "\n") {
					if strings.HasPrefix(l, "[-]") {
						failed = append(failed, l)
					}
				}
				o.notReady.Store(strings.Join(failed, "; "))
			}
		}
	})
	list := func(name string, h *httpc) func() {
		return func() {
			r := h.get(viewsPath)
			switch {
			case r.err != nil:
				o.count(name + " LIST error")
			case r.code == 200:
				l, err := decodeList(r.body)
				if err != nil {
					o.bad("%s LIST answered 200 with an undecodable list: %v", name, err)
				} else if d := m.diffAll(l.Items); d != "" {
					o.bad("%s LIST answered 200 with views not as their sources say: %s (warnings %q)", name, d, r.hdr.Values("Warning"))
				}
				o.count(name + " LIST complete")
			default:
				o.count(fmt.Sprintf("%s LIST %d", name, r.code))
			}
		}
	}
	o.loop(100*time.Millisecond, list("direct", direct))
	o.loop(100*time.Millisecond, list("direct", direct))
	o.loop(100*time.Millisecond, list("via kube-apiserver", kas))
	ns, name, _ := strings.Cut(existing, "/")
	o.loop(100*time.Millisecond, func() {
		r := direct.get(fmt.Sprintf("/apis/ui.kubestash.com/v1alpha1/namespaces/%s/backupconfigurationviews/%s", ns, name))
		switch {
		case r.err != nil:
			o.count("GET error")
		case r.code == 404:
			o.bad("GET of the existing view %s answered 404: %s", existing, short(r.body))
		case r.code == 200:
			if d := m.diff(r.body); d != "" {
				o.bad("GET answered 200 with a view not as its sources say: %s", d)
			}
			o.count("GET 200")
		default:
			o.count(fmt.Sprintf("GET %d", r.code))
		}
	})
	o.loop(200*time.Millisecond, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code, views, complete, err := initialViews(ctx, direct, viewsPath)
		if code == 200 {
			// Even a stream cut short must not have sent a view without its joined data.
			for _, v := range views {
				if d := m.diff(v); d != "" {
					o.bad("WATCH (sendInitialEvents) sent a view not as its sources say: %s", d)
					break
				}
			}
		}
		switch {
		case err != nil || (code == 200 && !complete):
			o.count("WATCH error")
		case code == 200 && len(views) != want:
			o.bad("WATCH (sendInitialEvents) sent %d of %d views before initial-events-end", len(views), want)
		default:
			o.count(fmt.Sprintf("WATCH %d", code))
		}
	})
	o.loop(time.Second, func() {
		out, err := c.KubectlStdout("", "get", "bcv", "-A", "--no-headers")
		if err == nil {
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != want || strings.TrimSpace(out) == "" {
				o.bad("kubectl get bcv -A succeeded with %d of %d rows: %.200s", n, want, out)
			}
			o.count("kubectl complete")
		} else {
			o.count("kubectl error")
		}
	})
	return o
}

// finish stops the pollers and fails the test for any wrong answer.
func (o *startupObserver) finish(t *testing.T, phase string) map[string]int {
	t.Helper()
	close(o.stop)
	o.wg.Wait()
	t.Logf("%s: %v (last /readyz failure: %v)", phase, o.counts, o.notReady.Load())
	for _, w := range o.wrong {
		t.Errorf("%s: %s", phase, w)
	}
	return o.counts
}

// TestStartupNeverAnswersFromAHalfFilledCache (promise 1): backupview starting against 2,000
// BackupConfigurations refuses (503) or waits, but never answers a LIST, GET, WATCH or
// kubectl get from a cache that is not fully synced: every view in a 200 has its joined
// BackupSessions, BackupStorage (found, with its provider), RetentionPolicy and target state
// as the sources say, and /readyz stays false until then.
// The sources' connection to kube-apiserver goes through a gate, so that the time before
// sync is as long as the test wants: first held for 15 s (longer than the 10 s a request
// waits), then refused outright (discovery fails) for a few seconds.
func TestStartupNeverAnswersFromAHalfFilledCache(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{SkipServer: true})
	const n = 2000
	s := scale.Scale{Name: "startup", Namespaces: 20, BCs: n, Storages: 1, Policies: 1}
	loadBackupConfigurations(t, c, s)
	model := withJoinedObjects(t, c, s)
	existing := s.Key(1927) // one with sessions and a target
	g := newGate(t, fmt.Sprintf("127.0.0.1:%d", c.Ports.APIServer))
	viaGate := "--kubeconfig=" + gateKubeconfig(t, c, g)
	startAsync := func(extra ...string) chan error {
		done := make(chan error, 1)
		go func() { done <- c.StartServer(append([]string{viaGate}, extra...)...) }()
		return done
	}
	waitStarted := func(done chan error, o *startupObserver) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				o.finish(t, "not started")
				if r := bvDirect(t, c, c.Ports.Server).get("/metrics"); r.err == nil {
					for _, l := range strings.Split(string(r.body), "\n") {
						if strings.HasPrefix(l, "backupview_source") {
							t.Log(l)
						}
					}
				}
				t.Fatal(err)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("backupview did not become ready within 2 minutes of the gate opening")
		}
	}
	// Once ready, every view is as its sources say, through every path.
	checkComplete := func(phase string) {
		t.Helper()
		for name, h := range map[string]*httpc{"direct": bvDirect(t, c, c.Ports.Server), "via kube-apiserver": kasHTTP(t, c, "admin")} {
			r := h.get(viewsPath)
			l, err := decodeList(r.body)
			if r.code != 200 || err != nil {
				t.Fatalf("%s: LIST %s after ready: %d %v", phase, name, r.code, err)
			}
			if d := model.diffAll(l.Items); d != "" {
				t.Fatalf("%s: LIST %s after ready: %s", phase, name, d)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code, views, complete, err := initialViews(ctx, bvDirect(t, c, c.Ports.Server), viewsPath)
		if code != 200 || !complete || err != nil {
			t.Fatalf("%s: WATCH after ready: %d complete=%v %v", phase, code, complete, err)
		}
		if d := model.diffAll(views); d != "" {
			t.Fatalf("%s: WATCH after ready: %s", phase, d)
		}
		t.Logf("%s: all %d views as their sources say (%d with sessions, %d with a target)", phase, n, len(model.sessions), len(model.targets))
	}

	// 1. Sources held: nothing can sync. Requests wait 10 s, then get 503.
	g.set(gateHold)
	done := startAsync()
	o := observe(t, c, model, existing)
	time.Sleep(15 * time.Second)
	if o.readyzOK.Load() {
		t.Errorf("held: /readyz answered 200 while the sources could not even list")
	}
	g.set(gateOpen)
	counts := o.finish(t, "held")
	if counts["direct LIST 503"]+counts["via kube-apiserver LIST 503"] == 0 {
		t.Errorf("held: no LIST was refused with 503 within 15 s (counts %v)", counts)
	}
	o = observe(t, c, model, existing)
	waitStarted(done, o)
	time.Sleep(time.Second)
	o.finish(t, "held, then opened")
	checkComplete("held")

	// 2. Restart with kube-apiserver refusing the sources' connections until discovery has
	// failed (client-go retries a refused GET for about 10 s first; -v=2 logs the failure).
	// backupview must not take "discovery failed" for "KubeStash is not installed".
	if err := c.StopServer(); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(c.Dir, "logs", "backupview.log")
	logged, _ := os.ReadFile(logf)
	g.set(gateRefuse)
	done = startAsync("--v=2")
	o = observe(t, c, model, existing)
	if err := waitUntil(90*time.Second, func() error {
		b, _ := os.ReadFile(logf)
		if !bytes.Contains(b[min(len(logged), len(b)):], []byte("discovery failed")) {
			return fmt.Errorf("no discovery failure logged yet")
		}
		return nil
	}); err != nil {
		o.finish(t, "refused")
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if o.readyzOK.Load() {
		t.Errorf("refused: /readyz answered 200 while the sources could not reach kube-apiserver")
	}
	g.set(gateOpen)
	start := time.Now()
	waitStarted(done, o)
	t.Logf("refused: ready %s after the gate opened", time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second)
	o.finish(t, "refused, then opened")
	checkComplete("refused")
}
