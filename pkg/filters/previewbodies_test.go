package filters

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	authuser "k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// TestPreviewBodies: preview writes take turns by body size and get 429 with Retry-After
// when they wait too long; other requests never wait.
func TestPreviewBodies(t *testing.T) {
	codecs := serializer.NewCodecFactory(runtime.NewScheme())
	served := 0
	gate := newBodyGate(BodyBudget)
	bodies := gate.all
	h := previewBodies(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served++ }), codecs, gate)
	req := func(info *genericapirequest.RequestInfo, size int64) *httptest.ResponseRecorder {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(genericapirequest.WithRequestInfo(ctx, info), http.MethodPost, "/x", strings.NewReader(""))
		r.ContentLength = size
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	preview := &genericapirequest.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: ui.GroupName, Resource: "backupconfigurationviews", Subresource: "preview"}
	other := &genericapirequest.RequestInfo{IsResourceRequest: true, Verb: "list", APIGroup: ui.GroupName, Resource: "backupconfigurationviews"}
	if rec := req(preview, 300<<10); rec.Code != 200 || served != 1 {
		t.Fatalf("a free gate: %d", rec.Code)
	}
	if err := bodies.Acquire(context.Background(), BodyBudget-100<<10); err != nil {
		t.Fatal("taking most of the budget")
	}
	defer bodies.Release(BodyBudget - 100<<10)
	if rec := req(preview, 50<<10); rec.Code != 200 {
		t.Errorf("a small preview beside a large one: %d", rec.Code)
	}
	if rec := req(preview, 300<<10); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("a large preview with the budget used: %d %v", rec.Code, rec.Header())
	}
	if rec := req(preview, -1); rec.Code != 429 {
		t.Errorf("a body of unknown length counts as the largest: %d", rec.Code)
	}
	if rec := req(other, -1); rec.Code != 200 {
		t.Errorf("not a preview: %d", rec.Code)
	}
	// Every write of a form takes its turn: PUT and PATCH render as POST does, for both
	// previews, and the restore preview's subresource too.
	for _, verb := range []string{"create", "update", "patch"} {
		for _, resource := range []string{"backupconfigurationpreviews", "restoresessionpreviews"} {
			top := &genericapirequest.RequestInfo{IsResourceRequest: true, Verb: verb, APIGroup: ui.GroupName, Resource: resource, Name: "x"}
			if rec := req(top, 300<<10); rec.Code != 429 {
				t.Errorf("%s of a %s with the budget used: %d", verb, resource, rec.Code)
			}
		}
	}
	restoreSub := &genericapirequest.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: ui.GroupName, Resource: "backupconfigurationviews", Name: "x", Subresource: "restore-preview"}
	if rec := req(restoreSub, 300<<10); rec.Code != 429 {
		t.Errorf("a restore preview of a view with the budget used: %d", rec.Code)
	}
	for _, info := range []*genericapirequest.RequestInfo{
		{IsResourceRequest: true, Verb: "get", APIGroup: ui.GroupName, Resource: "backupconfigurationpreviews", Name: "x"},
		{IsResourceRequest: true, Verb: "patch", APIGroup: "other.example.com", Resource: "backupconfigurationpreviews", Name: "x"},
		{IsResourceRequest: true, Verb: "patch", APIGroup: ui.GroupName, Resource: "backupconfigurationviews", Name: "x"},
		{IsResourceRequest: true, Verb: "get", APIGroup: ui.GroupName, Resource: "restoresessionpreviews", Name: "x"},
		{IsResourceRequest: true, Verb: "create", APIGroup: ui.GroupName, Resource: "restoresessionpreviews", Name: "x", Subresource: "status"},
	} {
		if rec := req(info, -1); rec.Code != 200 {
			t.Errorf("not a preview write (%s %s/%s): %d", info.Verb, info.APIGroup, info.Resource, rec.Code)
		}
	}
}

// TestPreviewBodiesOnePlacePerUser (promise 30): a user who floods large previews holds one
// place in the shared queue; another user's preview, queued after all of theirs, goes next.
func TestPreviewBodiesOnePlacePerUser(t *testing.T) {
	codecs := serializer.NewCodecFactory(runtime.NewScheme())
	gate := newBodyGate(BodyBudget)
	served := make(chan string, 8)
	proceed := make(chan struct{})
	h := previewBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := genericapirequest.UserFrom(r.Context())
		served <- u.GetName() + " " + r.URL.Path
		<-proceed
	}), codecs, gate)
	info := &genericapirequest.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: ui.GroupName, Resource: "backupconfigurationpreviews"}
	send := func(user, path string) {
		ctx := genericapirequest.WithUser(genericapirequest.WithRequestInfo(context.Background(), info), &authuser.DefaultInfo{Name: user})
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(""))
		r.ContentLength = BodyBudget
		go h.ServeHTTP(httptest.NewRecorder(), r)
	}
	refs := func(user string, want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			gate.mu.Lock()
			n := 0
			if u := gate.users[user]; u != nil {
				n = u.refs
			}
			gate.mu.Unlock()
			if n == want {
				time.Sleep(20 * time.Millisecond) // from the count to the semaphore's queue
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s has %d previews waiting, want %d", user, n, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	send("tenant", "/1")
	if got := <-served; got != "tenant /1" {
		t.Fatalf("first served: %s", got)
	}
	send("tenant", "/2")
	send("tenant", "/3")
	refs("tenant", 3)
	send("other", "/1")
	refs("other", 1)
	proceed <- struct{}{} // tenant /1 done
	if got := <-served; got != "other /1" {
		t.Errorf("served after the tenant's first preview: %s, want the other user's (queued after the tenant's two more)", got)
	}
	close(proceed)
}
