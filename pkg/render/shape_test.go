package render

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// shapeCorpus: params texts as people write them, and the odd corners of YAML the scanner
// models. Each must scan to exactly what decoding gives.
var shapeCorpus = []string{
	"a: 1",
	"args: --db=testdb --exclude=*.tmp\nenableCache: true\nport: 27017\nratio: 0.5\nbig: 12345678901234\nlist: [a, b]\nempty: {}\nhtml: a&b<c>",
	"paths: [/data]\nexclude: {a: [1, 2.5e3, true, null]}\n",
	"paths: [/source/data]\nexclude: /source/data/lost+found\nnested: {a: {b: [1, 2.5, true, null]}}",
	"---\na: 1\n",
	"--- # the document\na: 1\n",
	"# leading comment\n\na: 1 # trailing\nb:   # empty value\nc: 'it''s'\nd: \"x # not a comment\"\n",
	"a:\n  b:\n    c: [1, {d: e}]\n  f: g\nh: i",
	"a:\n- 1\n- - 2\n  - 3\n-\n- x: 1\n  z: 2\nb: z",
	"list:\n  - a\n  - b: c\n    d: [e, f]\n  -   g\n",
	"a: |\n  line one\n  # not a comment\n\n  line three\nb: >-\n  folded\n  text\nc: |+\n\nd: 1",
	"a: foo\n  bar\n  baz\nb: plain with spaces  \nc: a:b:c\nd: a#b\ne: http://x.y/z?q=1",
	"a: 'multi\n  line'\nb: \"multi\n  line \\\" escaped\"\n",
	"a: {b: 1, c: , d}\ne: [1, [2, [3, []]], {}]\nf: [a, b, ]\n",
	"a: [1,\n  2,\n  3]\nb: {\n  c: 1,\n  d: 2\n}\n",
	"'quoted key': 1\n\"dq key\": 2\nkey with spaces: 3\n",
	"a: -1\nb: -foo\nc: yes\nd: ~\ne: null\nf: 2001-12-14\ng: 0x1F\nh: .5\n",
	"  a: 1\n  b:\n    - x\n",
	"a:\n  # comment between\n  b: 1\n",
	"a: [x #c\n , y]\n",
	"- a\n- b\n",
	"[1, 2, 3]",
	"scalar",
	"\"quoted scalar\"",
	"# only a comment",
	"{\"a\": [1, {\"b\": null}], \"c\": \"d\"}",
	`{"a":{"b":{"c":[true,false,null,1.5e3,"x\"y"]}}}`,
	"[]",
	"a: &x 1\nb: *x",
	"a: {b: &c d}",
	"- &a x",
	"a: '&x 1'\nb: --exclude=*.log",
}

// TestScanShapeMatchesDecoder: where the scan knows the shape of a text the decoder accepts,
// it is the decoded object's, and it knows it for the texts above that hold no anchors.
func TestScanShapeMatchesDecoder(t *testing.T) {
	for _, text := range shapeCorpus {
		sh, known := scanShape([]byte(text), true)
		o, err := parseParams([]byte(text), true)
		switch {
		case !known:
			t.Errorf("%q: not known", text)
		case sh.anchor:
			if err == nil || err.Error() != errAnchors {
				t.Errorf("%q: scan found an anchor, the decoder says %v", text, err)
			}
		case err != nil:
			// Not an object: the list and scalar cases.
			if want := map[byte]bool{'l': true, 's': true}; !want[sh.top] {
				t.Errorf("%q: top %c, decoder: %v", text, sh.top, err)
			}
		case sh.top != 'm' || sh.depth != depth(o) || sh.values != countValues(o):
			t.Errorf("%q: scan %+v, decoded depth %d values %d", text, sh, depth(o), countValues(o))
		}
	}
}

// Texts outside what the scan models: the decoder decides.
func TestScanShapeGivesUp(t *testing.T) {
	for _, text := range []string{
		"a: !!str 1",                           // tag
		"%YAML 1.1\n---\na: 1",                 // directive
		"? a\n: 1",                             // complex key
		"1: a",                                 // resolves to an int, and "1" would be the same JSON key
		"yes: a",                               // a boolean key in YAML 1.1
		"a: 1\na: 2",                           // duplicate: the decoder's message
		"a: 1\n'a': 2",                         // the same key, quoted
		"<<: {a: 1}",                           // merge key
		"a:\t1",                                // tab
		"a: 1\r\n",                             // CR
		"a: 1\n---\nb: 2",                      // second document
		"a: 1\n...\n",                          // document end
		"a: [b: 1]",                            // single-pair mapping in a flow sequence
		"a: {b:1}",                             // ':' in a flow scalar
		"a: [x\n y]",                           // a plain scalar going on in a flow collection
		"a: |2\n  x",                           // explicit indentation
		"[a]: 1",                               // collection key
		"a: \"\\u0041\"\nb: 1\n\"\\u0061\": 2", // escaped key
		"a: " + strings.Repeat("[", maxScanDepth+1) + strings.Repeat("]", maxScanDepth+1),
		strings.Repeat("k", 1100) + ": 1", // over goyaml's key length
		`{"a": 1, "a": 2}`,                // JSON keeps the last: the count would be wrong
		`{"a": 1, "\u0061": 2}`,
	} {
		if sh, known := scanShape([]byte(text), true); known {
			t.Errorf("%q: scan claims %+v", text, sh)
		}
	}
}

// oracle is the answer without the shape scan: parseParams, then the budget.
func oracle(data []byte, isText bool, used int) (map[string]interface{}, string) {
	o, err := parseParams(data, isText)
	if err != nil {
		return nil, err.Error()
	}
	if used+countValues(o) > MaxParamsValues {
		return nil, errTooManyValues
	}
	return o, ""
}

// checkAgreesWithOracle: checkParams (with the scan) accepts exactly what the oracle accepts,
// with the same object, and refuses with the oracle's message unless the oracle found the
// text malformed (a text that is malformed and also over a limit may be told the limit).
func checkAgreesWithOracle(t *testing.T, text string, isText bool, used int) {
	t.Helper()
	tk := ui.PreviewTask{ParamsText: text}
	if !isText {
		tk = ui.PreviewTask{Params: raw(text)}
	}
	if strings.TrimSpace(text) == "" || len(text) > MaxParamsBytes || (!isText && len(text) == 0) {
		return
	}
	b := paramsBudget{values: used}
	got, errs, err := checkParams(field.NewPath("t"), tk, &b, waitForever)
	if err != nil {
		t.Fatal(err)
	}
	want, msg := oracle([]byte(text), isText, used)
	switch {
	case msg == "":
		if len(errs) > 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: oracle accepts %v, check says %v %v", text, want, got, errs)
		}
	case len(errs) != 1:
		t.Fatalf("%q: oracle refuses (%s), check says %v", text, msg, errs)
	case errs[0].Detail != msg && !strings.HasPrefix(msg, "not valid "):
		t.Fatalf("%q: oracle: %s\ncheck: %s", text, msg, errs[0].Detail)
	}
}

func TestScanAgreesOnCorpus(t *testing.T) {
	for _, text := range shapeCorpus {
		for _, used := range []int{0, MaxParamsValues - 3} {
			checkAgreesWithOracle(t, text, true, used)
		}
	}
	for _, text := range []string{`{"a": 1}`, `{"a": {"b": [1, 2]}}`, `{"a": 1, "a": {"b": 2}}`, `[1]`, `"s"`, strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)} {
		checkAgreesWithOracle(t, text, false, 0)
	}
}

// FuzzScanAgreesWithDecoder compares checkParams with the oracle on arbitrary texts.
//
//	go test ./pkg/render -run '^$' -fuzz FuzzScanAgreesWithDecoder -fuzztime 120s
func FuzzScanAgreesWithDecoder(f *testing.F) {
	for _, text := range shapeCorpus {
		f.Add(text, true, uint16(0))
	}
	f.Add(`{"a":[1,2,{"b":"c"}]}`, false, uint16(0))
	f.Add("a: [1, 2, 3]", true, uint16(MaxParamsValues-4))
	f.Add(yamlNested(33), true, uint16(0))
	f.Fuzz(func(t *testing.T, text string, isText bool, used uint16) {
		checkAgreesWithOracle(t, text, isText, int(used)%(MaxParamsValues+1))
	})
}

// worstParams are the largest paramsText of each costly shape: 256 KiB of tiny items in
// every style, the deepest nesting, anchors and aliases, and a 256 KiB JSON params list.
func worstParams() map[string]ui.PreviewTask {
	n := MaxParamsBytes
	text := func(s string) ui.PreviewTask { return ui.PreviewTask{ParamsText: s} }
	keys := func(format string) string {
		var b strings.Builder
		for i := 0; b.Len() < n-40; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	return map[string]ui.PreviewTask{
		"flow list":           text("a: [" + strings.Repeat("1,", (n-8)/2) + "1]"),
		"block list":          text("a:\n" + strings.Repeat("- 1\n", (n-4)/4)),
		"block keys":          text(keys("k%d: v\n")),
		"flow keys":           text("a: {" + keys("k%d: 1,") + "z: 1}"),
		"JSON text":           text(`{"a":[` + strings.Repeat("1,", (n-10)/2) + "1]}"),
		"JSON params":         {Params: raw(`{"a":[` + strings.Repeat("1,", (n-10)/2) + "1]}")},
		"a list at the top":   text("[" + strings.Repeat("1,", (n-4)/2) + "1]"),
		"33 levels, wide":     text("a: " + strings.Repeat("[", 40) + strings.Repeat("1,", (n-100)/2) + "1" + strings.Repeat("]", 40)),
		"deep":                text("a: " + strings.Repeat("[", 900) + strings.Repeat("]", 900)),
		"an anchored list":    text("a: &x [" + strings.Repeat("1,", (n-12)/2) + "1]"),
		"aliases":             text("a: &a x\nb: [" + strings.Repeat("*a,", (n-20)/3) + "*a]"),
		"aliased long string": text(`s: &s "` + strings.Repeat("x", n-3000) + "\"\nl: [" + strings.Repeat("*s,", 900) + "*s]\n"),
	}
}

// TestWorstParamsAreRefusedCheaply: each worst case is refused by its shape, allocating a few
// MiB at most (the text's copy and the key hashes); decoding them cost 20 to 47 MiB each.
func TestWorstParamsAreRefusedCheaply(t *testing.T) {
	for name, tk := range worstParams() {
		t.Run(name, func(t *testing.T) {
			p := validForm()
			*task(p, 0, 0) = ui.PreviewTask{Name: "logical-backup", RepoName: "mongodb-repo", Params: tk.Params, ParamsText: tk.ParamsText}
			var errs field.ErrorList
			allocBounded(t, 4<<10, func() { errs = Validate(p) })
			want := "spec.sessions[0].tasks[0].paramsText"
			if tk.Params != nil {
				want = "spec.sessions[0].tasks[0].params"
			}
			onlyAt(t, errs, want, field.ErrorTypeInvalid)
		})
	}
}

// BenchmarkWorstParams: the cost of refusing each worst case (Validate of a form that holds
// it). Before the shape scan: 20 to 47 MiB and 175k to 525k allocations per op.
//
//	go test ./pkg/render -run '^$' -bench WorstParams -benchmem
func BenchmarkWorstParams(b *testing.B) {
	for name, tk := range worstParams() {
		b.Run(name, func(b *testing.B) {
			p := validForm()
			*task(p, 0, 0) = ui.PreviewTask{Name: "logical-backup", RepoName: "mongodb-repo", Params: tk.Params, ParamsText: tk.ParamsText}
			b.ReportAllocs()
			for b.Loop() {
				if len(Validate(p)) == 0 {
					b.Fatal("accepted")
				}
			}
		})
	}
}
