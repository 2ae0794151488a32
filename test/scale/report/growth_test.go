package report

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kubestash/backupview/test/scale"
)

// TestGrowthGolden: a row per measured scale, in GrowthScales' order whatever the rows'
// order; an unmeasured scale says so.
func TestGrowthGolden(t *testing.T) {
	small, def := results(scale.Small), results(scale.Default)
	def.Started = def.Started.Add(48 * time.Hour)
	def.Memory.SourceObjects, def.Memory.RSS, def.Memory.HeapInuse = 140022, 414.2*(1<<20), 340*(1<<20)
	def.Load = nil
	golden(t, "growth.md", GrowthMarkdown([]Growth{def.Growth(), small.Growth()}))
}

// TestGrowthRow: the row takes the medians of the start and the one-request LISTs.
func TestGrowthRow(t *testing.T) {
	g := results(scale.Small).Growth()
	want := Growth{Scale: "small", Measured: time.Date(2026, 11, 27, 8, 50, 0, 0, time.UTC), Objects: 4830, SourceObjects: 4810,
		RSS: 95.4 * (1 << 20), HeapInuse: 19 * (1 << 20), Ready: 1760 * time.Millisecond, InformerList: 1400 * time.Millisecond,
		ListTable: 7500 * time.Microsecond, ListTableBC: 13 * time.Millisecond, ListJSON: 22 * time.Millisecond, ListJSONBC: 27 * time.Millisecond,
		LoadObjectsPer: 4831 / 16.2}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("row %+v\nwant %+v", g, want)
	}
}

// TestSaveGrowth: each growth scale's run saves its row, replacing the scale's earlier one;
// other scales save nothing; every saved row comes back, in GrowthScales' order.
func TestSaveGrowth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bench-results")
	def := results(scale.Default)
	rows, err := SaveGrowth(dir, def)
	if err != nil || len(rows) != 1 || !reflect.DeepEqual(rows[0], def.Growth()) {
		t.Fatalf("first save: %+v, %v", rows, err)
	}
	small := results(scale.Small)
	small.Views = 1
	if _, err := SaveGrowth(dir, small); err != nil {
		t.Fatal(err)
	}
	small.Started = small.Started.Add(time.Hour)
	rows, err = SaveGrowth(dir, small)
	if err != nil || len(rows) != 2 || !reflect.DeepEqual(rows[0], small.Growth()) || !reflect.DeepEqual(rows[1], def.Growth()) {
		t.Fatalf("rows %+v, %v; want small's newer row, then default's", rows, err)
	}
	if rows, err = SaveGrowth(dir, results(scale.Tiny)); err != nil || len(rows) != 2 {
		t.Errorf("a tiny run: %d rows, %v; want the two saved and no more", len(rows), err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Errorf("%d files in %s, want 2", len(files), dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "medium.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SaveGrowth(dir, small); err == nil {
		t.Error("an unreadable row: no error")
	}
}
