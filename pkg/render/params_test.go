package render

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// allocBounded runs f and fails when it allocates more than maxKiB. Allocations, not time:
// they bound the work as well, and hold under -race and on a busy machine.
func allocBounded(t *testing.T, maxKiB uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 10
	t.Logf("allocated %d KiB", alloc)
	if alloc > maxKiB {
		t.Errorf("not bounded: allocated %d KiB, more than %d KiB", alloc, maxKiB)
	}
}

func paramsTextErr(t *testing.T, text string) field.ErrorList {
	p := validForm()
	task(p, 0, 0).Params = nil
	task(p, 0, 0).ParamsText = text
	var errs field.ErrorList
	allocBounded(t, 32<<10, func() { errs = Validate(p) })
	return errs
}

func TestBillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString(`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for c := 'b'; c <= 'i'; c++ {
		p := string(c - 1)
		fmt.Fprintf(&b, "%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, p, p, p, p, p, p, p, p, p)
	}
	onlyAt(t, paramsTextErr(t, b.String()), "spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid)
}

// goyaml's alias-ratio guard is off below 1000 decode steps, so a long anchored string aliased
// a few hundred times expands ~1000x (measured: 200 KiB -> 185 MB, 1.2 s). It must be refused
// before expansion.
func TestAliasedLongString(t *testing.T) {
	doc := `s: &s "` + strings.Repeat("x", 200<<10) + "\"\nl: [" + strings.Repeat("*s,", 900) + "*s]\n"
	onlyAt(t, paramsTextErr(t, doc), "spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid)
}

func TestMergeKeysNeedAliases(t *testing.T) {
	onlyAt(t, paramsTextErr(t, "base: &b {a: 1}\nx:\n  <<: *b\n"), "spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid)
}

// The biggest paramsText must stay cheap too: 256 KiB of tiny flow items is the worst case
// for node count. It is refused by the value limit from its shape, before decoding (which
// cost ~45 MiB); what is accepted renders cheaply.
func TestLargeParamsAreBounded(t *testing.T) {
	worst := "a: [" + strings.Repeat("1,", (MaxParamsBytes-8)/2) + "1]"
	onlyAt(t, paramsTextErrMax(t, worst, 4), "spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid)

	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	onlyAt(t, paramsTextErr(t, "a: "+deep), "spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid)

	p := validForm()
	task(p, 0, 0).Params = nil
	task(p, 0, 0).ParamsText = "a: [" + strings.Repeat("1,", MaxParamsValues-10) + "1]"
	allocBounded(t, 32<<10, func() {
		if _, errs := Render(p); len(errs) > 0 {
			t.Fatal(errs)
		}
	})
}

func paramsTextErrMax(t *testing.T, text string, maxMiB uint64) field.ErrorList {
	p := validForm()
	task(p, 0, 0).Params = nil
	task(p, 0, 0).ParamsText = text
	var errs field.ErrorList
	allocBounded(t, maxMiB<<10, func() { errs = Validate(p) })
	return errs
}

// The form as a whole has a params budget: bytes and values.
func TestParamsBudget(t *testing.T) {
	p := validForm()
	manyTasks(p, 3)
	half := `{"a":"` + strings.Repeat("x", MaxParamsBytes/2) + `"}`
	task(p, 0, 0).Params = raw(half)
	task(p, 0, 1).ParamsText = "b: 1"
	task(p, 0, 2).Params = raw(half)
	errs := Validate(p)
	onlyAt(t, errs, "spec.sessions[0].tasks[2].params", field.ErrorTypeTooLong)
	if !strings.Contains(errs[0].Detail, "all tasks together") {
		t.Errorf("detail: %s", errs[0].Detail)
	}
	task(p, 0, 2).Params = raw(`{"c": 1}`)
	if errs := Validate(p); len(errs) > 0 {
		t.Errorf("neighbour: %v", errs)
	}

	list := func(n int) string { return `{"l":[` + strings.Repeat("1,", n-3) + "1]}" } // n values
	task(p, 0, 0).Params = raw(list(MaxParamsValues / 2))
	task(p, 0, 2).Params = raw(list(MaxParamsValues/2 - 2)) // with "b: 1" (2 values): exactly the limit
	if errs := Validate(p); len(errs) > 0 {
		t.Errorf("at the limit: %v", errs)
	}
	task(p, 0, 2).Params = raw(list(MaxParamsValues/2 - 1))
	onlyAt(t, Validate(p), "spec.sessions[0].tasks[2].params", field.ErrorTypeInvalid)
}
