// Package headlamp holds the Headlamp plugin (TypeScript, under src/); this Go test keeps its
// copy of the verdicts' precedence equal to the API's.
package headlamp

import (
	"os"
	"regexp"
	"slices"
	"testing"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The plugin reads a view's verdict at now (src/lib/health.ts) with the API's precedence: the
// reason verdicts of ui.Verdicts, in order.
func TestPrecedenceIsTheAPIs(t *testing.T) {
	src, err := os.ReadFile("src/lib/health.ts")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)export const PRECEDENCE = \[(.*?)\];`).FindSubmatch(src)
	if block == nil {
		t.Fatal("no PRECEDENCE array in src/lib/health.ts")
	}
	var got []string
	for _, m := range regexp.MustCompile(`'([A-Za-z]+)'`).FindAllSubmatch(block[1], -1) {
		got = append(got, string(m[1]))
	}
	if want := ui.Verdicts[:ui.ReasonVerdicts]; !slices.Equal(got, want) {
		t.Errorf("src/lib/health.ts PRECEDENCE = %v, want the API's %v", got, want)
	}
}
