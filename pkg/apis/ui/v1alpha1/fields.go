package v1alpha1

import (
	"strconv"

	"github.com/kubestash/backupview/pkg/apis/selectable"
)

// ViewFields are the field selectors backupconfigurationviews support (docs/design.md, "API").
var ViewFields = selectable.Fields[*BackupConfigurationView]{
	{"metadata.name", func(v *BackupConfigurationView) string { return v.Name }},
	{"metadata.namespace", func(v *BackupConfigurationView) string { return v.Namespace }},
	{"basic.phase", func(v *BackupConfigurationView) string { return v.Basic.Phase }},
	{"basic.paused", func(v *BackupConfigurationView) string { return strconv.FormatBool(v.Basic.Paused) }},
	{"target.kind", func(v *BackupConfigurationView) string { return v.Target.Kind }},
	{"target.name", func(v *BackupConfigurationView) string { return v.Target.Name }},
	// The stored, clock-free verdict: Stuck, NeverSucceeded, Overdue and Pending depend on the
	// clock and select as what the sources say (usually Healthy); the Table shows them.
	{"health.verdict", func(v *BackupConfigurationView) string { return v.Health.Verdict }},
}

// OptionsFields are the field selectors backupconfigurationoptions support.
var OptionsFields = selectable.Fields[*BackupConfigurationOptions]{
	{"metadata.name", func(o *BackupConfigurationOptions) string { return o.Name }},
	{"metadata.namespace", func(o *BackupConfigurationOptions) string { return o.Namespace }},
}
