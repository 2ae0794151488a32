package formoptions

import (
	"cmp"
	"maps"
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

// Affected returns the namespaces whose options a change of the sources may affect; all
// reports every namespace's. The options read (build):
//
//   - BackupStorages, RetentionPolicies (by usagePolicy) and Addons: every namespace's;
//   - a namespace's labels only (usagePolicy selectors): its own options, unless an update
//     left the labels as they were;
//   - target objects and Secrets by name: their namespace's options on an addition or a
//     deletion, none on an update (it renames nothing); a cluster-scoped one: none;
//   - nothing else (a target kind's informer syncing adds no object it did not report).
func Affected(c sources.Change) (namespaces []string, all bool) {
	switch o := c.Object.(type) {
	case *kubestash.BackupStorage, *kubestash.RetentionPolicy, *kubestash.Addon:
		return nil, true
	case *kubestash.Namespace:
		if old, ok := c.Old.(*kubestash.Namespace); ok && maps.Equal(old.Labels, o.Labels) {
			return nil, false
		}
		return []string{o.Name}, false
	case *kubestash.Object:
		if c.Old != nil || o.Namespace == "" {
			return nil, false
		}
		return []string{o.Namespace}, false
	}
	return nil, false
}

// Route sends the keys of the options a change of the sources may affect (Affected) to notify,
// the options' cache.
func Route(src Source, c sources.Change, notify func(keys []string, rv uint64, deleted bool)) {
	namespaces, all := Affected(c)
	if !all && len(namespaces) == 0 {
		return
	}
	if k := keys(src, namespaces); len(k) > 0 {
		notify(k, c.RV, c.Deleted)
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
