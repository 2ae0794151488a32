package viewcache

import (
	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// ViewSource is what the BackupConfigurationViews are built from: the BackupConfigurations,
// the joins' lookups, and how far the source informers have listed.
type ViewSource interface {
	join.Lookup
	BackupConfiguration(key string) *kubestash.BackupConfiguration
	BackupConfigurations() []*kubestash.BackupConfiguration
	// ListedResourceVersion is the highest resourceVersion the source informers have listed
	// or watched up to.
	ListedResourceVersion() uint64
}

// Views builds one BackupConfigurationView per BackupConfiguration of src, by the join.
func Views(src ViewSource) Builder[*ui.BackupConfigurationView] { return views{src} }

type views struct{ src ViewSource }

func (v views) Keys() []string {
	bcs := v.src.BackupConfigurations()
	keys := make([]string, len(bcs))
	for i, bc := range bcs {
		keys[i] = bc.Namespace + "/" + bc.Name
	}
	return keys
}

func (v views) Build(key string) (*ui.BackupConfigurationView, uint64, bool) {
	bc := v.src.BackupConfiguration(key)
	if bc == nil {
		return nil, 0, false
	}
	view, rv := join.Build(bc, v.src)
	return view, rv, true
}

func (v views) ListedResourceVersion() uint64 { return v.src.ListedResourceVersion() }

func (views) New() *ui.BackupConfigurationView { return &ui.BackupConfigurationView{} }
