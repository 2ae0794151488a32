// Package selectable is a kind's selectable fields (field selectors) as one table: it drives
// the scheme's field-label conversion, the storage's matching and the error that names the
// supported fields. It is a package of its own because deepcopy-gen would generate copies of
// the tables' generic types in an API package.
package selectable

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"
)

// Field is one field selector and how it reads an object. It is an alias of a struct literal
// type so that the tables in API packages may list their rows unkeyed ({"metadata.name",
// func...}): vet flags unkeyed literals of another package's named struct types.
type Field[T any] = struct {
	Name  string
	Value func(T) string
}

// Fields are the field selectors of a kind, in the order errors name them.
type Fields[T any] []Field[T]

// Names lists the supported field selectors, in table order.
func (fs Fields[T]) Names() []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// Lookup returns the field selector name; ok is false for an unsupported one.
func (fs Fields[T]) Lookup(name string) (f Field[T], ok bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Field[T]{}, false
}

// UnsupportedError is a field selector the table does not have.
type UnsupportedError struct {
	Field     string
	Supported []string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("field selector %q is not supported; supported fields: %s", e.Field, strings.Join(e.Supported, ", "))
}

// ConvertLabel is the scheme's field-label conversion for the kind: supported fields pass
// unchanged, any other is refused naming the supported ones (a 400).
func (fs Fields[T]) ConvertLabel(label, value string) (string, string, error) {
	if _, ok := fs.Lookup(label); !ok {
		return "", "", &UnsupportedError{Field: label, Supported: fs.Names()}
	}
	return label, value, nil
}

// Matcher turns sel into a function of an object that reads each field straight from the
// table: a field selector is evaluated against every object of a LIST and every event of a
// watch, so it must not allocate per object (a fields.Set would, and so would handing
// sel.Matches a fields.Fields). A parsed selector is an and of = and != terms, which is what
// its Requirements list. A field the table lacks is an *UnsupportedError.
func (fs Fields[T]) Matcher(sel fields.Selector) (func(T) bool, error) {
	type term struct {
		value func(T) string
		want  string
		equal bool
	}
	var terms []term
	for _, r := range sel.Requirements() {
		f, ok := fs.Lookup(r.Field)
		if !ok {
			return nil, &UnsupportedError{Field: r.Field, Supported: fs.Names()}
		}
		switch r.Operator {
		case selection.Equals, selection.DoubleEquals:
			terms = append(terms, term{f.Value, r.Value, true})
		case selection.NotEquals:
			terms = append(terms, term{f.Value, r.Value, false})
		default:
			return nil, fmt.Errorf("field selector %q: operator %q is not supported", r.Field, r.Operator)
		}
	}
	return func(obj T) bool {
		for _, t := range terms {
			if (t.value(obj) == t.want) != t.equal {
				return false
			}
		}
		return true
	}, nil
}
