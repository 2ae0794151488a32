package render

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The heavy gate. What the shape scan cannot bound costs up to ~47 MiB of allocations per
// params text (decoding 256 KiB of tiny YAML items), and rendering a form near
// MaxParamsValues ~40 MiB. The gate lets heavySlots of them run at a time, so a burst of such
// previews stays far below the server's memory limit (deploy/deployment.yaml) instead of
// multiplying. Everything else, including every refusal by shape, never waits.
const (
	heavySlots     = 2
	heavyTextBytes = 8 << 10 // a params text the scan could not bound, from this size on
	heavyValues    = 2000    // a valid form with more params values than this is encoded behind the gate

	// HeavyWait is how long RenderContext waits for the gate before answering 429.
	HeavyWait = 5 * time.Second
	// retryAfterSeconds is the Retry-After of that 429: the gate's holders finish in well under
	// a second each.
	retryAfterSeconds = 1
)

var heavy = make(chan struct{}, heavySlots)

// waitFunc takes a heavy slot; the caller calls release when done.
type waitFunc func() (release func(), err error)

func releaseHeavy() { <-heavy }

// waitForever is the gate for Render and Validate, which cannot fail: the work behind the gate
// is bounded, so the wait is too.
func waitForever() (func(), error) {
	heavy <- struct{}{}
	return releaseHeavy, nil
}

// heavyUsers holds, per user of the API, the one heavy slot they may hold or wait for at a
// time: a user who floods heavy previews waits behind their own, and another user's always
// finds a slot within one preview's time (heavySlots is more than one).
var heavyUsers = struct {
	sync.Mutex
	m map[string]*heavyUser
}{m: map[string]*heavyUser{}}

type heavyUser struct {
	turn chan struct{} // capacity 1
	refs int
}

func takeUser(name string) *heavyUser {
	heavyUsers.Lock()
	defer heavyUsers.Unlock()
	u := heavyUsers.m[name]
	if u == nil {
		u = &heavyUser{turn: make(chan struct{}, 1)}
		heavyUsers.m[name] = u
	}
	u.refs++
	return u
}

func dropUser(name string, u *heavyUser) {
	heavyUsers.Lock()
	defer heavyUsers.Unlock()
	if u.refs--; u.refs == 0 {
		delete(heavyUsers.m, name)
	}
}

// waitAtMost gives up after d or when ctx ends, with 429 Too Many Requests. The caller's own
// turn comes first (one heavy slot per user of ctx), then a slot.
func waitAtMost(ctx context.Context, d time.Duration) waitFunc {
	return func() (func(), error) {
		name := ""
		if u, ok := genericapirequest.UserFrom(ctx); ok {
			name = u.GetName()
		}
		u := takeUser(name)
		t := time.NewTimer(d)
		defer t.Stop()
		busy := func(whose string) (func(), error) {
			dropUser(name, u)
			return nil, apierrors.NewTooManyRequests("the server is busy with "+whose+" previews that have large task params; retry", retryAfterSeconds)
		}
		select {
		case u.turn <- struct{}{}:
		case <-t.C:
			return busy("your other")
		case <-ctx.Done():
			return busy("your other")
		}
		select {
		case heavy <- struct{}{}:
			return func() { releaseHeavy(); <-u.turn; dropUser(name, u) }, nil
		case <-t.C:
		case <-ctx.Done():
		}
		<-u.turn
		return busy("other users'")
	}
}

// RenderContext is Render for API requests: work behind the heavy gate waits at most HeavyWait
// (or until ctx ends), then err is a 429 Too Many Requests with Retry-After. err is nil
// whenever the form was checked: the answer is then the manifest or errs, exactly as Render's.
func RenderContext(ctx context.Context, p *ui.BackupConfigurationPreview) (*Manifest, field.ErrorList, error) {
	return render(p, waitAtMost(ctx, HeavyWait))
}
