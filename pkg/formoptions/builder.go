package formoptions

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
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
func Builder(src Source) viewcache.Builder[*ui.BackupConfigurationOptions] {
	return &builder{src: src}
}

type builder struct {
	src Source

	mu       sync.Mutex
	addonsOf string // the Addons (name and resourceVersion of each) addons was built from
	addons   []ui.AddonOption
	addonsRV uint64
}

func (b *builder) Keys() []string { return b.src.OptionsKeys() }

func (b *builder) Build(key string) (*ui.BackupConfigurationOptions, uint64, bool) {
	ns, name, _ := strings.Cut(key, "/")
	if name != ui.OptionsName {
		return nil, 0, false
	}
	addons, rv := b.sharedAddons()
	return build(ns, b.src, addons, rv)
}

// sharedAddons returns the Addons' options, rebuilt only when an Addon changed.
func (b *builder) sharedAddons() ([]ui.AddonOption, uint64) {
	l := slices.SortedFunc(slices.Values(b.src.Addons()), func(x, y *kubestash.Addon) int { return cmp.Compare(x.Name, y.Name) })
	var key strings.Builder
	for _, a := range l {
		key.WriteString(a.Name + "@" + a.ResourceVersion + ",")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if k := key.String(); k != b.addonsOf || b.addons == nil {
		b.addons, b.addonsRV = buildAddons(l)
		b.addonsOf = k
	}
	return b.addons, b.addonsRV
}

func (b *builder) ListedResourceVersion() uint64 { return b.src.ListedResourceVersion() }

func (*builder) New() *ui.BackupConfigurationOptions { return &ui.BackupConfigurationOptions{} }

var _ Source = (*sources.Sources)(nil)
