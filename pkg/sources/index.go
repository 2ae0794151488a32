package sources

import (
	"cmp"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// Index keys for BackupConfigurations by what they reference.
func refKey(kind, ns, name string) string { return kind + ":" + ns + "/" + name }

// TargetKey is the byRef key of a target; apiGroup "core" is the core group.
func targetKey(t *kubestash.TypedRef) string {
	return "target:" + kubestash.NormalizeGroup(t.APIGroup) + "/" + t.Kind + ":" + t.Namespace + "/" + t.Name
}

func targetKindKey(group, kind string) string {
	return "targetkind:" + kubestash.NormalizeGroup(group) + "/" + kind
}

// targetKindInKey is the byRef key of "a BackupConfiguration in namespace ns backs up kind".
func targetKindInKey(ns, group, kind string) string {
	return "targetkindin:" + ns + ":" + kubestash.NormalizeGroup(group) + "/" + kind
}

// TargetNamespace is the namespace a target lives in: its own, or the BackupConfiguration's.
func TargetNamespace(bc *kubestash.BackupConfiguration) string {
	if bc.Target != nil && bc.Target.Namespace != "" {
		return bc.Target.Namespace
	}
	return bc.Namespace
}

func bcRefs(o interface{}) ([]string, error) {
	bc, ok := o.(*kubestash.BackupConfiguration)
	if !ok {
		return nil, nil
	}
	var keys []string
	for _, b := range bc.Backends {
		if b.StorageRef != nil {
			keys = append(keys, refKey("storage", cmp.Or(b.StorageRef.Namespace, bc.Namespace), b.StorageRef.Name))
		}
		if b.RetentionPolicy != nil {
			keys = append(keys, refKey("policy", cmp.Or(b.RetentionPolicy.Namespace, bc.Namespace), b.RetentionPolicy.Name))
		}
	}
	for _, s := range bc.Sessions {
		for _, r := range s.Repositories {
			keys = append(keys, refKey("repo", bc.Namespace, r))
		}
	}
	if bc.Target != nil && bc.Target.Kind != "" {
		t := *bc.Target
		t.Namespace = TargetNamespace(bc)
		keys = append(keys, targetKey(&t), targetKindKey(t.APIGroup, t.Kind), targetKindInKey(bc.Namespace, t.APIGroup, t.Kind))
	}
	return dedup(keys), nil
}

// uidKey is the byUID and byOwner key: a UID within a namespace, since an owner reference
// only counts within its object's namespace.
func uidKey(namespace, uid string) string { return namespace + "/" + uid }

func bcUID(o interface{}) ([]string, error) {
	if bc, ok := o.(*kubestash.BackupConfiguration); ok && bc.UID != "" {
		return []string{uidKey(bc.Namespace, string(bc.UID))}, nil
	}
	return nil, nil
}

// sessionBC indexes a BackupSession under the BackupConfiguration it belongs to: its
// spec.invoker, or else its controller owner (sessions triggered without an invoker label).
func sessionBC(o interface{}) ([]string, error) {
	s, ok := o.(*kubestash.BackupSession)
	if !ok {
		return nil, nil
	}
	if s.IsBackupConfigurationInvoker() && s.InvokerName != "" {
		return []string{s.Namespace + "/" + s.InvokerName}, nil
	}
	if r := s.Controller; kubestash.IsBackupConfigurationOwner(r) {
		return []string{s.Namespace + "/" + r.Name}, nil
	}
	return nil, nil
}

func cronOwner(o interface{}) ([]string, error) {
	c, ok := o.(*kubestash.CronJob)
	if !ok {
		return nil, nil
	}
	if r := c.Controller; kubestash.IsBackupConfigurationOwner(r) && r.UID != "" {
		return []string{uidKey(c.Namespace, string(r.UID))}, nil
	}
	return nil, nil
}

func self(_ *Sources, o interface{}) []string {
	if bc, ok := o.(*kubestash.BackupConfiguration); ok {
		return []string{bc.Namespace + "/" + bc.Name}
	}
	return nil
}

// referrers finds the BackupConfigurations that reference an object of the given ref kind.
func referrers(refKind string) func(*Sources, interface{}) []string {
	return func(s *Sources, o interface{}) []string {
		type meta interface {
			GetNamespace() string
			GetName() string
		}
		m, ok := o.(meta)
		if !ok {
			return nil
		}
		return s.bcKeysByIndex(byRef, refKey(refKind, m.GetNamespace(), m.GetName()))
	}
}

// cronJobBC routes a CronJob to the BackupConfiguration of its namespace that controls it.
func cronJobBC(s *Sources, o interface{}) []string {
	keys, _ := cronOwner(o)
	if len(keys) == 0 {
		return nil
	}
	return s.bcKeysByIndex(byUID, keys[0])
}

func (s *Sources) bcKeysByIndex(index, key string) []string {
	idx := s.store(kubestash.BackupConfigurations)
	if idx == nil {
		return nil
	}
	keys, _ := idx.IndexKeys(index, key)
	return keys
}
