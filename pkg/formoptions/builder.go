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
	Namespaces() []*kubestash.Namespace
	ListedResourceVersion() uint64
}

// Key is the cache key of a namespace's options: "<namespace>/default".
func Key(ns string) string { return ns + "/" + ui.OptionsName }

// keys are the options' keys of namespaces, of every namespace for nil.
func keys(src Source, namespaces []string) []string {
	if namespaces == nil {
		for _, n := range src.Namespaces() {
			namespaces = append(namespaces, n.Name)
		}
	}
	out := make([]string, len(namespaces))
	for i, ns := range namespaces {
		out[i] = Key(ns)
	}
	return out
}

// Changes turns the sources' report of the namespaces a change may affect into the options
// it affects, for notify (the options' cache).
func Changes(src Source, notify func(keys []string, rv uint64, deleted bool)) sources.FormSink {
	return func(namespaces []string, rv uint64, deleted bool) {
		if k := keys(src, namespaces); len(k) > 0 {
			notify(k, rv, deleted)
		}
	}
}

// Builder adapts Build to the versioned store: one object per namespace, keyed by Key.
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

func (b *builder) Keys() []string { return keys(b.src, nil) }

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
