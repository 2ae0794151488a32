package backupconfigurationoptions

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// Columns: how much each dropdown offers, and what the KubeStash webhook picks by default;
// -o yaml shows the lists.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Always \"default\": one per namespace."},
	{Name: "Storages", Type: "integer", Description: "BackupStorages whose usagePolicy admits the namespace."},
	{Name: "Default-Storage", Type: "string", Description: "namespace/name of the admitted default BackupStorages."},
	{Name: "Retention-Policies", Type: "integer", Description: "RetentionPolicies whose usagePolicy admits the namespace."},
	{Name: "Default-Policy", Type: "string", Description: "namespace/name of the admitted default RetentionPolicies."},
	{Name: "Addons", Type: "integer", Description: "Addons offered (with their backup tasks)."},
	{Name: "Targets", Type: "integer", Description: "Objects in the namespace that can be backed up."},
	{Name: "Encryption-Secrets", Type: "string", Priority: 1, Description: "Secrets offered as encryption secrets; <unchecked> unless the server checks them."},
}

type tableConvertor struct{}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	t := &metav1.Table{}
	if o, ok := opts.(*metav1.TableOptions); !ok || !o.NoHeaders {
		t.ColumnDefinitions = columns
	}
	switch o := obj.(type) {
	case *ui.BackupConfigurationOptions:
		t.Rows = []metav1.TableRow{row(o)}
		t.ResourceVersion = o.ResourceVersion
	case *ui.BackupConfigurationOptionsList:
		t.Rows = make([]metav1.TableRow, len(o.Items))
		for i := range o.Items {
			t.Rows[i] = row(&o.Items[i])
		}
		t.ResourceVersion, t.Continue, t.RemainingItemCount = o.ResourceVersion, o.Continue, o.RemainingItemCount
	default:
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
	return t, nil
}

func row(o *ui.BackupConfigurationOptions) metav1.TableRow {
	var ds, dp []string
	for _, s := range o.Storages {
		if s.Default {
			ds = append(ds, s.Ref)
		}
	}
	for _, p := range o.RetentionPolicies {
		if p.Default {
			dp = append(dp, p.Ref)
		}
	}
	secrets := "<unchecked>"
	if o.EncryptionSecrets != nil {
		secrets = fmt.Sprint(len(o.EncryptionSecrets))
	}
	return metav1.TableRow{
		Object: runtime.RawExtension{Object: o},
		Cells: []interface{}{o.Name, len(o.Storages), orNone(ds), len(o.RetentionPolicies), orNone(dp), len(o.Addons),
			len(o.Targets), secrets},
	}
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "<none>"
	}
	return strings.Join(l, ", ")
}
