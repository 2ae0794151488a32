package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/harness"
)

// TestNoUserTakesEveryWatch (promise 30): a user bound to the built-in view role in one
// namespace, as a hostile tenant would, opens watches through kube-apiserver until refused. It
// gets its share (--max-watches-per-user) and then 429 naming that limit, with Retry-After;
// the cluster admin's watch, and another namespace user's, are still served.
func TestNoUserTakesEveryWatch(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{Fixtures: []string{"hack/demo/samples.yaml"},
		ServerArgs: []string{"--max-watches=20", "--max-watches-per-user=5"}})
	// The shipped roles, aggregated into the built-in view by kube-controller-manager.
	if out, err := c.Kubectl("apply", "-f", filepath.Join(c.Root, "deploy", "rbac-aggregate.yaml")); err != nil {
		t.Fatal(err, out)
	}
	for _, u := range []string{"share-tenant", "share-other"} {
		mintCert(t, c, "ca", u, u)
		if out, err := c.Kubectl("create", "rolebinding", u, "-n", "demo", "--clusterrole=view", "--user="+u); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	kc := userKubeconfig(t, c, "share-tenant")
	if err := waitUntil(30*time.Second, func() error {
		if ok, err := canI(c, kc, access{verb: "watch", resource: "backupconfigurationviews.ui.kubestash.com", ns: "demo"}); err != nil || !ok {
			return fmt.Errorf("the view role does not reach backupconfigurationviews yet: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const path = "/apis/ui.kubestash.com/v1alpha1/namespaces/demo/backupconfigurationviews?watch=1"
	// open starts a watch and holds it until the test ends; it returns the status and, for a
	// refusal, the Status body and Retry-After.
	open := func(h *httpc) (int, string, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode == http.StatusOK {
			return r.StatusCode, "", "" // the body stays open: the watch is held
		}
		defer r.Body.Close()
		var st struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(r.Body).Decode(&st)
		return r.StatusCode, st.Message, r.Header.Get("Retry-After")
	}
	tenant := kasHTTP(t, c, "share-tenant")
	tenant.hc.Timeout = 0 // watches are held for the whole test
	held := 0
	for ; held < 20; held++ {
		code, msg, retry := open(tenant)
		if code == http.StatusOK {
			continue
		}
		if code != http.StatusTooManyRequests || !strings.Contains(msg, "--max-watches-per-user") || retry == "" {
			t.Fatalf("the tenant's watch %d: %d %q (Retry-After %q), want 429 naming --max-watches-per-user with Retry-After", held+1, code, msg, retry)
		}
		break
	}
	if held != 5 {
		t.Fatalf("the tenant holds %d watches, want its share of 5", held)
	}
	for _, u := range []string{"admin", "share-other"} {
		h := kasHTTP(t, c, u)
		h.hc.Timeout = 0
		if code, msg, _ := open(h); code != http.StatusOK {
			t.Errorf("%s's watch while the tenant holds its share: %d %q, want 200", u, code, msg)
		}
	}
}

// TestNoUserTakesEveryPreview (promise 30): a user with the built-in edit role in one namespace
// floods the largest previews the body limit allows, many at once, through kube-apiserver.
// Each costs the generic handler ~140 MiB of decoding, so they take turns (the body budget);
// the flooder holds one place in that queue, and another user's preview, sent in the middle of
// the flood, is rendered (201), not refused for the flooder's sake.
func TestNoUserTakesEveryPreview(t *testing.T) {
	need(t)
	c := startCluster(t, harness.Options{Fixtures: []string{"hack/demo/samples.yaml"}})
	if out, err := c.Kubectl("apply", "-f", filepath.Join(c.Root, "deploy", "rbac-aggregate.yaml")); err != nil {
		t.Fatal(err, out)
	}
	for _, u := range []string{"flood-tenant", "flood-other"} {
		mintCert(t, c, "ca", u, u)
		if out, err := c.Kubectl("create", "rolebinding", u, "-n", "demo", "--clusterrole=edit", "--user="+u); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	kc := userKubeconfig(t, c, "flood-other")
	if err := waitUntil(30*time.Second, func() error {
		if ok, err := canI(c, kc, access{verb: "create", resource: "backupconfigurationpreviews.ui.kubestash.com", ns: "demo"}); err != nil || !ok {
			return fmt.Errorf("the edit role does not reach previews yet: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	large := worstPreviews(t, c.Root)["960 KiB params list"]
	small := mustJSON(validForm(t, c.Root))
	// Through kube-apiserver, whose priority and fairness already queues each user apart; and
	// straight to backupview (a pod is reachable in the cluster), where only its own gate does.
	direct := func(user string) *httpc {
		return newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", c.Ports.Server), filepath.Join(c.Dir, "pki", "backupview-ca.crt"), user)
	}
	for _, path := range []struct {
		name          string
		tenant, other *httpc
		flooders      int
	}{
		{"through kube-apiserver", kasHTTP(t, c, "flood-tenant"), kasHTTP(t, c, "flood-other"), 24},
		{"straight to backupview", direct("flood-tenant"), direct("flood-other"), 160},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var sent, refused atomic.Int64
		for range path.flooders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					r := path.tenant.do(ctx, http.MethodPost, previewsPath, "application/json", bytes.NewReader(large))
					if ctx.Err() != nil {
						return
					}
					sent.Add(1)
					if r.code == http.StatusTooManyRequests {
						refused.Add(1)
					}
				}
			}()
		}
		// Let the flood fill the queue (each of its previews holds the budget for as long as
		// its decoding takes; the answered ones are counted below, the rest are cut off).
		time.Sleep(3 * time.Second)
		codes := map[int]int{}
		for range 5 {
			r := path.other.do(context.Background(), http.MethodPost, previewsPath, "application/json", bytes.NewReader(small))
			codes[r.code]++
			if r.code != http.StatusCreated {
				t.Errorf("%s: the other user's preview during the flood: %d %s, want 201", path.name, r.code, short(r.body))
			}
		}
		cancel()
		wg.Wait()
		t.Logf("%s: %d flooders answered %d previews of %d KiB (%d refused with 429); the other user's: %v",
			path.name, path.flooders, sent.Load(), len(large)>>10, refused.Load(), codes)
	}
}
