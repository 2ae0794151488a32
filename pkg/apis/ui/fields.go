package ui

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
}
