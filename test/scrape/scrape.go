// Package scrape reads a Prometheus text exposition, as backupview's /metrics serves it, with
// the Prometheus parser (expfmt), for the tools and tests that read backupview's metrics.
package scrape

import (
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are the metric families of one scrape, by name.
type Metrics map[string]*dto.MetricFamily

// Parse reads a text exposition (format 0.0.4, metric names in UTF-8).
func Parse(r io.Reader) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// Value is the value of the first sample of the counter, gauge or untyped metric name whose
// labels include the given name, value pairs; false when there is none.
func (m Metrics) Value(name string, labels ...string) (float64, bool) {
	f := m[name]
	if f == nil {
		return 0, false
	}
	for _, s := range f.GetMetric() {
		if has(s, labels) {
			if v, ok := value(s); ok {
				return v, true
			}
		}
	}
	return 0, false
}

// ByLabel is the values of the counter, gauge or untyped metric name by the value of one of
// its labels (samples without it are left out).
func (m Metrics) ByLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	f := m[name]
	if f == nil {
		return out
	}
	for _, s := range f.GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == label {
				if v, ok := value(s); ok {
					out[l.GetValue()] = v
				}
			}
		}
	}
	return out
}

func has(s *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(s *dto.Metric) (float64, bool) {
	switch {
	case s.Counter != nil:
		return s.GetCounter().GetValue(), true
	case s.Gauge != nil:
		return s.GetGauge().GetValue(), true
	case s.Untyped != nil:
		return s.GetUntyped().GetValue(), true
	}
	return 0, false
}
