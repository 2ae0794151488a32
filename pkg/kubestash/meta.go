package kubestash

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Meta is the metadata every decoded object keeps, in place of metav1.ObjectMeta (232 bytes,
// 72 here): the sources' stores hold 140,000 of them at the default scale (docs/benchmarks.md,
// "Memory: in-process heap per source object"). The kinds that read more (a UID, labels,
// annotations, the controller owner) hold those fields themselves.
//
// *Meta implements metav1.Object because that is how they are reached: client-go's reflector
// reads each object's resourceVersion through meta.Accessor, the sources' store keys objects by
// namespace and name, and the target and namespace informers (client-go) key and index them.
// The objects in a store are never changed: the fields Meta does not hold read as empty, and
// setting them does nothing.
type Meta struct {
	Name              string
	Namespace         string
	ResourceVersion   string
	CreationTimestamp metav1.Time
}

var _ metav1.Object = &Meta{}

func (m *Meta) GetNamespace() string                          { return m.Namespace }
func (m *Meta) SetNamespace(namespace string)                 { m.Namespace = namespace }
func (m *Meta) GetName() string                               { return m.Name }
func (m *Meta) SetName(name string)                           { m.Name = name }
func (m *Meta) GetResourceVersion() string                    { return m.ResourceVersion }
func (m *Meta) SetResourceVersion(version string)             { m.ResourceVersion = version }
func (m *Meta) GetCreationTimestamp() metav1.Time             { return m.CreationTimestamp }
func (m *Meta) SetCreationTimestamp(timestamp metav1.Time)    { m.CreationTimestamp = timestamp }
func (m *Meta) GetGenerateName() string                       { return "" }
func (m *Meta) SetGenerateName(string)                        {}
func (m *Meta) GetUID() types.UID                             { return "" }
func (m *Meta) SetUID(types.UID)                              {}
func (m *Meta) GetGeneration() int64                          { return 0 }
func (m *Meta) SetGeneration(int64)                           {}
func (m *Meta) GetSelfLink() string                           { return "" }
func (m *Meta) SetSelfLink(string)                            {}
func (m *Meta) GetDeletionTimestamp() *metav1.Time            { return nil }
func (m *Meta) SetDeletionTimestamp(*metav1.Time)             {}
func (m *Meta) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (m *Meta) SetDeletionGracePeriodSeconds(*int64)          {}
func (m *Meta) GetLabels() map[string]string                  { return nil }
func (m *Meta) SetLabels(map[string]string)                   {}
func (m *Meta) GetAnnotations() map[string]string             { return nil }
func (m *Meta) SetAnnotations(map[string]string)              {}
func (m *Meta) GetFinalizers() []string                       { return nil }
func (m *Meta) SetFinalizers([]string)                        {}
func (m *Meta) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (m *Meta) SetOwnerReferences([]metav1.OwnerReference)    {}
func (m *Meta) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (m *Meta) SetManagedFields([]metav1.ManagedFieldsEntry)  {}

// The kinds' own metadata fields, read through metav1.Object like Meta's.

func (bc *BackupConfiguration) GetUID() types.UID                    { return bc.UID }
func (bc *BackupConfiguration) GetLabels() map[string]string         { return bc.Labels }
func (bc *BackupConfiguration) GetAnnotations() map[string]string    { return bc.Annotations }
func (s *BackupSession) GetOwnerReferences() []metav1.OwnerReference { return owners(s.Controller) }
func (p *RetentionPolicy) GetAnnotations() map[string]string         { return p.Annotations }
func (c *CronJob) GetAnnotations() map[string]string                 { return c.Annotations }
func (c *CronJob) GetOwnerReferences() []metav1.OwnerReference       { return owners(c.Controller) }
func (n *Namespace) GetUID() types.UID                               { return n.UID }
func (n *Namespace) GetLabels() map[string]string                    { return n.Labels }

func owners(controller *metav1.OwnerReference) []metav1.OwnerReference {
	if controller == nil {
		return nil
	}
	return []metav1.OwnerReference{*controller}
}
