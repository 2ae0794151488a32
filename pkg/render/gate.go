package render

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

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
