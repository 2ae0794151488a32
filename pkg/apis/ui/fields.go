package ui

import "strconv"

// ViewField is one field selector of backupconfigurationviews and how it reads a view.
//
// +k8s:deepcopy-gen=false
type ViewField struct {
	Name  string
	Value func(*BackupConfigurationView) string
}

// ViewFields are the field selectors backupconfigurationviews support (docs/design.md, "API"):
// the one table behind the scheme's field-label conversion, the storage's matching and the
// error that names them.
var ViewFields = []ViewField{
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

// ViewFieldNames lists the supported field selectors, in table order.
func ViewFieldNames() []string {
	out := make([]string, len(ViewFields))
	for i, f := range ViewFields {
		out[i] = f.Name
	}
	return out
}

// ViewFieldValue reads the field selector name from v; ok is false for an unsupported one.
func ViewFieldValue(v *BackupConfigurationView, name string) (value string, ok bool) {
	for _, f := range ViewFields {
		if f.Name == name {
			return f.Value(v), true
		}
	}
	return "", false
}
