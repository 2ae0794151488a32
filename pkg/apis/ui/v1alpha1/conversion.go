package v1alpha1

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// addFieldLabelConversions lets the generic server accept the view's field selectors; any
// other field is refused with the list of supported ones (a 400).
func addFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("BackupConfigurationView"),
		func(label, value string) (string, string, error) {
			if _, ok := ui.ViewFieldValue(&ui.BackupConfigurationView{}, label); ok {
				return label, value, nil
			}
			return "", "", fmt.Errorf("field selector %q is not supported; supported fields: %s", label, strings.Join(ui.ViewFieldNames(), ", "))
		})
}
