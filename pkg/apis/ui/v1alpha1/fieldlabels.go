package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// addFieldLabelConversions lets the generic server accept each kind's field selectors; any
// other field is refused with the list of supported ones (a 400).
func addFieldLabelConversions(scheme *runtime.Scheme) error {
	if err := scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("BackupConfigurationView"), ViewFields.ConvertLabel); err != nil {
		return err
	}
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("BackupConfigurationOptions"), OptionsFields.ConvertLabel)
}
