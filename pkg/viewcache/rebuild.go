package viewcache

import (
	"context"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// ReleaseAfterFirstBuild returns the start-up garbage to the OS once the first build is done.
var ReleaseAfterFirstBuild = true

// rebuilder turns dirty keys into rebuilt objects: batches built by a pool of workers, each
// batch published in candidate order once built, or after SliceBudget with the objects still
// building published when they are done (docs/design.md, "Rebuilds: no view stalls the
// others").
type rebuilder[T Object] struct {
	c *Cache[T]

	mu       sync.Mutex
	dirty    map[string]uint64 // key -> newest revision that dirtied it
	inFlight map[string]bool   // keys of objects still building after their batch was published
	kick     chan struct{}

	jobs chan job[T]
	late chan built[T]
}

type job[T Object] struct {
	key   string
	cause uint64
	done  chan<- built[T]
}

func newRebuilder[T Object](c *Cache[T]) *rebuilder[T] {
	return &rebuilder[T]{c: c, dirty: map[string]uint64{}, inFlight: map[string]bool{}, kick: make(chan struct{}, 1),
		jobs: make(chan job[T]), late: make(chan built[T], 64)}
}

// notify records that a change at revision rv may affect keys.
func (r *rebuilder[T]) notify(keys []string, rv uint64) {
	r.mu.Lock()
	for _, k := range keys {
		if old, ok := r.dirty[k]; !ok || rv > old {
			r.dirty[k] = rv
		}
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *rebuilder[T]) run(ctx context.Context) {
	for i := 0; i < r.c.opts.Workers; i++ {
		go r.worker(ctx)
	}
	r.first(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-r.late:
			r.c.publish([]built[T]{b})
			r.mu.Lock()
			delete(r.inFlight, b.key)
			_, again := r.dirty[b.key]
			r.mu.Unlock()
			if again {
				r.poke()
			}
		case <-r.kick:
			r.batch(ctx)
		}
	}
}

func (r *rebuilder[T]) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *rebuilder[T]) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-r.jobs:
			b := built[T]{key: j.key, cause: j.cause}
			b.obj, b.srcRV, b.ok = r.c.b.Build(j.key)
			j.done <- b // buffered for the whole batch: never blocks
		}
	}
}

// submit hands keys to the workers and returns the channel their results arrive on.
func (r *rebuilder[T]) submit(ctx context.Context, keys []string, causes []uint64) <-chan built[T] {
	done := make(chan built[T], len(keys))
	go func() {
		for i, k := range keys {
			select {
			case r.jobs <- job[T]{key: k, cause: causes[i], done: done}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return done
}

// first builds every object once; changes noticed before it started are folded into it.
func (r *rebuilder[T]) first(ctx context.Context) {
	start := time.Now()
	floor := floorOf(r.c.b.ListedResourceVersion())
	r.mu.Lock()
	clear(r.dirty)
	r.mu.Unlock()
	keys := r.c.b.Keys()
	done := r.submit(ctx, keys, make([]uint64, len(keys)))
	entries := make([]*Entry[T], 0, len(keys))
	for range keys {
		var b built[T]
		select {
		case b = <-done:
		case <-ctx.Done():
			return
		}
		if !b.ok {
			continue // deleted meanwhile
		}
		e := &Entry[T]{Key: b.key, Object: b.obj, RV: candidate(b.srcRV, b.key)}
		e.Object.SetResourceVersion(formatRV(e.RV))
		entries = append(entries, e)
	}
	r.c.publishFirst(entries, floor)
	klog.InfoS("first build published", "resource", r.c.resource, "count", len(entries), "resourceVersion", r.c.Current().RV, "took", time.Since(start))
	if ReleaseAfterFirstBuild {
		// Syncing decoded every source object once (whole lists at a time): that garbage is
		// not needed again, so collect it and hand its pages back to the OS now rather than
		// whenever the scavenger gets to it. Once, in the background.
		go debug.FreeOSMemory()
	}
	if r.c.onBatch != nil {
		r.c.onBatch(len(entries), time.Since(start))
	}
}

// batch rebuilds the dirty objects (except those still building) and publishes them.
func (r *rebuilder[T]) batch(ctx context.Context) {
	r.mu.Lock()
	keys := make([]string, 0, len(r.dirty))
	for k := range r.dirty {
		if !r.inFlight[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	causes := make([]uint64, len(keys))
	for i, k := range keys {
		causes[i] = r.dirty[k]
		delete(r.dirty, k)
	}
	r.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	done := r.submit(ctx, keys, causes)
	budget := time.NewTimer(r.c.opts.SliceBudget)
	defer budget.Stop()
	results := make([]built[T], 0, len(keys))
	for len(results) < len(keys) {
		select {
		case b := <-done:
			results = append(results, b)
		case <-budget.C:
			r.straggle(ctx, keys, results, done)
			r.c.publish(results)
			return
		case <-ctx.Done():
			return
		}
	}
	r.c.publish(results)
}

// straggle marks the objects still building as in flight and forwards their results to the
// loop as they finish, to be published on their own.
func (r *rebuilder[T]) straggle(ctx context.Context, keys []string, got []built[T], done <-chan built[T]) {
	have := make(map[string]bool, len(got))
	for _, b := range got {
		have[b.key] = true
	}
	r.mu.Lock()
	n := 0
	for _, k := range keys {
		if !have[k] {
			r.inFlight[k] = true
			n++
		}
	}
	r.mu.Unlock()
	klog.V(2).InfoS("objects still building after the slice budget; publishing the others", "resource", r.c.resource, "building", n, "published", len(got))
	go func() {
		for i := 0; i < n; i++ {
			select {
			case b := <-done:
				select {
				case r.late <- b:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
}
