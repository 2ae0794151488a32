package sources

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// mapping is one answer of discovery: the resources the cluster serves and the preferred
// resource of each kind. It is immutable; refreshMapping replaces it whole.
type mapping struct {
	mapper meta.RESTMapper
	served map[schema.GroupVersionResource]bool
	failed map[schema.GroupVersion]error // group versions discovery could not answer
}

// refreshMapping asks discovery once (aggregated discovery: /api and /apis) and publishes the
// answer. The poll is its only caller, so no request ever makes backupview ask discovery.
func (s *Sources) refreshMapping() {
	s.disco.Invalidate()
	failed := map[schema.GroupVersion]error{}
	if _, _, err := s.disco.ServerGroupsAndResources(); err != nil {
		var partial *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &partial) {
			klog.V(2).InfoS("discovery failed", "err", err)
			return
		}
		failed = partial.Groups
		klog.V(2).InfoS("discovery failed for some group versions", "err", err)
	}
	groups, err := restmapper.GetAPIGroupResources(s.disco) // from the cache just filled
	if err != nil {
		klog.V(2).InfoS("discovery failed", "err", err)
		return
	}
	m := &mapping{mapper: restmapper.NewDiscoveryRESTMapper(groups), served: map[schema.GroupVersionResource]bool{}, failed: failed}
	for _, g := range groups {
		for v, rs := range g.VersionedResources {
			for _, r := range rs {
				if !strings.Contains(r.Name, "/") { // subresources are not listable kinds
					m.served[schema.GroupVersionResource{Group: g.Group.Name, Version: v, Resource: r.Name}] = true
				}
			}
		}
	}
	s.mapping.Store(m)
}

// serves reports whether the cluster serves gvr; answered is false when discovery could not
// tell (its group version failed).
func (m *mapping) serves(gvr schema.GroupVersionResource) (served, answered bool) {
	if _, failed := m.failed[gvr.GroupVersion()]; failed {
		return false, false
	}
	return m.served[gvr], true
}

// resourceFor maps a kind to its resource in the group's preferred version that serves it.
func (m *mapping) resourceFor(gk schema.GroupKind) (gvr schema.GroupVersionResource, namespaced, ok bool) {
	rm, err := m.mapper.RESTMapping(gk)
	// The mapper also guesses resources for "<Kind>List" kinds; only what discovery listed counts.
	if err != nil || !m.served[rm.Resource] {
		return schema.GroupVersionResource{}, false, false
	}
	return rm.Resource, rm.Scope.Name() == meta.RESTScopeNameNamespace, true
}

// kindFor is the kind discovery lists for a served resource (its Kind for the sink).
func (m *mapping) kindFor(gvr schema.GroupVersionResource) schema.GroupKind {
	gvk, err := m.mapper.KindFor(gvr)
	if err != nil {
		return schema.GroupKind{Group: gvr.Group}
	}
	return gvk.GroupKind()
}

// KindServed reports whether the cluster served the kind at the last discovery. It reads that
// answer only: asking about any number of kinds costs no request. A kind not served is asked
// about again at the next poll, once however often it was asked for (a CRD installed since then
// is then seen).
func (s *Sources) KindServed(gk schema.GroupKind) bool {
	m := s.mapping.Load()
	if m == nil {
		return false
	}
	gk.Group = kubestash.NormalizeGroup(gk.Group)
	_, _, ok := m.resourceFor(gk)
	if !ok {
		s.askedUnknown.Store(true)
	}
	return ok
}

// ResourceOf maps a kind to its resource (plural) from the last discovery answer; ok is false
// when the cluster did not serve it. It asks nothing and schedules no refresh.
func (s *Sources) ResourceOf(gk schema.GroupKind) (resource string, ok bool) {
	m := s.mapping.Load()
	if m == nil {
		return "", false
	}
	gvr, _, ok := m.resourceFor(schema.GroupKind{Group: kubestash.NormalizeGroup(gk.Group), Kind: gk.Kind})
	return gvr.Resource, ok
}
