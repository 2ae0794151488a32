package server

import (
	"io"
	"strings"
	"testing"
)

func TestFlagsAreGroupedAndValidated(t *testing.T) {
	o := NewOptions(io.Discard, io.Discard)
	fss := o.Flags()
	for section, flag := range map[string]string{"backupview": "max-watches", "secure serving": "secure-port", "authorization": "authorization-kubeconfig", "global": "v"} {
		if fss.FlagSet(section).Lookup(flag) == nil {
			t.Errorf("--%s is not in the %q section", flag, section)
		}
	}
	if fss.FlagSet("backupview").Lookup("etcd-servers") != nil {
		t.Error("no etcd flags: nothing is stored")
	}
	if err := fss.FlagSet("backupview").Parse([]string{"--max-watches=0", "--rebuild-workers=0", "--rebuild-slice-budget=0s"}); err != nil {
		t.Fatal(err)
	}
	err := o.Validate()
	for _, want := range []string{"--max-watches", "--rebuild-workers", "--rebuild-slice-budget"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
}

// The per-BackupConfiguration health series are on unless turned off (docs/design.md, "Metrics").
func TestBackupConfigurationMetricsFlag(t *testing.T) {
	o := NewOptions(io.Discard, io.Discard)
	if !o.BackupConfigurationMetrics {
		t.Error("--backupconfiguration-metrics defaults to false, want true")
	}
	fss := o.Flags()
	if err := fss.FlagSet("backupview").Parse([]string{"--backupconfiguration-metrics=false"}); err != nil {
		t.Fatal(err)
	}
	if o.BackupConfigurationMetrics {
		t.Error("--backupconfiguration-metrics=false did not turn the series off")
	}
}

// --memory-limit takes the container's limit as the Downward API gives it (bytes) or as a
// quantity; the soft limit is 90% of it unless GOMEMLIMIT is set.
func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		flag, goMemLimit string
		soft             int64
		set              bool
	}{
		{"536870912", "", 483183820, true}, // 512Mi from resourceFieldRef limits.memory
		{"512Mi", "", 483183820, true},
		{"512Mi", "400MiB", 0, false}, // an explicit GOMEMLIMIT wins
		{"", "", 0, false},
		{"0", "", 0, false},
	} {
		o := NewOptions(io.Discard, io.Discard)
		fss := o.Flags()
		if err := fss.FlagSet("backupview").Parse([]string{"--memory-limit=" + c.flag}); err != nil {
			t.Fatal(err)
		}
		limit, err := o.memoryLimit()
		if err != nil {
			t.Fatalf("--memory-limit=%s: %v", c.flag, err)
		}
		if soft, set := softMemoryLimit(limit, c.goMemLimit); soft != c.soft || set != c.set {
			t.Errorf("--memory-limit=%s GOMEMLIMIT=%q: soft limit %d %v, want %d %v", c.flag, c.goMemLimit, soft, set, c.soft, c.set)
		}
	}
	o := NewOptions(io.Discard, io.Discard)
	o.MemoryLimit = "lots"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
		t.Errorf("Validate with --memory-limit=lots: %v, want it to name --memory-limit", err)
	}
}
