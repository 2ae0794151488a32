package render

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// bounded runs f and fails when it takes a second or allocates more than maxMiB.
func bounded(t *testing.T, maxMiB uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
	t.Logf("took %v, allocated %d MiB", took, alloc)
	if took > time.Second || alloc > maxMiB {
		t.Errorf("not bounded: took %v, allocated %d MiB", took, alloc)
	}
}

func paramsTextErr(t *testing.T, text string) field.ErrorList {
	p := validForm()
	task(p, 0, 0).Params = nil
	task(p, 0, 0).ParamsText = text
	var errs field.ErrorList
	bounded(t, 32, func() { errs = Validate(p) })
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

// The biggest accepted paramsText must stay cheap too: 256 KiB of tiny flow items, the worst
// case for node count.
func TestLargestParamsTextIsCheap(t *testing.T) {
	text := "a: [" + strings.Repeat("1,", (MaxParamsBytes-8)/2) + "1]"
	if errs := paramsTextErr(t, text); len(errs) > 0 {
		t.Fatal(errs)
	}
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	onlyAt(t, paramsTextErr(t, "a: "+deep), "spec.sessions[0].tasks[0].paramsText", field.ErrorTypeInvalid)
}
