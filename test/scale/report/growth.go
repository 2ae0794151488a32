package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kubestash/backupview/test/scale"
)

// The names of the one-request LIST comparisons (test/scale/bench measures them; the growth
// table picks them out).
const (
	ListTable = "LIST -A as Table, one request (HTTP, no kubectl)"
	ListJSON  = "LIST -A as JSON, one request (HTTP, no kubectl)"
)

// GrowthScales are the scales of the growth table, smallest first. Each is a separate run, so
// each run saves its row (SaveGrowth) and the table is rendered from the rows saved.
var GrowthScales = []scale.Scale{scale.Small, scale.Medium, scale.Default}

// Growth is one scale's row of the growth table: how cost grows with the cluster.
type Growth struct {
	Scale         string    `json:"scale"`
	Measured      time.Time `json:"measured"`
	Objects       int       `json:"objects"`
	SourceObjects int       `json:"sourceObjects"`
	RSS           float64   `json:"rssBytes"`
	HeapInuse     float64   `json:"heapInuseBytes"`
	// Medians: start to ready and the plain-informer list; the one-request LISTs, view and
	// raw BackupConfiguration (0: not measured).
	Ready          time.Duration `json:"ready"`
	InformerList   time.Duration `json:"informerList"`
	ListTable      time.Duration `json:"listTable"`
	ListTableBC    time.Duration `json:"listTableBC"`
	ListJSON       time.Duration `json:"listJSON"`
	ListJSONBC     time.Duration `json:"listJSONBC"`
	LoadObjectsPer float64       `json:"loadObjectsPerSecond,omitempty"`
}

// Growth is the results' row.
func (r *Results) Growth() Growth {
	g := Growth{Scale: r.Scale.Name, Measured: r.Started.UTC(), Objects: r.Scale.Total(), SourceObjects: r.Memory.SourceObjects,
		RSS: r.Memory.RSS, HeapInuse: r.Memory.HeapInuse, Ready: r.Ready.View.Median(), InformerList: r.Ready.Direct.Median()}
	for _, x := range r.Pairs {
		switch x.Name {
		case ListTable:
			g.ListTable, g.ListTableBC = x.View.Median(), x.Direct.Median()
		case ListJSON:
			g.ListJSON, g.ListJSONBC = x.View.Median(), x.Direct.Median()
		}
	}
	if r.Load != nil {
		g.LoadObjectsPer = r.Load.ObjectsPerSecond()
	}
	return g
}

// GrowthMarkdown renders the growth table from the rows there are, in GrowthScales' order;
// a scale without a row is listed as not measured.
func GrowthMarkdown(rows []Growth) string {
	var w strings.Builder
	p := func(format string, a ...interface{}) { fmt.Fprintf(&w, format, a...) }
	p("### Growth across scales\n\n")
	p("Each scale is its own run (`make bench-scale SCALE=...`), measured on the date shown; per object is per source object held.\n\n")
	p("| scale | measured | objects | RSS per object | heap in use per object | ready / informer list | ready per 1,000 objects | LIST Table view / BC | LIST JSON view / BC | LIST JSON view per 1,000 objects |\n")
	p("|---|---|---|---|---|---|---|---|---|---|\n")
	per1k := func(d time.Duration, n int) string {
		if n == 0 {
			return "–"
		}
		return Duration(time.Duration(float64(d) * 1000 / float64(n)))
	}
	for _, sc := range GrowthScales {
		i := slices.IndexFunc(rows, func(g Growth) bool { return g.Scale == sc.Name })
		if i < 0 {
			p("| `%s` | not measured | %d | | | | | | | |\n", sc.Name, sc.Total())
			continue
		}
		g := rows[i]
		n := float64(max(g.SourceObjects, 1))
		p("| `%s` | %s | %d | %.0f B | %.0f B | %s / %s (%.2f×) | %s | %s / %s (%.2f×) | %s / %s (%.2f×) | %s |\n", g.Scale, g.Measured.Format("2006-01-02"), g.Objects,
			g.RSS/n, g.HeapInuse/n, Duration(g.Ready), Duration(g.InformerList), ratio(g.Ready, g.InformerList), per1k(g.Ready, g.SourceObjects),
			Duration(g.ListTable), Duration(g.ListTableBC), ratio(g.ListTable, g.ListTableBC),
			Duration(g.ListJSON), Duration(g.ListJSONBC), ratio(g.ListJSON, g.ListJSONBC), per1k(g.ListJSON, g.SourceObjects))
	}
	return w.String()
}

// growthFile is where a scale's row is saved in dir.
func growthFile(dir, name string) string { return filepath.Join(dir, name+".json") }

// SaveGrowth saves the results' row in dir (one JSON file per scale, replaced by the scale's
// next run) when the scale is one of GrowthScales, and returns every saved row.
func SaveGrowth(dir string, r *Results) ([]Growth, error) {
	if slices.ContainsFunc(GrowthScales, func(s scale.Scale) bool { return s == r.Scale }) {
		b, err := json.MarshalIndent(r.Growth(), "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(growthFile(dir, r.Scale.Name), append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	var rows []Growth
	for _, sc := range GrowthScales {
		b, err := os.ReadFile(growthFile(dir, sc.Name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var g Growth
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, fmt.Errorf("%s: %w", growthFile(dir, sc.Name), err)
		}
		rows = append(rows, g)
	}
	return rows, nil
}
