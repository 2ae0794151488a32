package sources

import (
	"context"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The form options (docs/design.md, "Form options") read namespaces (their labels decide a
// usagePolicy Selector), the storages, policies and Addons every namespace may be offered,
// the target objects of each namespace and, when checked, Secret names. This file holds the
// namespace informer and those reads; which options a change affects is
// formoptions.Affected's to say.

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// NamespaceKind is the Kind of a namespace's Change.
var NamespaceKind = schema.GroupKind{Kind: "Namespace"}

// WatchNamespaces starts the namespace informer with the others (the form options read it)
// and reports its changes to the sink. Call before Start.
func (s *Sources) WatchNamespaces() {
	inf := s.metadataInformer(namespacesGVR, cache.Indexers{}, func(m *metav1.PartialObjectMetadata) interface{} {
		return &kubestash.Namespace{Meta: kubestash.Meta{Name: m.Name, ResourceVersion: m.ResourceVersion,
			CreationTimestamp: m.CreationTimestamp}, UID: m.UID, Labels: m.Labels}
	})
	s.reportChanges(inf, NamespaceKind)
	s.mu.Lock()
	s.namespaces = inf
	s.mu.Unlock()
}

func (s *Sources) startNamespaces() {
	s.mu.RLock()
	inf, ctx := s.namespaces, s.ctx
	s.mu.RUnlock()
	if inf != nil {
		go inf.RunWithContext(ctx)
	}
}

// WaitForNamespaces blocks until the namespace informer has synced (the options' first build
// waits for it) or ctx ends.
func (s *Sources) WaitForNamespaces(ctx context.Context) error {
	s.mu.RLock()
	inf := s.namespaces
	s.mu.RUnlock()
	if inf == nil || !cache.WaitFor(ctx, "namespaces", inf.HasSyncedChecker()) {
		return ctx.Err()
	}
	return nil
}

// Namespaces returns every namespace (unordered).
func (s *Sources) Namespaces() []*kubestash.Namespace {
	s.mu.RLock()
	inf := s.namespaces
	s.mu.RUnlock()
	if inf == nil {
		return nil
	}
	return typed[kubestash.Namespace](inf.GetStore().List())
}

// Namespace returns the namespace, or nil.
func (s *Sources) Namespace(name string) *kubestash.Namespace {
	s.mu.RLock()
	inf := s.namespaces
	s.mu.RUnlock()
	if inf == nil {
		return nil
	}
	return get[kubestash.Namespace](inf.GetIndexer(), name)
}

// BackupStorages returns every BackupStorage (unordered).
func (s *Sources) BackupStorages() []*kubestash.BackupStorage {
	return all[kubestash.BackupStorage](s.store(kubestash.BackupStorages))
}

// RetentionPolicies returns every RetentionPolicy (unordered).
func (s *Sources) RetentionPolicies() []*kubestash.RetentionPolicy {
	return all[kubestash.RetentionPolicy](s.store(kubestash.RetentionPolicies))
}

// Addons returns every Addon (unordered).
func (s *Sources) Addons() []*kubestash.Addon {
	return all[kubestash.Addon](s.store(kubestash.Addons))
}

// TargetObject is one object of a watched target kind.
type TargetObject struct {
	GroupKind       schema.GroupKind
	Name            string
	ResourceVersion string
}

// TargetsIn lists the objects in namespace ns of every watched namespaced target kind, ordered
// by group, kind and name. It reads the informers' namespace index only.
func (s *Sources) TargetsIn(ns string) []TargetObject {
	type watched struct {
		gk  schema.GroupKind
		inf cache.SharedIndexInformer
	}
	s.mu.RLock()
	var ws []watched
	for gk, t := range s.targets {
		if t.installed && t.namespaced && !t.unreadable {
			ws = append(ws, watched{gk, t.informer})
		}
	}
	s.mu.RUnlock()
	var out []TargetObject
	for _, w := range ws {
		l, _ := w.inf.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
		for _, o := range typed[kubestash.Object](l) {
			out = append(out, TargetObject{GroupKind: w.gk, Name: o.Name, ResourceVersion: o.ResourceVersion})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.GroupKind.Group != b.GroupKind.Group {
			return a.GroupKind.Group < b.GroupKind.Group
		}
		if a.GroupKind.Kind != b.GroupKind.Kind {
			return a.GroupKind.Kind < b.GroupKind.Kind
		}
		return a.Name < b.Name
	})
	return out
}

// SecretNames lists the Secrets of namespace ns, sorted, when the opt-in Secret check runs
// and has synced (checked); otherwise nothing.
func (s *Sources) SecretNames(ns string) (names []string, checked bool) {
	s.mu.RLock()
	inf := s.secrets
	s.mu.RUnlock()
	if inf == nil || !inf.HasSynced() {
		return nil, false
	}
	l, _ := inf.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
	for _, o := range typed[kubestash.Object](l) {
		names = append(names, o.Name)
	}
	sort.Strings(names)
	return names, true
}

// DefaultFormTargetKinds are the kinds the form offers targets of unless configured otherwise
// (--form-target-kinds, Kind.group): those KubeStash's Addons back up and the server's RBAC
// (deploy/rbac-server.yaml) lets it read.
var DefaultFormTargetKinds = []string{
	"MongoDB.kubedb.com", "Postgres.kubedb.com", "MySQL.kubedb.com", "MariaDB.kubedb.com", "Redis.kubedb.com",
	"Elasticsearch.kubedb.com", "AppBinding.appcatalog.appscode.com", "StatefulSet.apps", "Deployment.apps",
	"DaemonSet.apps", "PersistentVolumeClaim",
}

// WatchFormTargetKinds watches these target kinds as well as those BackupConfigurations name,
// so that the form can offer their objects. They come from the server's configuration (a
// flag), never from a request; call once the first views are built so that they do not delay
// readiness.
func (s *Sources) WatchFormTargetKinds(kinds []schema.GroupKind) {
	s.mu.Lock()
	for _, gk := range kinds {
		s.formKinds[gk] = true
	}
	s.mu.Unlock()
	for _, gk := range kinds {
		s.watchTarget(gk)
	}
}

// WatchedFor reports whether backupview watches target kind gk for namespace ns whatever
// other namespaces hold: it is a form target kind (configuration), or a BackupConfiguration
// in ns backs it up. Answering "found" or "not found" for such a kind tells a caller in ns
// nothing about other namespaces. It reads an index: no scan of the BackupConfigurations.
func (s *Sources) WatchedFor(ns string, gk schema.GroupKind) bool {
	s.mu.RLock()
	form := s.formKinds[gk]
	s.mu.RUnlock()
	return form || len(s.bcsReferencing(targetKindInRef(ns, gk.Group, gk.Kind))) > 0
}
