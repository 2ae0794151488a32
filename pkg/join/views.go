package join

import (
	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// ViewSource is what the BackupConfigurationViews are built from: the BackupConfigurations,
// the joins' lookups, and how far the source informers have listed.
type ViewSource interface {
	Lookup
	BackupConfiguration(key string) *kubestash.BackupConfiguration
	BackupConfigurations() []*kubestash.BackupConfiguration
	// ListedResourceVersion is the highest resourceVersion the source informers have listed
	// or watched up to.
	ListedResourceVersion() uint64
}

// Views builds one BackupConfigurationView per BackupConfiguration of src, by the join: the
// view cache's builder (a viewcache.Builder) for the served views.
func Views(src ViewSource, o Options) ViewBuilder { return ViewBuilder{src, o} }

// ViewBuilder builds the views of one source.
type ViewBuilder struct {
	src ViewSource
	o   Options
}

func (v ViewBuilder) Keys() []string {
	bcs := v.src.BackupConfigurations()
	keys := make([]string, len(bcs))
	for i, bc := range bcs {
		keys[i] = bc.Namespace + "/" + bc.Name
	}
	return keys
}

func (v ViewBuilder) Build(key string) (*ui.BackupConfigurationView, uint64, bool) {
	bc := v.src.BackupConfiguration(key)
	if bc == nil {
		return nil, 0, false
	}
	view, rv := Build(bc, v.src, v.o)
	return view, rv, true
}

func (v ViewBuilder) ListedResourceVersion() uint64 { return v.src.ListedResourceVersion() }

func (ViewBuilder) New() *ui.BackupConfigurationView { return &ui.BackupConfigurationView{} }
