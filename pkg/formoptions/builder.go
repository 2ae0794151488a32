package formoptions

import (
	"strings"

	"github.com/kubestash/backupview/pkg/apis/ui"
	"github.com/kubestash/backupview/pkg/sources"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// Source is what the options' cache builds from; *sources.Sources implements it.
type Source interface {
	Lookup
	OptionsKeys() []string
	ListedResourceVersion() uint64
}

// Builder adapts Build to the versioned store: one object per namespace, keyed
// "<namespace>/default".
func Builder(src Source) viewcache.Builder[*ui.BackupConfigurationOptions] { return builder{src} }

type builder struct{ src Source }

func (b builder) Keys() []string { return b.src.OptionsKeys() }

func (b builder) Build(key string) (*ui.BackupConfigurationOptions, uint64, bool) {
	ns, name, _ := strings.Cut(key, "/")
	if name != ui.OptionsName {
		return nil, 0, false
	}
	return Build(ns, b.src)
}

func (b builder) ListedResourceVersion() uint64 { return b.src.ListedResourceVersion() }

func (builder) New() *ui.BackupConfigurationOptions { return &ui.BackupConfigurationOptions{} }

var _ Source = (*sources.Sources)(nil)
