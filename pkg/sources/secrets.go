package sources

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/kubestash"
)

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// SecretKind is the Kind of a Secret's Change (WatchSecretNames).
var SecretKind = schema.GroupKind{Kind: "Secret"}

// WatchSecretNames enables the opt-in check that encryption Secrets exist. It watches Secret
// metadata only (never data), which needs list and watch on Secrets: an RBAC cost operators
// must choose, so it is off by default. Call before Start.
func (s *Sources) WatchSecretNames() {
	inf := s.metadataInformer(secretsGVR, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, func(m *metav1.PartialObjectMetadata) interface{} {
		return &kubestash.Object{Meta: kubestash.Meta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}}
	})
	s.reportChanges(inf, SecretKind)
	s.mu.Lock()
	s.secrets = inf
	s.mu.Unlock()
}

// SecretExists reports whether the Secret exists; checked is false when the check is off or
// its informer has not synced yet.
func (s *Sources) SecretExists(ns, name string) (exists, checked bool) {
	s.mu.RLock()
	inf := s.secrets
	s.mu.RUnlock()
	if inf == nil || !inf.HasSynced() {
		return false, false
	}
	_, ok, _ := inf.GetStore().GetByKey(ns + "/" + name)
	return ok, true
}

func (s *Sources) startSecrets() {
	s.mu.RLock()
	inf, ctx := s.secrets, s.ctx
	s.mu.RUnlock()
	if inf != nil {
		go inf.RunWithContext(ctx)
	}
}
