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
