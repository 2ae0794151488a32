package sources

import (
	"cmp"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// Index keys for BackupConfigurations by what they reference. A key that would name one
// BackupConfiguration's own object (its Repositories, its target, its UID) names a group of
// them instead, filtered on lookup (bcKeysWhere): client-go keeps a set per index value, about
// 250 bytes even for one key, which at 10,000 BackupConfigurations was 8 MB for three of them
// (docs/benchmarks.md, "Memory: in-process heap per source object").
func refKey(kind, ns, name string) string { return kind + ":" + ns + "/" + name }

// inKey is the byRef key of every BackupConfiguration in namespace ns.
func inKey(ns string) string { return "in:" + ns }

// targetsInKey is the byRef key of the BackupConfigurations whose target is of kind
// group/kind in namespace ns; apiGroup "core" is the core group.
func targetsInKey(group, kind, ns string) string {
	return "target:" + kubestash.NormalizeGroup(group) + "/" + kind + ":" + ns
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
	keys = append(keys, inKey(bc.Namespace))
	if t := bc.Target; t != nil && t.Kind != "" {
		keys = append(keys, targetsInKey(t.APIGroup, t.Kind, TargetNamespace(bc)), targetKindKey(t.APIGroup, t.Kind), targetKindInKey(bc.Namespace, t.APIGroup, t.Kind))
	}
	return dedup(keys), nil
}

// usesRepository reports whether a session of bc stores in its namespace's Repository name.
func usesRepository(bc *kubestash.BackupConfiguration, name string) bool {
	for _, s := range bc.Sessions {
		for _, r := range s.Repositories {
			if r == name {
				return true
			}
		}
	}
	return false
}

// targetsObject reports whether bc's target is the object namespace/name of kind group/kind.
func targetsObject(bc *kubestash.BackupConfiguration, group, kind, namespace, name string) bool {
	t := bc.Target
	return t != nil && t.Name == name && t.Kind == kind && kubestash.NormalizeGroup(t.APIGroup) == kubestash.NormalizeGroup(group) && TargetNamespace(bc) == namespace
}

// uidKey is the byOwner key: a UID within a namespace, since an owner reference only counts
// within its object's namespace.
func uidKey(namespace, uid string) string { return namespace + "/" + uid }

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

type namedObject interface {
	GetNamespace() string
	GetName() string
}

// referrers finds the BackupConfigurations that reference an object of the given ref kind.
func referrers(refKind string) func(*Sources, interface{}) []string {
	return func(s *Sources, o interface{}) []string {
		m, ok := o.(namedObject)
		if !ok {
			return nil
		}
		return s.bcKeysByIndex(byRef, refKey(refKind, m.GetNamespace(), m.GetName()))
	}
}

// repositoryReferrers finds the BackupConfigurations of a Repository's namespace that store
// in it.
func repositoryReferrers(s *Sources, o interface{}) []string {
	m, ok := o.(namedObject)
	if !ok {
		return nil
	}
	return s.bcKeysWhere(inKey(m.GetNamespace()), func(bc *kubestash.BackupConfiguration) bool { return usesRepository(bc, m.GetName()) })
}

// targetReferrers finds the BackupConfigurations whose target is the object namespace/name of
// kind group/kind.
func (s *Sources) targetReferrers(group, kind, namespace, name string) []string {
	return s.bcKeysWhere(targetsInKey(group, kind, namespace), func(bc *kubestash.BackupConfiguration) bool {
		return targetsObject(bc, group, kind, namespace, name)
	})
}

// cronJobBC routes a CronJob to the BackupConfiguration of its namespace that controls it.
func cronJobBC(s *Sources, o interface{}) []string {
	c, ok := o.(*kubestash.CronJob)
	if !ok {
		return nil
	}
	r := c.Controller
	if !kubestash.IsBackupConfigurationOwner(r) || r.UID == "" {
		return nil
	}
	return s.bcKeysWhere(inKey(c.Namespace), func(bc *kubestash.BackupConfiguration) bool { return bc.UID == r.UID })
}

// bcKeysWhere lists the BackupConfigurations indexed under byRef key for which keep holds.
func (s *Sources) bcKeysWhere(key string, keep func(*kubestash.BackupConfiguration) bool) []string {
	idx := s.store(kubestash.BackupConfigurations)
	if idx == nil {
		return nil
	}
	l, _ := idx.ByIndex(byRef, key)
	var out []string
	for _, bc := range typed[kubestash.BackupConfiguration](l) {
		if keep(bc) {
			out = append(out, bc.Namespace+"/"+bc.Name)
		}
	}
	return out
}

func (s *Sources) bcKeysByIndex(index, key string) []string {
	idx := s.store(kubestash.BackupConfigurations)
	if idx == nil {
		return nil
	}
	keys, _ := idx.IndexKeys(index, key)
	return keys
}
