package render

import (
	"context"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kubestash/backupview/pkg/apis/ui"
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

// waitAtMost gives up after d or when ctx ends, with 429 Too Many Requests.
func waitAtMost(ctx context.Context, d time.Duration) waitFunc {
	return func() (func(), error) {
		select {
		case heavy <- struct{}{}:
			return releaseHeavy, nil
		default:
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case heavy <- struct{}{}:
			return releaseHeavy, nil
		case <-t.C:
		case <-ctx.Done():
		}
		return nil, apierrors.NewTooManyRequests("the server is busy with other previews that have large task params; retry", retryAfterSeconds)
	}
}

// RenderContext is Render for API requests: work behind the heavy gate waits at most HeavyWait
// (or until ctx ends), then err is a 429 Too Many Requests with Retry-After. err is nil
// whenever the form was checked: the answer is then the manifest or errs, exactly as Render's.
func RenderContext(ctx context.Context, p *ui.BackupConfigurationPreview) (*Manifest, field.ErrorList, error) {
	return render(p, waitAtMost(ctx, HeavyWait))
}

// The body gate. Before the storage sees a preview, the generic create handler decodes it and
// computes its managedFields, walking every params value: ~150 MiB of allocations per MiB of
// params (measured: 38 MiB for a 256 KiB params list, 143 MiB for a 960 KiB one), out of
// Render's reach. So preview creates take turns by body size: at most bodyBudget bytes of
// bodies at a time; a form of a few KiB never waits behind another.
const (
	bodyBudget = 1 << 20 // the body limit (MaxRequestBodyBytes): one largest body at a time
	// BodyWait is how long a preview waits for the body gate before answering 429.
	BodyWait = 10 * time.Second
)

var bodies = &weighted{max: bodyBudget}

// PreviewBodies wraps the API handler (inside authentication and authorization, so that only
// authorized callers take turns) to send preview creates through the body gate; one that
// waits more than BodyWait gets 429 Too Many Requests with Retry-After.
func PreviewBodies(h http.Handler, s runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPreviewCreate(r) {
			h.ServeHTTP(w, r)
			return
		}
		n := r.ContentLength
		if n < 0 || n > bodyBudget { // unknown (chunked) or over the limit: the most it may read
			n = bodyBudget
		}
		if !bodies.acquire(r.Context(), n, BodyWait) {
			err := apierrors.NewTooManyRequests("the server is busy with other large previews; retry", retryAfterSeconds)
			responsewriters.ErrorNegotiated(err, s, schema.GroupVersion{Group: ui.GroupName, Version: "v1alpha1"}, w, r)
			return
		}
		defer bodies.release(n)
		h.ServeHTTP(w, r)
	})
}

func isPreviewCreate(r *http.Request) bool {
	info, ok := genericapirequest.RequestInfoFrom(r.Context())
	return ok && info.IsResourceRequest && info.Verb == "create" && info.APIGroup == ui.GroupName &&
		(info.Resource == "backupconfigurationpreviews" || (info.Resource == "backupconfigurationviews" && info.Subresource == "preview"))
}

// weighted is a first-come first-served weighted semaphore.
type weighted struct {
	mu    sync.Mutex
	max   int64
	used  int64
	queue []*weightWaiter
}

type weightWaiter struct {
	n     int64
	ready chan struct{}
}

// acquire takes n (at most max) within d, or until ctx ends; false when it did not.
func (w *weighted) acquire(ctx context.Context, n int64, d time.Duration) bool {
	w.mu.Lock()
	if len(w.queue) == 0 && w.used+n <= w.max {
		w.used += n
		w.mu.Unlock()
		return true
	}
	ww := &weightWaiter{n: n, ready: make(chan struct{})}
	w.queue = append(w.queue, ww)
	w.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ww.ready:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-ww.ready: // granted meanwhile
		return true
	default:
	}
	for i, q := range w.queue {
		if q == ww {
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			break
		}
	}
	w.grant() // those behind it may fit now
	return false
}

func (w *weighted) release(n int64) {
	w.mu.Lock()
	w.used -= n
	w.grant()
	w.mu.Unlock()
}

// grant admits waiters in order while they fit.
func (w *weighted) grant() {
	for len(w.queue) > 0 && w.used+w.queue[0].n <= w.max {
		ww := w.queue[0]
		w.queue = w.queue[1:]
		w.used += ww.n
		close(ww.ready)
	}
}
