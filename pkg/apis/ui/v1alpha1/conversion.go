package v1alpha1

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// ViewSelectableFields are the field selectors backupconfigurationviews support (design.md §1.1).
var ViewSelectableFields = []string{"metadata.name", "metadata.namespace", "basic.phase", "basic.paused", "target.kind", "target.name"}

// addFieldLabelConversions lets the generic server accept the view's field selectors; any
// other field is refused with the list of supported ones (a 400).
func addFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind("BackupConfigurationView"),
		func(label, value string) (string, string, error) {
			for _, f := range ViewSelectableFields {
				if f == label {
					return label, value, nil
				}
			}
			return "", "", fmt.Errorf("field selector %q is not supported; supported fields: %s", label, strings.Join(ViewSelectableFields, ", "))
		})
}
