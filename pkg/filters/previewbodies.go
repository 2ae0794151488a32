// Package filters holds backupview's own HTTP filters of the API handler chain.
package filters

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// Before the preview storage sees a form, the generic create handler decodes it and computes
// its managedFields, walking every params value: ~150 MiB of allocations per MiB of params
// (measured: 38 MiB for a 256 KiB params list, 143 MiB for a 960 KiB one), out of the
// renderer's reach; the update and patch handlers (a PUT or PATCH of a preview renders too,
// docs/design.md "Preview: every write renders") do the same. So
// preview writes take turns by body size: at most BodyBudget bytes of bodies at a time
// (FIFO, one place in the queue per user); a form of a few KiB never waits behind another.
const (
	// BodyBudget is both the server's body limit (MaxRequestBodyBytes, set from it) and
	// the bodies decoded at a time: one largest body at a time.
	BodyBudget = 1 << 20
	// BodyWait is how long a preview waits for its turn before answering 429.
	BodyWait = 10 * time.Second
	// retryAfter is the 429's Retry-After: the bodies ahead finish in well under a second.
	retryAfter = 1
)

// PreviewBodies wraps the API handler (inside authentication and authorization, so that only
// authorized callers take turns) to send preview writes (create, update, patch) through one
// body budget; a write that waits more than BodyWait gets 429 Too Many Requests with
// Retry-After.
func PreviewBodies(h http.Handler, s runtime.NegotiatedSerializer) http.Handler {
	return previewBodies(h, s, newBodyGate(BodyBudget))
}

// bodyGate is the body budget, taken in two turns: a user's own (each user may queue at most
// one budget of bodies), then everyone's (FIFO). A user who floods large previews therefore
// waits behind their own, and holds at most one place in the shared queue: another user's
// preview waits for at most one body of theirs.
type bodyGate struct {
	all   *semaphore.Weighted
	mu    sync.Mutex
	users map[string]*userBudget
}

type userBudget struct {
	sem  *semaphore.Weighted
	refs int
}

func newBodyGate(budget int64) *bodyGate {
	return &bodyGate{all: semaphore.NewWeighted(budget), users: map[string]*userBudget{}}
}

// acquire takes n bytes of user's budget, then of everyone's; release gives both back.
func (g *bodyGate) acquire(ctx context.Context, user string, n int64) (release func(), err error) {
	g.mu.Lock()
	u := g.users[user]
	if u == nil {
		u = &userBudget{sem: semaphore.NewWeighted(BodyBudget)}
		g.users[user] = u
	}
	u.refs++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if u.refs--; u.refs == 0 {
			delete(g.users, user)
		}
		g.mu.Unlock()
	}
	if err := u.sem.Acquire(ctx, n); err != nil {
		done()
		return nil, errors.New("the same user's previews are ahead")
	}
	if err := g.all.Acquire(ctx, n); err != nil {
		u.sem.Release(n)
		done()
		return nil, errors.New("other users' previews are ahead")
	}
	return func() { g.all.Release(n); u.sem.Release(n); done() }, nil
}

func previewBodies(h http.Handler, s runtime.NegotiatedSerializer, gate *bodyGate) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPreviewWrite(r) {
			h.ServeHTTP(w, r)
			return
		}
		n := r.ContentLength
		if n < 0 || n > BodyBudget { // unknown (chunked) or over the limit: the most it may read
			n = BodyBudget
		}
		user := ""
		if u, ok := genericapirequest.UserFrom(r.Context()); ok {
			user = u.GetName()
		}
		ctx, cancel := context.WithTimeout(r.Context(), BodyWait)
		release, err := gate.acquire(ctx, user, n)
		cancel()
		if err != nil {
			err := apierrors.NewTooManyRequests(fmt.Sprintf("the server is busy with large previews (%v); retry", err), retryAfter)
			responsewriters.ErrorNegotiated(err, s, ui.SchemeGroupVersion, w, r)
			return
		}
		defer release()
		h.ServeHTTP(w, r)
	})
}

// isPreviewWrite: a request with a form body for a preview path: the BackupConfiguration and
// the restore previews, each a top-level resource and a view subresource. The subresources
// serve only POST; a PUT or PATCH there is matched anyway (and refused by the router), so that
// the budget never depends on which methods a path serves.
func isPreviewWrite(r *http.Request) bool {
	info, ok := genericapirequest.RequestInfoFrom(r.Context())
	if !ok || !info.IsResourceRequest || info.APIGroup != ui.GroupName {
		return false
	}
	switch info.Verb {
	case "create", "update", "patch":
	default:
		return false
	}
	switch {
	case info.Resource == ui.PreviewsResource.Resource, info.Resource == ui.RestorePreviewsResource.Resource:
		return info.Subresource == ""
	case info.Resource == ui.ViewsResource.Resource:
		return info.Subresource == ui.PreviewSubresource || info.Subresource == ui.RestorePreviewSubresource
	}
	return false
}
