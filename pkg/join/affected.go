package join

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// Referrers are the sources' indexes of what the BackupConfigurations reference, which route
// a change to the views it affects; *sources.Sources implements it. Each returns
// BackupConfiguration keys (namespace/name) in a new slice, which Affected sorts in place.
type Referrers interface {
	// BackupConfigurationsUsing: those using the Repository, BackupStorage or
	// RetentionPolicy ns/name (resource: kubestash.Repositories, BackupStorages or
	// RetentionPolicies).
	BackupConfigurationsUsing(resource schema.GroupVersionResource, ns, name string) []string
	// BackupConfigurationsBackingUp: those whose target is t.
	BackupConfigurationsBackingUp(t kubestash.TypedRef) []string
	// BackupConfigurationsBackingUpKind: those whose target is of kind gk.
	BackupConfigurationsBackingUpKind(gk schema.GroupKind) []string
	// BackupConfigurationsWithUID: the one in namespace ns with this UID.
	BackupConfigurationsWithUID(ns string, uid types.UID) []string
}

// Affected returns the keys (namespace/name, sorted, distinct) of the views a change of an
// object of kind gk may affect: those its old state (nil: none) or its new one (or, deleted,
// its last) join. Both nil means every object of target kind gk (its informer has synced).
// It mirrors what Build reads, so that every view a change alters is rebuilt:
//
//   - a BackupConfiguration: its own view;
//   - a BackupSession: its BackupConfiguration's (BackupConfigurationName);
//   - a Repository, BackupStorage or RetentionPolicy: the views using it;
//   - a CronJob: its controller's, in the CronJob's namespace;
//   - a Snapshot: the views of its Repository (spec.repository, in its namespace);
//   - a target object (*kubestash.Object): the views backing it up;
//   - anything else (Addons, Namespaces): none.
func Affected(r Referrers, gk schema.GroupKind, old, obj interface{}) []string {
	if old == nil && obj == nil {
		return r.BackupConfigurationsBackingUpKind(gk)
	}
	keys := affected(r, gk, obj)
	if old != nil {
		keys = append(keys, affected(r, gk, old)...)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

func affected(r Referrers, gk schema.GroupKind, o interface{}) []string {
	switch o := o.(type) {
	case *kubestash.BackupConfiguration:
		return []string{o.Namespace + "/" + o.Name}
	case *kubestash.BackupSession:
		if name, ok := o.BackupConfigurationName(); ok {
			return []string{o.Namespace + "/" + name}
		}
	case *kubestash.Repository:
		return r.BackupConfigurationsUsing(kubestash.Repositories, o.Namespace, o.Name)
	case *kubestash.BackupStorage:
		return r.BackupConfigurationsUsing(kubestash.BackupStorages, o.Namespace, o.Name)
	case *kubestash.RetentionPolicy:
		return r.BackupConfigurationsUsing(kubestash.RetentionPolicies, o.Namespace, o.Name)
	case *kubestash.CronJob:
		if uid, ok := o.BackupConfigurationUID(); ok {
			return r.BackupConfigurationsWithUID(o.Namespace, uid)
		}
	case *kubestash.Snapshot:
		if o.Repository != "" {
			return r.BackupConfigurationsUsing(kubestash.Repositories, o.Namespace, o.Repository)
		}
	case *kubestash.BackupVerifier:
		return r.BackupConfigurationsUsing(kubestash.BackupVerifiers, o.Namespace, o.Name)
	case *kubestash.BackupVerificationSession:
		if o.Invoker != "" {
			return []string{o.Namespace + "/" + o.Invoker}
		}
	case *kubestash.Object:
		return r.BackupConfigurationsBackingUp(kubestash.TypedRef{APIGroup: gk.Group, Kind: gk.Kind, Namespace: o.Namespace, Name: o.Name})
	}
	return nil
}
