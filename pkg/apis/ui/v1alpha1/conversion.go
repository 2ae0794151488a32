package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// addFieldLabelConversions lets the generic server accept the view's field selectors; any
// other field is refused with the list of supported ones (a 400).
func addFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("BackupConfigurationView"), ui.ViewFields.ConvertLabel)
}
