package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
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
