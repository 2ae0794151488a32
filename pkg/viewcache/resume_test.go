package viewcache

import (
	"testing"
	"time"
)

// A client lists right after the first build, a change lands, then it watches from the
// list's version: nothing was dropped from the history, so that is a resume, not a 410.
func TestWatchResumesFromTheFirstBuild(t *testing.T) {
	s, c, ctx := start(t, Options{History: 10})
	listed := c.Current().RV // 12
	s.session("a/one", "s", "20", "Running")
	c.Notify([]string{"a/one"}, 0, false)
	for c.Current().RV != 20 {
		time.Sleep(5 * time.Millisecond)
	}
	w, err := c.Watch(ctx, WatchOptions{ResourceVersion: listed}, nil)
	if err != nil {
		t.Fatalf("watch from the first build's version %d: %v", listed, err)
	}
	defer w.Stop()
	if got := name(next(t, w)); got != "MODIFIED a/one@20" {
		t.Errorf("got %s", got)
	}
}
