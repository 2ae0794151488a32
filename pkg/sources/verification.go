package sources

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// verificationIndex holds the BackupVerificationSessions by the BackupConfiguration that
// invoked them (namespace and spec.invoker.name).
type verificationIndex struct {
	byBC groupIndex[kubestash.BackupVerificationSession]
}

func newVerificationIndex() index { x := &verificationIndex{}; x.reset(); return x }

func (x *verificationIndex) reset() {
	x.byBC = groupIndex[kubestash.BackupVerificationSession]{}
}

func (x *verificationIndex) move(old, obj metav1.Object) { moveGroup(x.byBC, old, obj, verificationBC) }

func verificationBC(s *kubestash.BackupVerificationSession) (key, bool) {
	return key{s.Namespace, s.Invoker}, s.Invoker != ""
}

// BackupVerifier returns the BackupVerifier ns/name, or nil.
func (s *Sources) BackupVerifier(ns, name string) *kubestash.BackupVerifier {
	return one[kubestash.BackupVerifier](s.store(kubestash.BackupVerifiers), key{ns, name})
}

// VerificationSessions returns the BackupVerificationSessions the BackupConfiguration
// namespace/name invoked (unordered); synced is false while they are not listed (the CRD is
// not served, or not synced yet), when none can be said to be missing.
func (s *Sources) VerificationSessions(bcKey string) (sessions []*kubestash.BackupVerificationSession, synced bool) {
	st := s.store(kubestash.BackupVerificationSessions)
	if st == nil || !st.hasSynced() {
		return nil, false
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return slices.Clone(st.index.(*verificationIndex).byBC[splitKey(bcKey)]), true
}
