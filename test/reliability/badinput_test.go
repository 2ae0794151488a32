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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/test/harness"
)

const previewsPath = "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationpreviews"

// validForm is examples/preview-mongodb.yaml as a map.
func validForm(t *testing.T, root string) map[string]interface{} {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "examples", "preview-mongodb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(v interface{}) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// withTask returns the valid form with its first task's fields replaced.
func withTask(t *testing.T, root string, task map[string]interface{}) []byte {
	f := validForm(t, root)
	tk := f["spec"].(map[string]interface{})["sessions"].([]interface{})[0].(map[string]interface{})["tasks"].([]interface{})[0].(map[string]interface{})
	delete(tk, "params")
	for k, v := range task {
		tk[k] = v
	}
	return mustJSON(f)
}

func billionLaughs() string {
	var b strings.Builder
	b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		fmt.Fprintf(&b, "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	return b.String()
}

// endless is a body that never ends: the server must refuse it without reading it all.
type endless struct {
	prefix []byte
	sent   int64
	limit  int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.sent >= e.limit {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		if int(e.sent) < len(e.prefix) {
			c := copy(p[n:], e.prefix[e.sent:])
			n += c
			e.sent += int64(c)
			continue
		}
		p[n] = 'x'
		n++
		e.sent++
	}
	return n, nil
}

// TestPreviewBadInput (promise 5): malformed JSON and YAML, wrong kinds and versions, unknown
// fields under strict decoding (reported with their paths), huge bodies, deep nesting and a
// billion-laughs YAML each get a 4xx, in bounded time and memory, and the server stays
// healthy. Sent through kube-apiserver (the users' path) and straight to backupview.
func TestPreviewBadInput(t *testing.T) {
	need(t)
	c := shared(t)
	bvPID := pidOf(c, "backupview")
	hwm0, rss0 := memKiB(bvPID, "VmHWM"), memKiB(bvPID, "VmRSS")
	kas := kasHTTP(t, c, "admin")
	direct := bvDirect(t, c, c.Ports.Server)
	valid := mustJSON(validForm(t, c.Root))
	subresource := "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/mongodb-backup/preview"

	type tc struct {
		name, ct string
		body     []byte
		want     int      // exact status; 0: any 4xx
		contains []string // in the body
		query    string
	}
	deepJSON := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	deepArrays := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	hugeAnnotation := bytes.Repeat([]byte("x"), 2<<20)
	laughs := billionLaughs()
	manyKeys := func() string {
		var b strings.Builder
		for i := 0; i < 40000; i++ {
			fmt.Fprintf(&b, "k%d: v\n", i)
		}
		return b.String()
	}()
	manySessions := func() []byte {
		f := validForm(t, c.Root)
		var s []interface{}
		for i := 0; i < 20000; i++ {
			s = append(s, map[string]interface{}{"name": fmt.Sprint("s", i)})
		}
		f["spec"].(map[string]interface{})["sessions"] = s
		return mustJSON(f)
	}()
	cases := []tc{
		{name: "malformed JSON", ct: "application/json", body: []byte(`{"apiVersion":`), want: 400},
		{name: "malformed YAML", ct: "application/yaml", body: []byte("apiVersion: [\n"), want: 400},
		{name: "YAML tab indentation", ct: "application/yaml", body: []byte("apiVersion: ui.kubestash.com/v1alpha1\nkind: BackupConfigurationPreview\nmetadata:\n\tname: x\n"), want: 400},
		{name: "empty body", ct: "application/json", body: nil, want: 400},
		{name: "JSON null", ct: "application/json", body: []byte("null"), want: 0},
		{name: "JSON array", ct: "application/json", body: []byte("[1,2,3]"), want: 400},
		{name: "JSON string", ct: "application/json", body: []byte(`"form"`), want: 400},
		{name: "wrong kind", ct: "application/json", body: []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}`), want: 400},
		{name: "wrong kind in the group", ct: "application/json", body: []byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationView","metadata":{"name":"x"}}`), want: 400},
		{name: "wrong version", ct: "application/json", body: []byte(`{"apiVersion":"ui.kubestash.com/v1beta1","kind":"BackupConfigurationPreview","metadata":{"name":"x"}}`), want: 400},
		{name: "wrong group", ct: "application/json", body: []byte(`{"apiVersion":"core.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x"}}`), want: 400},
		{name: "a BackupConfiguration instead of the form", ct: "application/json", body: []byte(`{"apiVersion":"core.kubestash.com/v1alpha1","kind":"BackupConfiguration","metadata":{"name":"x"},"spec":{}}`), want: 400},
		{name: "protobuf", ct: "application/vnd.kubernetes.protobuf", body: []byte("k8s\x00\x0a\x02v1"), want: 0},
		{name: "text/plain", ct: "text/plain", body: valid, want: 415},
		{name: "unknown fields, strict", ct: "application/json", query: "?fieldValidation=Strict", want: 400,
			body:     []byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x","lables":{}},"spec":{"targt":{},"sessions":[{"nmae":"typo","tasks":[{"nmae":"x","params":{"free":"form"}}]}]}}`),
			contains: []string{"metadata.lables", "spec.targt", "spec.sessions[0].nmae", "spec.sessions[0].tasks[0].nmae"}},
		{name: "duplicate fields, strict", ct: "application/json", query: "?fieldValidation=Strict", want: 400,
			body: []byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x","name":"y"},"spec":{}}`), contains: []string{"metadata.name"}},
		{name: "unknown fields in YAML, strict", ct: "application/yaml", query: "?fieldValidation=Strict", want: 400,
			body: []byte("apiVersion: ui.kubestash.com/v1alpha1\nkind: BackupConfigurationPreview\nmetadata: {name: x}\nspec:\n  storagRef: {}\n"), contains: []string{"spec.storagRef"}},
		{name: "body over 1 MiB", ct: "application/json", want: 413,
			body: append(append([]byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x","annotations":{"a":"`), hugeAnnotation...), []byte(`"}}}`)...)},
		{name: "20,000 nested objects", ct: "application/json", body: []byte(deepJSON), want: 0},
		{name: "200,000 nested lists", ct: "application/json", body: []byte(deepArrays), want: 0},
		{name: "deeply nested YAML body", ct: "application/yaml", body: []byte("a: " + strings.Repeat("[", 100000)), want: 0},
		{name: "deeply nested params", ct: "application/json", body: withTask(t, c.Root, map[string]interface{}{"params": deep(5000)}), want: 0},
		{name: "deeply nested paramsText", ct: "application/json", body: withTask(t, c.Root, map[string]interface{}{"paramsText": "a: " + strings.Repeat("[", 50000)}), want: 422},
		{name: "billion laughs in paramsText", ct: "application/json", body: withTask(t, c.Root, map[string]interface{}{"paramsText": laughs}), want: 422, contains: []string{"paramsText"}},
		{name: "billion laughs as the body", ct: "application/yaml", body: []byte(laughs), want: 0},
		{name: "40,000 keys in paramsText", ct: "application/json", body: withTask(t, c.Root, map[string]interface{}{"paramsText": manyKeys}), want: 422},
		{name: "params and paramsText", ct: "application/json", body: withTask(t, c.Root, map[string]interface{}{"params": map[string]interface{}{"a": 1}, "paramsText": "a: 1"}), want: 422},
		{name: "20,000 sessions", ct: "application/json", body: manySessions, want: 422},
		{name: "runAsUser out of range", ct: "application/json", body: bytes.Replace(valid, []byte(`"runAsUser":999`), []byte(`"runAsUser":1e400`), 1), want: 400},
		{name: "runAsUser not an integer", ct: "application/json", body: bytes.Replace(valid, []byte(`"runAsUser":999`), []byte(`"runAsUser":3.5`), 1), want: 0},
		{name: "invalid UTF-8", ct: "application/json", body: bytes.Replace(valid, []byte(`"team":"databases"`), []byte("\"team\":\"\xff\xfe\""), 1), want: 0},
	}
	s := newSteps(t)
	for _, h := range []struct {
		name string
		c    *httpc
	}{{"via kube-apiserver", kas}, {"direct", direct}} {
		for _, path := range []string{previewsPath, subresource} {
			s.run(fmt.Sprintf("each bad body gets a 4xx %s to %s", h.name, path[strings.LastIndex(path, "/")+1:]), func(t *testing.T) {
				for _, tc := range cases {
					if path == subresource && h.c == kas && tc.want == 0 {
						continue // the subresource decodes the same way; spare the time
					}
					t.Run(tc.name, func(t *testing.T) {
						start := time.Now()
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						r := h.c.do(ctx, http.MethodPost, path+tc.query, tc.ct, bytes.NewReader(tc.body))
						cancel()
						took := time.Since(start)
						where := fmt.Sprintf("%s %s: %s", h.name, path[strings.LastIndex(path, "/")+1:], tc.name)
						switch {
						case r.err != nil:
							t.Errorf("%s: %v", where, r.err)
						case tc.want != 0 && r.code != tc.want:
							t.Errorf("%s: %d, want %d: %s", where, r.code, tc.want, short(r.body))
						case r.code < 400 || r.code >= 500:
							t.Errorf("%s: %d, want a 4xx: %s", where, r.code, short(r.body))
						}
						for _, s := range tc.contains {
							if !bytes.Contains(r.body, []byte(s)) {
								t.Errorf("%s: the error does not name %s: %s", where, s, short(r.body))
							}
						}
						t.Logf("%s: %d in %s", where, r.code, took.Round(time.Millisecond))
						if took > 10*time.Second {
							t.Errorf("%s: took %s", where, took)
						}
						if len(r.body) > 1<<20 {
							t.Errorf("%s: a %d-byte answer", where, len(r.body))
						}
					})
				}
			})
		}
	}

	// A body that never ends (no Content-Length) is cut off at the limit, not read to the end.
	for _, h := range []struct {
		name string
		c    *httpc
	}{{"via kube-apiserver", kas}, {"direct", direct}} {
		s.run("an endless body is cut off at the limit "+h.name, func(t *testing.T) {
			body := &endless{prefix: []byte(`{"apiVersion":"ui.kubestash.com/v1alpha1","kind":"BackupConfigurationPreview","metadata":{"name":"x","annotations":{"a":"`), limit: 1 << 30}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.c.base+previewsPath, body)
			req.Header.Set("Content-Type", "application/json")
			res, err := h.c.hc.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 413 {
					t.Errorf("%s: endless body: %d, want 413", h.name, res.StatusCode)
				}
			} // else: the server closed the connection while the client still wrote: also refused
			cancel()
			if body.sent > 64<<20 {
				t.Errorf("%s: endless body: the server read %d MiB before refusing", h.name, body.sent>>20)
			}
			t.Logf("%s: endless body refused after %d KiB in %s (%v)", h.name, body.sent>>10, time.Since(start).Round(time.Millisecond), err)
		})
	}

	// The server is healthy and bounded.
	s.run("peak memory grows by at most 256 MiB", func(t *testing.T) {
		hwm, rss := memKiB(bvPID, "VmHWM"), memKiB(bvPID, "VmRSS")
		t.Logf("backupview memory: RSS %d -> %d MiB, peak %d -> %d MiB", rss0>>10, rss>>10, hwm0>>10, hwm>>10)
		if hwm-hwm0 > 256<<10 {
			t.Errorf("backupview's peak memory grew by %d MiB under bad input", (hwm-hwm0)>>10)
		}
	})
	s.run("a valid form works after the bad ones", func(t *testing.T) {
		if r := kas.do(context.Background(), http.MethodPost, previewsPath, "application/json", bytes.NewReader(valid)); r.code != 201 {
			t.Errorf("a valid form after the bad ones: %d %s", r.code, short(r.body))
		}
	})
	s.run("readyz is 200 after the bad input", func(t *testing.T) {
		if r := direct.get("/readyz"); r.code != 200 {
			t.Errorf("/readyz: %d", r.code)
		}
	})
	s.run("backupview was not restarted", func(t *testing.T) {
		if pidOf(c, "backupview") != bvPID || !alive(bvPID) {
			t.Error("backupview restarted or exited")
		}
	})
	s.run("backupview logged no panic", func(t *testing.T) {
		if p := serverLogHasPanic(c); p != "" {
			t.Errorf("backupview logged a panic: %s", p)
		}
	})
}

// deploymentMemoryLimitKiB is the memory limit of backupview's container in the shipped
// Deployment.
func deploymentMemoryLimitKiB(t *testing.T, root string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name      string `json:"name"`
						Resources struct {
							Limits map[string]string `json:"limits"`
						} `json:"resources"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, ct := range d.Spec.Template.Spec.Containers {
		if ct.Name == "backupview" {
			q, err := resource.ParseQuantity(ct.Resources.Limits["memory"])
			if err != nil {
				t.Fatalf("deploy/deployment.yaml: memory limit: %v", err)
			}
			return q.Value() >> 10
		}
	}
	t.Fatal("deploy/deployment.yaml: no backupview container")
	return 0
}

// worstPreviews are the most expensive bad paramsText and params a form may carry: each the
// largest allowed (256 KiB), of tiny items, the deepest nesting, anchors and aliases, texts
// outside what backupview's shape scan models (a tab, a number as a key), which it has to
// decode, and params as large as the body limit allows.
func worstPreviews(t *testing.T, root string) map[string][]byte {
	const n = 256 << 10
	list := func(prefix, suffix string) string {
		return prefix + strings.Repeat("1,", (n-len(prefix)-len(suffix)-1)/2) + "1" + suffix
	}
	text := func(s string) []byte {
		if len(s) > n {
			t.Fatalf("a worst case of %d bytes", len(s))
		}
		return withTask(t, root, map[string]interface{}{"paramsText": s})
	}
	var jsonList, bodyList interface{}
	if err := json.Unmarshal([]byte(list(`{"a":[`, "]}")), &jsonList); err != nil {
		t.Fatal(err)
	}
	// params over their limit, as large as the body may be: refused by size, but only once
	// the generic handler has decoded them.
	if err := json.Unmarshal([]byte(`{"a":[`+strings.Repeat("1,", 480<<10)+"1]}"), &bodyList); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"256 KiB flow list":       text(list("a: [", "]")),
		"256 KiB block list":      text("a:\n" + strings.Repeat("- 1\n", (n-3)/4)),
		"40 levels, 256 KiB wide": text(list("a: "+strings.Repeat("[", 40), strings.Repeat("]", 40))),
		"anchored list":           text(list("a: &x [", "]")),
		"aliases":                 text("a: &a x\nb: [" + strings.Repeat("*a,", (n-20)/3) + "*a]"),
		"list with a tab":         text(list("a:\t[", "]")),
		"list under a number key": text(list("1: [", "]")),
		"256 KiB params list":     withTask(t, root, map[string]interface{}{"params": jsonList}),
		"960 KiB params list":     withTask(t, root, map[string]interface{}{"params": bodyList}),
	}
}

// TestPreviewBadInputInParallel (promise 16): 50 of the worst bad previews at once, through
// kube-apiserver and then straight to backupview, all get a 4xx (422, or 429 with
// Retry-After when the server sheds load) while backupview's peak RSS stays below the
// Deployment's memory limit. Before the shape scan and the gates, one such preview allocated
// 28 to 143 MiB and about 15 at once went over the limit.
func TestPreviewBadInputInParallel(t *testing.T) {
	need(t)
	// A cluster of its own: its peak memory must be that of the burst, not of the tests before it.
	c := startCluster(t, harness.Options{})
	limit := deploymentMemoryLimitKiB(t, c.Root)
	bvPID := pidOf(c, "backupview")
	kas := kasHTTP(t, c, "admin")
	direct := bvDirect(t, c, c.Ports.Server)
	worst := worstPreviews(t, c.Root)
	names := make([]string, 0, len(worst))
	for name := range worst {
		names = append(names, name)
	}
	sort.Strings(names)
	if r := direct.do(context.Background(), http.MethodPost, previewsPath, "application/json", bytes.NewReader(mustJSON(validForm(t, c.Root)))); r.code != 201 {
		t.Fatalf("a valid form first: %d %s", r.code, short(r.body))
	}
	// What one request of each kind costs the whole server (every allocation, from the body
	// read to the answer), one at a time.
	for _, name := range names {
		const n = 3
		before := metric(t, direct, "go_memstats_alloc_bytes_total")
		for range n {
			if r := direct.do(context.Background(), http.MethodPost, previewsPath, "application/json", bytes.NewReader(worst[name])); r.code != 422 {
				t.Errorf("%s alone: %d, want 422: %s", name, r.code, short(r.body))
			}
		}
		t.Logf("%-24s %4d KiB body: backupview allocates %5.1f MiB per request", name, len(worst[name])>>10,
			(metric(t, direct, "go_memstats_alloc_bytes_total")-before)/n/(1<<20))
	}
	hwm0 := memKiB(bvPID, "VmHWM")
	const burst = 50
	for _, h := range []struct {
		name string
		c    *httpc
	}{{"via kube-apiserver", kas}, {"direct", direct}} {
		type result struct {
			name string
			r    resp
			took time.Duration
		}
		results := make([]result, burst)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := names[i%len(names)]
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				t0 := time.Now()
				r := h.c.do(ctx, http.MethodPost, previewsPath, "application/json", bytes.NewReader(worst[name]))
				results[i] = result{name, r, time.Since(t0)}
			}()
		}
		wg.Wait()
		codes := map[int]int{}
		var slowest time.Duration
		for _, res := range results {
			codes[res.r.code]++
			slowest = max(slowest, res.took)
			switch {
			case res.r.err != nil:
				t.Errorf("%s: %s: %v", h.name, res.name, res.r.err)
			case res.r.code == 429:
				if res.r.hdr.Get("Retry-After") == "" {
					t.Errorf("%s: %s: 429 without Retry-After", h.name, res.name)
				}
			case res.r.code != 422:
				t.Errorf("%s: %s: %d, want 422 (or 429): %s", h.name, res.name, res.r.code, short(res.r.body))
			case !bytes.Contains(res.r.body, []byte("spec.sessions[0].tasks[0].params")):
				t.Errorf("%s: %s: the error does not name the params: %s", h.name, res.name, short(res.r.body))
			}
		}
		t.Logf("%s: %d concurrent worst-case previews in %s (slowest %s): status codes %v; backupview peak RSS (VmHWM) now %d MiB",
			h.name, burst, time.Since(start).Round(time.Millisecond), slowest.Round(time.Millisecond), codes, memKiB(bvPID, "VmHWM")>>10)
	}
	hwm := memKiB(bvPID, "VmHWM")
	t.Logf("backupview peak RSS (VmHWM): %d MiB before the bursts, %d MiB after; the Deployment's memory limit is %d MiB", hwm0>>10, hwm>>10, limit>>10)
	if hwm >= limit {
		t.Errorf("backupview's peak RSS %d MiB reached the Deployment's memory limit (%d MiB): in a pod it would have been OOM-killed", hwm>>10, limit>>10)
	}
	if r := kas.do(context.Background(), http.MethodPost, previewsPath, "application/json", bytes.NewReader(mustJSON(validForm(t, c.Root)))); r.code != 201 {
		t.Errorf("a valid form after the bursts: %d %s", r.code, short(r.body))
	}
	if r := direct.get("/readyz"); r.code != 200 {
		t.Errorf("/readyz: %d", r.code)
	}
	if pidOf(c, "backupview") != bvPID || !alive(bvPID) {
		t.Error("backupview restarted or exited")
	}
	if p := serverLogHasPanic(c); p != "" {
		t.Errorf("backupview logged a panic: %s", p)
	}
}
