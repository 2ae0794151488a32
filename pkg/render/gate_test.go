package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// fillGate takes every heavy slot until the returned func gives them back.
func fillGate(t *testing.T) (release func()) {
	t.Helper()
	for range heavySlots {
		heavy <- struct{}{}
	}
	released := false
	release = func() {
		if !released {
			released = true
			for range heavySlots {
				<-heavy
			}
		}
	}
	t.Cleanup(release)
	return release
}

func withText(text string) *ui.BackupConfigurationPreview {
	p := validForm()
	task(p, 0, 0).Params = nil
	task(p, 0, 0).ParamsText = text
	return p
}

// TestHeavyGate: what the shape scan cannot bound waits for the gate, and RenderContext gives
// up with 429 and Retry-After; what it can refuse or bound never waits.
func TestHeavyGate(t *testing.T) {
	// A tab is outside what the scan models, so this 256 KiB list is decoded: behind the gate.
	unbounded := withText("a:\t[" + strings.Repeat("1,", (MaxParamsBytes-8)/2) + "1]")
	many := withText("a: [" + strings.Repeat("1,", heavyValues+10) + "1]") // valid, encoded behind the gate
	release := fillGate(t)

	for name, p := range map[string]*ui.BackupConfigurationPreview{"unbounded text": unbounded, "many values": many} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		_, errs, err := RenderContext(ctx, p)
		cancel()
		if !apierrors.IsTooManyRequests(err) || len(errs) > 0 {
			t.Errorf("%s with the gate full: want 429, got %v %v", name, err, errs)
		}
		if s, ok := apierrors.SuggestsClientDelay(err); !ok || s != retryAfterSeconds {
			t.Errorf("%s: Retry-After %d %v", name, s, ok)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: gave up after %s, not at the context's end", name, took)
		}
	}

	// Refused by shape, or small: no wait, the usual answers.
	for name, tk := range worstParams() {
		p := validForm()
		*task(p, 0, 0) = ui.PreviewTask{Name: "logical-backup", RepoName: "mongodb-repo", Params: tk.Params, ParamsText: tk.ParamsText}
		if _, errs, err := RenderContext(context.Background(), p); err != nil || len(errs) != 1 {
			t.Errorf("%s with the gate full: %v %v", name, err, errs)
		}
	}
	if m, errs, err := RenderContext(context.Background(), validForm()); err != nil || len(errs) > 0 || m == nil {
		t.Errorf("a small form with the gate full: %v %v", err, errs)
	}

	// Render cannot fail: it waits for a slot.
	done := make(chan int)
	go func() { errs := Validate(unbounded); done <- len(errs) }()
	select {
	case <-done:
		t.Fatal("Validate did not wait for the gate")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	if n := <-done; n != 1 {
		t.Errorf("after the wait: %d errors, want the value limit", n)
	}
	if _, errs, err := RenderContext(context.Background(), many); err != nil || len(errs) > 0 {
		t.Errorf("many values with the gate free: %v %v", err, errs)
	}
}

// TestWeighted: first come, first served, by weight; a waiter that gives up lets those behind
// it in.
func TestWeighted(t *testing.T) {
	w := &weighted{max: 10}
	ctx := context.Background()
	if !w.acquire(ctx, 6, time.Second) || !w.acquire(ctx, 4, time.Second) {
		t.Fatal("within the budget")
	}
	if w.acquire(ctx, 1, 50*time.Millisecond) {
		t.Fatal("over the budget")
	}
	w.release(4)
	got := make(chan int64, 3)
	for _, n := range []int64{8, 2, 3} { // 8 waits for 6 to leave; 2 and 3 queue behind it
		go func() {
			if w.acquire(ctx, n, 5*time.Second) {
				got <- n
			}
		}()
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case n := <-got:
		t.Fatalf("%d overtook the waiter at the head", n)
	case <-time.After(100 * time.Millisecond):
	}
	w.release(6)
	if a, b := <-got, <-got; a+b != 10 {
		t.Fatalf("admitted %d and %d, want 8 and 2", a, b)
	}
	w.release(8)
	if n := <-got; n != 3 {
		t.Fatalf("then %d, want 3", n)
	}
}

// TestPreviewBodies: preview creates take turns by body size and get 429 with Retry-After
// when they wait too long; other requests never wait.
func TestPreviewBodies(t *testing.T) {
	codecs := serializer.NewCodecFactory(runtime.NewScheme())
	served := 0
	h := PreviewBodies(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { served++ }), codecs)
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
	if !bodies.acquire(context.Background(), bodyBudget-100<<10, time.Second) {
		t.Fatal("taking most of the budget")
	}
	defer bodies.release(bodyBudget - 100<<10)
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
}
