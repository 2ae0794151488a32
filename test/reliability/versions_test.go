package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	informers "github.com/kubestash/backupview/pkg/generated/informers/externalversions"
	"github.com/kubestash/backupview/test/harness"
)

// rawWatch opens a watch and collects its events until it ends or ctx does.
type rawEvents struct {
	code   int
	status string
	mu     sync.Mutex
	events []watchEvent
	done   chan struct{}
}

func openWatch(ctx context.Context, t *testing.T, h *httpc, query string) *rawEvents {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+viewsPath+"?"+query, nil)
	req.Header.Set("Accept", "application/json")
	r := &rawEvents{done: make(chan struct{})}
	res, err := h.hc.Do(req)
	if err != nil {
		t.Fatalf("watch %s: %v", query, err)
	}
	r.code = res.StatusCode
	go func() {
		defer close(r.done)
		defer res.Body.Close()
		if res.StatusCode != 200 {
			var st metav1.Status
			_ = json.NewDecoder(res.Body).Decode(&st)
			r.status = st.Message
			return
		}
		dec := json.NewDecoder(bufio.NewReader(res.Body))
		for {
			var e watchEvent
			if err := dec.Decode(&e); err != nil {
				return
			}
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *rawEvents) get() []watchEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]watchEvent(nil), r.events...)
}

func (r *rawEvents) waitFor(within time.Duration, ok func([]watchEvent) bool) ([]watchEvent, bool) {
	deadline := time.After(within)
	for {
		if evs := r.get(); ok(evs) {
			return evs, true
		}
		select {
		case <-deadline:
			return r.get(), false
		case <-r.done:
			evs := r.get()
			return evs, ok(evs)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func evRV(e watchEvent) uint64 {
	n, _ := strconv.ParseUint(metaOf(e.Object).Metadata.ResourceVersion, 10, 64)
	return n
}

func evKey(e watchEvent) string {
	m := metaOf(e.Object)
	return m.Metadata.Namespace + "/" + m.Metadata.Name
}

// TestVersionsNeverLie holds promises 9, 10 and 11 on one cluster with the demo samples:
// resuming from a version this process cannot vouch for is 410, never an empty success;
// every change has its own version, so resumes neither skip nor repeat; WatchList honours
// resourceVersion as LIST does.
func TestVersionsNeverLie(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{Fixtures: []string{"hack/demo/samples.yaml"}})
	kas := kasHTTP(t, c, "admin")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	t.Run("every change a version of its own", func(t *testing.T) {
		l, err := decodeList(kas.get(viewsPath).body)
		if err != nil {
			t.Fatal(err)
		}
		w := openWatch(ctx, t, kas, "watch=1&resourceVersion="+l.Metadata.ResourceVersion)
		// One change of a storage that five views join, then one of a session.
		if out, err := c.Kubectl("patch", "backupstorages.storage.kubestash.com", "-n", "kubestash", "s3-shared", "--subresource=status", "--type=merge", "-p", `{"status":{"totalSize":"3 TiB"}}`); err != nil {
			t.Fatal(err, out)
		}
		if out, err := c.Kubectl("patch", "backupconfigurations.core.kubestash.com", "-n", "demo", "mongodb-backup", "--type=merge", "-p", `{"spec":{"paused":true}}`); err != nil {
			t.Fatal(err, out)
		}
		evs, ok := w.waitFor(10*time.Second, func(e []watchEvent) bool { return len(e) >= 5 && evKey(e[len(e)-1]) == "demo/mongodb-backup" })
		if !ok {
			t.Fatalf("events: want the storage's views then demo/mongodb-backup, got %d", len(evs))
		}
		for i := 1; i < len(evs); i++ {
			if evRV(evs[i]) <= evRV(evs[i-1]) {
				t.Errorf("event %d (%s@%d) does not have a version above the one before (%d)", i, evKey(evs[i]), evRV(evs[i]), evRV(evs[i-1]))
			}
		}
		// A resume from each event's version replays exactly the events after it.
		for i, e := range evs {
			r := openWatch(ctx, t, kas, fmt.Sprintf("watch=1&resourceVersion=%d&timeoutSeconds=2", evRV(e)))
			<-r.done
			var got, want []string
			for _, g := range r.get() {
				got = append(got, fmt.Sprintf("%s@%d", evKey(g), evRV(g)))
			}
			for _, x := range evs[i+1:] {
				want = append(want, fmt.Sprintf("%s@%d", evKey(x), evRV(x)))
			}
			// Exactly the later events, in order; changes made since by others (the CronJob
			// controller) may follow them.
			if r.code != 200 || len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
				t.Errorf("resume from %d: %d %s, got %v, want %v first", evRV(e), r.code, r.status, got, want)
			}
		}
	})

	t.Run("WatchList honours resourceVersion", func(t *testing.T) {
		l, _ := decodeList(kas.get(viewsPath).body)
		cur, _ := strconv.ParseUint(l.Metadata.ResourceVersion, 10, 64)
		q := "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion="
		start := time.Now()
		future := openWatch(ctx, t, kas, q+strconv.FormatUint(cur+1000000, 10))
		<-future.done
		list := kas.get(viewsPath + "?resourceVersionMatch=NotOlderThan&resourceVersion=" + strconv.FormatUint(cur+1000000, 10))
		if future.code != http.StatusGatewayTimeout || list.code != http.StatusGatewayTimeout {
			t.Errorf("a version not reached: WatchList %d (%s), LIST %d: want 504 for both, as LIST does", future.code, future.status, list.code)
		}
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("WatchList answered a version not reached after %v: it must wait first", d)
		}
		now := openWatch(ctx, t, kas, q+l.Metadata.ResourceVersion+"&timeoutSeconds=3")
		evs, ok := now.waitFor(5*time.Second, func(e []watchEvent) bool { return len(e) > 0 && e[len(e)-1].Type == "BOOKMARK" })
		if !ok || len(evs)-1 != len(l.Items) || evRV(evs[len(evs)-1]) < cur {
			t.Errorf("WatchList at the current version: %d events, bookmark at %d; want %d views and a bookmark at %d or later", len(evs), evRV(evs[len(evs)-1]), len(l.Items), cur)
		}
	})

	// victim is a view other than demo's whose version is below the list's: only a rule that
	// vouches for nothing from before the restart can catch its deletion.
	victim := func(l *viewList) (string, string) {
		for _, it := range l.Items {
			m := metaOf(it)
			if m.Metadata.ResourceVersion != l.Metadata.ResourceVersion && m.Metadata.Namespace != "demo" {
				return m.Metadata.Namespace, m.Metadata.Name
			}
		}
		t.Fatal("no view below the list's version")
		return "", ""
	}
	restartWith := func(t *testing.T, kubectl ...[]string) {
		t.Helper()
		if err := c.StopServer(); err != nil {
			t.Fatal(err)
		}
		for _, args := range kubectl {
			if out, err := c.Kubectl(args...); err != nil {
				t.Fatal(err, out)
			}
		}
		if err := c.StartServer(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("no ghosts after a restart", func(t *testing.T) {
		// The reproduction: a deletion, and nothing else, while backupview is down.
		l, _ := decodeList(kas.get(viewsPath).body)
		R := l.Metadata.ResourceVersion
		ns, name := victim(l)
		restartWith(t, []string{"delete", "backupconfigurations.core.kubestash.com", "-n", ns, name})
		r := openWatch(ctx, t, kas, "watch=1&resourceVersion="+R+"&timeoutSeconds=5")
		<-r.done
		if r.code != http.StatusGone {
			t.Errorf("watch from %s (before the restart) after %s/%s was deleted: %d %s with %d events, want 410 Gone", R, ns, name, r.code, r.status, len(r.get()))
		}
	})

	t.Run("an informer held across a restart converges", func(t *testing.T) {
		l, _ := decodeList(kas.get(viewsPath).body)
		cs := clientset.NewForConfigOrDie(rest.CopyConfig(c.Config))
		inf := informers.NewSharedInformerFactory(cs, 0).Ui().V1alpha1().BackupConfigurationViews().Informer()
		ictx, icancel := context.WithCancel(ctx)
		defer icancel()
		go inf.RunWithContext(ictx)
		if !cache.WaitForCacheSync(ictx.Done(), inf.HasSynced) {
			t.Fatal("informer did not sync")
		}
		ns, name := victim(l)
		restartWith(t, []string{"delete", "backupconfigurations.core.kubestash.com", "-n", ns, name},
			[]string{"patch", "backupconfigurations.core.kubestash.com", "-n", "demo", "mongodb-backup", "--type=merge", "-p", `{"spec":{"paused":false}}`})
		err := waitUntil(60*time.Second, func() error {
			fresh, err := cs.UiV1alpha1().BackupConfigurationViews("").List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			want := map[string]string{}
			for _, v := range fresh.Items {
				want[v.Namespace+"/"+v.Name] = v.ResourceVersion
			}
			got := map[string]string{}
			for _, o := range inf.GetStore().List() {
				v := o.(*v1alpha1.BackupConfigurationView)
				got[v.Namespace+"/"+v.Name] = v.ResourceVersion
			}
			if _, ghost := got[ns+"/"+name]; ghost {
				return fmt.Errorf("the informer still holds %s/%s", ns, name)
			}
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
				return fmt.Errorf("informer %v\nfresh LIST %v", sorted(got), sorted(want))
			}
			return nil
		})
		if err != nil {
			t.Errorf("the informer held across the restart did not converge: %v", err)
		}
	})
}

func sorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"@"+v)
	}
	sort.Strings(out)
	return out
}

// TestNoViewStallsTheOthers (promise 14): with a BackupConfiguration of 5,000 sessions of
// distinct schedules on the shared storage, and that storage changing, a BackupSession
// change of another BackupConfiguration shows in its view within a second.
func TestNoViewStallsTheOthers(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{Fixtures: []string{"hack/demo/samples.yaml"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bc, err := c.Dyn.Resource(gvrBC).Namespace("demo").Get(ctx, "mongodb-backup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Minimal sessions (etcd takes at most 1.5 MiB per object): distinct schedules, one addon
	// task, one shared repository.
	var many []interface{}
	for i := 0; i < 5000; i++ {
		many = append(many, map[string]interface{}{
			"name":         fmt.Sprintf("s%04d", i),
			"scheduler":    map[string]interface{}{"schedule": fmt.Sprintf("%d %d %d * *", i%60, (i/60)%24, 1+(i/1440)%28), "jobTemplate": map[string]interface{}{}},
			"addon":        map[string]interface{}{"name": "mongodb-addon", "tasks": []interface{}{map[string]interface{}{"name": "logical-backup"}}},
			"repositories": []interface{}{map[string]interface{}{"name": "huge-repo", "backend": "default-backend", "directory": "demo/mongodb"}},
		})
	}
	big := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": bc.GetAPIVersion(), "kind": bc.GetKind(),
		"metadata": map[string]interface{}{"name": "huge-backup", "namespace": "demo"}, "spec": runtimeDeepCopy(bc.Object["spec"].(map[string]interface{}))}}
	_ = unstructured.SetNestedSlice(big.Object, many, "spec", "sessions")
	start := time.Now()
	if _, err := c.Dyn.Resource(gvrBC).Namespace("demo").Create(ctx, big, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kas := kasHTTP(t, c, "admin")
	if err := waitUntil(60*time.Second, func() error {
		if r := kas.get("/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews/huge-backup"); r.code != 200 {
			return fmt.Errorf("%d", r.code)
		}
		return nil
	}); err != nil {
		t.Fatalf("the 5,000-session view did not appear: %v", err)
	}
	t.Logf("the 5,000-session view appeared after %v", time.Since(start))

	v, err := c.BV.UiV1alpha1().BackupConfigurationViews("prod").Get(ctx, "postgres-backup", metav1.GetOptions{})
	if err != nil || len(v.BackupSessions) == 0 {
		t.Fatalf("prod/postgres-backup: %v", err)
	}
	session := v.BackupSessions[0].Name
	var worst time.Duration
	for i := 0; i < 3; i++ {
		w := openWatch(ctx, t, kas, "watch=1&fieldSelector=metadata.name%3Dpostgres-backup&resourceVersion="+v.ResourceVersion)
		if out, err := c.Kubectl("patch", "backupstorages.storage.kubestash.com", "-n", "kubestash", "s3-shared", "--subresource=status", "--type=merge", "-p", fmt.Sprintf(`{"status":{"totalSize":"%d GiB"}}`, 100+i)); err != nil {
			t.Fatal(err, out)
		}
		phase := []string{"Failed", "Succeeded", "Running"}[i]
		t0 := time.Now()
		if out, err := c.Kubectl("patch", "backupsessions.core.kubestash.com", "-n", "prod", session, "--subresource=status", "--type=merge", "-p", fmt.Sprintf(`{"status":{"phase":%q}}`, phase)); err != nil {
			t.Fatal(err, out)
		}
		_, ok := w.waitFor(10*time.Second, func(evs []watchEvent) bool {
			for _, e := range evs {
				if strings.Contains(string(e.Object), fmt.Sprintf(`"name":%q`, session)) && strings.Contains(string(e.Object), fmt.Sprintf(`"phase":%q`, phase)) {
					return true
				}
			}
			return false
		})
		d := time.Since(t0)
		if !ok {
			t.Fatalf("change %d: the session's phase %s never showed in prod/postgres-backup's view", i, phase)
		}
		worst = max(worst, d)
		t.Logf("change %d: prod/postgres-backup showed its session %s in %v while the 5,000-session view rebuilt", i, phase, d)
		cur, err := c.BV.UiV1alpha1().BackupConfigurationViews("prod").Get(ctx, "postgres-backup", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v = cur
	}
	if worst > time.Second {
		t.Errorf("a BackupSession change took %v to show while a 5,000-session view rebuilt; want within 1 s", worst)
	}
}

func runtimeDeepCopy(m map[string]interface{}) map[string]interface{} {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
