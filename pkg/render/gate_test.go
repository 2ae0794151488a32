package render

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	authuser "k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
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

// TestHeavyGateOneSlotPerUser (promise 30): a user holding a heavy slot waits for their own
// turn for the next one, while another user takes the free slot at once.
func TestHeavyGateOneSlotPerUser(t *testing.T) {
	as := func(user string, d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(genericapirequest.WithUser(context.Background(), &authuser.DefaultInfo{Name: user}), d)
	}
	ctx, cancel := as("tenant", time.Second)
	defer cancel()
	release, err := waitAtMost(ctx, time.Second)()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx2, cancel2 := as("tenant", 100*time.Millisecond)
	defer cancel2()
	if _, err := waitAtMost(ctx2, time.Second)(); !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "your other") {
		t.Errorf("the tenant's second heavy preview with a slot free: %v, want 429 (its own turn)", err)
	}
	ctx3, cancel3 := as("other", 100*time.Millisecond)
	defer cancel3()
	r3, err := waitAtMost(ctx3, time.Second)()
	if err != nil {
		t.Fatalf("another user's heavy preview with a slot free: %v", err)
	}
	r3()
}
