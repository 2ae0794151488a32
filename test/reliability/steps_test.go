package reliability

import "testing"

// steps runs a test's checks as t.Run steps, in order, so that a failing check ends only its
// own step and every later one still reports. A step that needs what an earlier one set up
// (an open watch, a change that was made) says so with after: it is skipped, naming the
// step it waited for, when that one did not pass.
type steps struct {
	t      *testing.T
	passed map[string]bool
}

func newSteps(t *testing.T) *steps { return &steps{t: t, passed: map[string]bool{}} }

// run runs f as the step name and reports whether it passed (not failed, not skipped).
func (s *steps) run(name string, f func(t *testing.T)) bool {
	s.t.Helper()
	skipped := false
	ok := s.t.Run(name, func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		f(t)
	})
	s.passed[name] = ok && !skipped
	return s.passed[name]
}

// after skips t unless every named earlier step passed.
func (s *steps) after(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if passed, ran := s.passed[n]; !ran {
			t.Fatalf("test bug: step %q has not run before this one", n)
		} else if !passed {
			t.Skipf("skipped: it needs step %q, which did not pass", n)
		}
	}
}
