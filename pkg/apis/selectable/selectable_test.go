package selectable

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/fields"
)

type obj struct{ name, phase string }

var table = Fields[*obj]{
	{"metadata.name", func(o *obj) string { return o.name }},
	{"status.phase", func(o *obj) string { return o.phase }},
}

func set(o *obj) fields.Set {
	s := fields.Set{}
	for _, f := range table {
		s[f.Name] = f.Value(o)
	}
	return s
}

// The matcher agrees with the selector's own evaluation over a fields.Set of every field.
func TestMatcherAgreesWithSelector(t *testing.T) {
	objs := []*obj{{"a", "Ready"}, {"b", "Ready"}, {"a", "Failed"}, {"", ""}}
	for _, s := range []string{"", "metadata.name=a", "metadata.name==a", "metadata.name!=a", "metadata.name=a,status.phase=Ready",
		"metadata.name!=a,status.phase!=Ready", "status.phase=", "status.phase!=", "metadata.name=a,metadata.name=b"} {
		sel, err := fields.ParseSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		match, err := table.Matcher(sel)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		for _, o := range objs {
			if got, want := match(o), sel.Matches(set(o)); got != want {
				t.Errorf("%q on %+v: got %v, want %v", s, *o, got, want)
			}
		}
	}
}

func TestUnsupportedNamesTheSupported(t *testing.T) {
	_, err := table.Matcher(fields.ParseSelectorOrDie("metadata.name=a,spec.x=y"))
	var u *UnsupportedError
	if !errors.As(err, &u) || u.Field != "spec.x" || !strings.Contains(err.Error(), "metadata.name, status.phase") {
		t.Errorf("matcher: %v", err)
	}
	if _, _, err := table.ConvertLabel("spec.x", "y"); !errors.As(err, &u) || u.Field != "spec.x" {
		t.Errorf("conversion: %v", err)
	}
	if l, v, err := table.ConvertLabel("status.phase", "Ready"); err != nil || l != "status.phase" || v != "Ready" {
		t.Errorf("conversion of a supported field: %s %s %v", l, v, err)
	}
}

func TestMatcherDoesNotAllocate(t *testing.T) {
	match, _ := table.Matcher(fields.ParseSelectorOrDie("metadata.name=a,status.phase!=Failed"))
	o := &obj{"a", "Ready"}
	if n := testing.AllocsPerRun(100, func() { match(o) }); n != 0 {
		t.Errorf("%v allocations per match", n)
	}
}
