package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// paramsJSON returns the params object's JSON, or nil when no params are given. A RawExtension
// decoded from JSON holds Raw; "null" decodes to an empty Raw and counts as not given.
func paramsJSON(re *runtime.RawExtension) ([]byte, error) {
	switch {
	case re == nil:
		return nil, nil
	case len(re.Raw) > 0:
		return re.Raw, nil
	case re.Object != nil:
		return json.Marshal(re.Object)
	}
	return nil, nil
}

// parseParams decodes params (JSON) or paramsText (YAML or JSON) into an object. Numbers stay
// json.Number so nothing is rounded before the final normalisation in Render.
func parseParams(data []byte, isText bool) (map[string]interface{}, error) {
	if isText && !json.Valid(data) {
		// YAML anchors and aliases are expanded by the decoder: goyaml's alias-ratio guard
		// stops the classic billion laughs, but not a long anchored string aliased a few
		// hundred times (under 1000 decode steps the guard is off): 200 KiB became 185 MB.
		// Parameters never need them, so reject them on the unexpanded node tree first.
		// That parse is skipped when the text can hold neither anchors, aliases nor a
		// second document: it would double the parsing cost.
		if bytes.ContainsAny(data, "&*") || hasDocMarker(data) {
			if err := rejectAnchors(data); err != nil {
				return nil, err
			}
		}
		j, err := yaml.YAMLToJSONStrict(data) // strict: a duplicate key is an error, not a silent overwrite
		if err != nil {
			return nil, fmt.Errorf("not valid YAML or JSON: %v", trimYAMLErr(err))
		}
		data = j
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("must hold a single JSON value")
	}
	obj, ok := v.(map[string]interface{})
	if !ok {
		return nil, errors.New(errNotObject(kindOf(v)))
	}
	if d := depth(obj); d > MaxParamsDepth {
		return nil, errors.New(errTooDeep(d))
	}
	return obj, nil
}

// The refusals that both parseParams and the shape scan (shape.refusal) give.
const errAnchors = "must not use YAML anchors or aliases (&name, *name)"

var errTooManyValues = fmt.Sprintf("the params of all tasks together may hold at most %d values (objects, lists and scalars)", MaxParamsValues)

func errNotObject(kind string) string {
	return "must be an object (a mapping of parameter names to values), not " + kind
}

func errTooDeep(d int) string {
	return fmt.Sprintf("must not be nested more than %d levels deep (found %d)", MaxParamsDepth, d)
}

// refusal is what parseParams would answer for a text of this shape, in its order; "" when
// it would decode an object within the depth limit, or when the decoder has to tell (a
// scalar at the top: cheap to decode).
func (sh shape) refusal() string {
	switch {
	case sh.anchor:
		return errAnchors
	case sh.top == 'l':
		return errNotObject("a list")
	case sh.top == 'm' && sh.depth > MaxParamsDepth:
		return errTooDeep(sh.depth)
	}
	return ""
}

// rejectAnchors parses YAML into goyaml v3's node tree, which keeps aliases unexpanded, and
// fails on any anchor or alias. It also fails on a second document, which YAMLToJSON would
// silently drop.
func rejectAnchors(data []byte) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var n yamlv3.Node
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("not valid YAML or JSON: %v", trimYAMLErr(err))
	}
	if hasAnchor(&n) {
		return errors.New(errAnchors)
	}
	var extra yamlv3.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return errors.New("must hold a single YAML document")
	}
	return nil
}

// hasDocMarker reports a line starting with "---" or "...", which may start or end a document.
func hasDocMarker(data []byte) bool {
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) {
			return true
		}
	}
	return false
}

func hasAnchor(n *yamlv3.Node) bool {
	if n.Anchor != "" || n.Kind == yamlv3.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchor(c) {
			return true
		}
	}
	return false
}

func trimYAMLErr(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "), "yaml: ")
}

// depth counts nesting levels of objects and lists; the top-level object is level 1.
func depth(v interface{}) int {
	d := 0
	switch t := v.(type) {
	case map[string]interface{}:
		for _, c := range t {
			d = max(d, depth(c))
		}
	case []interface{}:
		for _, c := range t {
			d = max(d, depth(c))
		}
	default:
		return 0
	}
	return d + 1
}

// countValues counts objects, lists and scalars.
func countValues(v interface{}) int {
	n := 1
	switch t := v.(type) {
	case map[string]interface{}:
		for _, c := range t {
			n += countValues(c)
		}
	case []interface{}:
		for _, c := range t {
			n += countValues(c)
		}
	}
	return n
}

func kindOf(v interface{}) string {
	switch v.(type) {
	case []interface{}:
		return "a list"
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
