package sources

import (
	"cmp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// The indexes the joins and the routing of changes (join.Affected, through the exported
// BackupConfigurations* lookups below) read, and nothing else (docs/design.md, "The sources'
// store"): BackupConfigurations by what they reference and by UID, BackupSessions by their
// BackupConfiguration, CronJobs by their controller. Their values are made of the objects'
// own (interned) strings: an index entry allocates no key.

// refWhat is what kind of object a BackupConfiguration references.
type refWhat uint8

const (
	refStorage refWhat = iota + 1
	refPolicy
	refRepo
	refVerifier     // a BackupVerifier a repository names
	refTarget       // a target object: group, kind, namespace, name
	refTargetKind   // "backs up this kind": group, kind
	refTargetKindIn // "a BackupConfiguration in namespace ns backs up this kind": ns, group, kind
)

// ref is an index value of the BackupConfigurations' byRef index; the group is normalized
// (kubestash.NormalizeGroup).
type ref struct {
	what            refWhat
	group, kind     string
	namespace, name string
}

func objectRef(what refWhat, ns, name string) ref { return ref{what: what, namespace: ns, name: name} }

// targetRef is the byRef value of a target; apiGroup "core" is the core group.
func targetRef(t *kubestash.TypedRef) ref {
	return ref{what: refTarget, group: kubestash.NormalizeGroup(t.APIGroup), kind: t.Kind, namespace: t.Namespace, name: t.Name}
}

func targetKindRef(group, kind string) ref {
	return ref{what: refTargetKind, group: kubestash.NormalizeGroup(group), kind: kind}
}

// targetKindInRef is the byRef value of "a BackupConfiguration in namespace ns backs up kind".
func targetKindInRef(ns, group, kind string) ref {
	return ref{what: refTargetKindIn, group: kubestash.NormalizeGroup(group), kind: kind, namespace: ns}
}

// TargetNamespace is the namespace a target lives in: its own, or the BackupConfiguration's.
func TargetNamespace(bc *kubestash.BackupConfiguration) string {
	if bc.Target != nil && bc.Target.Namespace != "" {
		return bc.Target.Namespace
	}
	return bc.Namespace
}

// bcRefs are the byRef values of a BackupConfiguration, sorted and distinct.
func bcRefs(bc *kubestash.BackupConfiguration) []ref {
	var out []ref
	for _, b := range bc.Backends {
		if b.StorageRef != nil {
			out = append(out, objectRef(refStorage, cmp.Or(b.StorageRef.Namespace, bc.Namespace), b.StorageRef.Name))
		}
		if b.RetentionPolicy != nil {
			out = append(out, objectRef(refPolicy, cmp.Or(b.RetentionPolicy.Namespace, bc.Namespace), b.RetentionPolicy.Name))
		}
	}
	for _, s := range bc.Sessions {
		for _, r := range s.Repositories {
			out = append(out, objectRef(refRepo, bc.Namespace, r))
		}
		for _, v := range s.Verifiers {
			out = append(out, objectRef(refVerifier, cmp.Or(v.Verifier.Namespace, bc.Namespace), v.Verifier.Name))
		}
	}
	if bc.Target != nil && bc.Target.Kind != "" {
		t := *bc.Target
		t.Namespace = TargetNamespace(bc)
		out = append(out, targetRef(&t), targetKindRef(t.APIGroup, t.Kind), targetKindInRef(bc.Namespace, t.APIGroup, t.Kind))
	}
	slices.SortFunc(out, compareRefs)
	return slices.Compact(out)
}

func compareRefs(a, b ref) int {
	return cmp.Or(cmp.Compare(a.what, b.what), cmp.Compare(a.group, b.group), cmp.Compare(a.kind, b.kind),
		cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
}

// uidKey is the byUID and byOwner key: a UID within a namespace, since an owner reference
// only counts within its object's namespace.
func uidKey(namespace, uid string) key { return key{namespace, uid} }

// bcIndex indexes the BackupConfigurations by every object they reference (byRef: a map per
// kind of reference, each keyed by no more strings than it needs) and by namespace and UID.
type bcIndex struct {
	objects keyIndex[objectKey] // storages, policies, Repositories, BackupVerifiers
	targets keyIndex[ref]
	kinds   keyIndex[kindKey] // target kinds, and target kinds in a namespace
	byUID   keyIndex[key]
}

type objectKey struct {
	what refWhat
	key
}

type kindKey struct {
	what                   refWhat
	namespace, group, kind string
}

func newBCIndex() index { x := &bcIndex{}; x.reset(); return x }

func (x *bcIndex) reset() {
	x.objects, x.targets, x.kinds, x.byUID = keyIndex[objectKey]{}, keyIndex[ref]{}, keyIndex[kindKey]{}, keyIndex[key]{}
}

// byRef applies f to the map that holds r, with r's value in it.
func (x *bcIndex) byRef(r ref, objects func(keyIndex[objectKey], objectKey), targets func(keyIndex[ref], ref), kinds func(keyIndex[kindKey], kindKey)) {
	switch r.what {
	case refStorage, refPolicy, refRepo, refVerifier:
		objects(x.objects, objectKey{r.what, key{r.namespace, r.name}})
	case refTarget:
		targets(x.targets, r)
	case refTargetKind, refTargetKindIn:
		kinds(x.kinds, kindKey{r.what, r.namespace, r.group, r.kind})
	}
}

func (x *bcIndex) put(r ref, k key, add bool) {
	x.byRef(r,
		func(m keyIndex[objectKey], v objectKey) { put(m, v, k, add) },
		func(m keyIndex[ref], v ref) { put(m, v, k, add) },
		func(m keyIndex[kindKey], v kindKey) { put(m, v, k, add) })
}

func put[V comparable](m keyIndex[V], v V, k key, add bool) {
	if add {
		m.add(v, k)
	} else {
		m.remove(v, k)
	}
}

// lookup returns the keys of the BackupConfigurations that reference r.
func (x *bcIndex) lookup(r ref) (out []string) {
	x.byRef(r,
		func(m keyIndex[objectKey], v objectKey) { out = m.lookup(v) },
		func(m keyIndex[ref], v ref) { out = m.lookup(v) },
		func(m keyIndex[kindKey], v kindKey) { out = m.lookup(v) })
	return out
}

func (x *bcIndex) move(old, obj metav1.Object) {
	o, _ := old.(*kubestash.BackupConfiguration)
	n, _ := obj.(*kubestash.BackupConfiguration)
	var oldRefs, newRefs []ref
	if o != nil {
		oldRefs = bcRefs(o)
	}
	if n != nil {
		newRefs = bcRefs(n)
	}
	// Most updates (status) change no reference: nothing to do.
	if o != nil && n != nil && slices.Equal(oldRefs, newRefs) && o.UID == n.UID {
		return
	}
	if o != nil {
		k := keyOf(o)
		for _, r := range oldRefs {
			x.put(r, k, false)
		}
		if o.UID != "" {
			x.byUID.remove(uidKey(o.Namespace, string(o.UID)), k)
		}
	}
	if n != nil {
		k := keyOf(n)
		for _, r := range newRefs {
			x.put(r, k, true)
		}
		if n.UID != "" {
			x.byUID.add(uidKey(n.Namespace, string(n.UID)), k)
		}
	}
}

// sessionBC is the key of the BackupConfiguration a BackupSession belongs to
// (BackupConfigurationName: the one rule the routing of changes reads too).
func sessionBC(s *kubestash.BackupSession) (key, bool) {
	name, ok := s.BackupConfigurationName()
	return key{s.Namespace, name}, ok
}

// sessionIndex holds the BackupSessions by their BackupConfiguration (byBC).
type sessionIndex struct {
	byBC groupIndex[kubestash.BackupSession]
}

func newSessionIndex() index { x := &sessionIndex{}; x.reset(); return x }

func (x *sessionIndex) reset() { x.byBC = groupIndex[kubestash.BackupSession]{} }

func (x *sessionIndex) move(old, obj metav1.Object) {
	moveGroup(x.byBC, old, obj, sessionBC)
}

// cronOwner is the BackupConfiguration (namespace and UID) that controls a CronJob
// (BackupConfigurationUID: the one rule the routing of changes reads too).
func cronOwner(c *kubestash.CronJob) (key, bool) {
	uid, ok := c.BackupConfigurationUID()
	return uidKey(c.Namespace, string(uid)), ok
}

// cronIndex holds the CronJobs by namespace and controller owner UID (byOwner).
type cronIndex struct{ byOwner groupIndex[kubestash.CronJob] }

func newCronIndex() index { x := &cronIndex{}; x.reset(); return x }

func (x *cronIndex) reset() { x.byOwner = groupIndex[kubestash.CronJob]{} }

func (x *cronIndex) move(old, obj metav1.Object) { moveGroup(x.byOwner, old, obj, cronOwner) }

// moveGroup moves an object of a groupIndex from old's group to obj's.
func moveGroup[T any](x groupIndex[T], old, obj metav1.Object, group func(*T) (key, bool)) {
	o, _ := any(old).(*T)
	n, _ := any(obj).(*T)
	var og, ng key
	var oOK, nOK bool
	if o != nil {
		og, oOK = group(o)
	}
	if n != nil {
		ng, nOK = group(n)
	}
	if oOK && nOK && og == ng {
		x.replace(og, o, n)
		return
	}
	if oOK {
		x.remove(og, o)
	}
	if nOK {
		x.add(ng, n)
	}
}

// BackupConfigurationsUsing returns the keys (namespace/name, sorted) of the
// BackupConfigurations that use the Repository, BackupStorage, RetentionPolicy or
// BackupVerifier ns/name: resource is kubestash.Repositories, BackupStorages,
// RetentionPolicies or BackupVerifiers (any version);
// nil for any other. A reference without a namespace was indexed as the
// BackupConfiguration's own (bcRefs), so ns is always the object's.
func (s *Sources) BackupConfigurationsUsing(resource schema.GroupVersionResource, ns, name string) []string {
	var what refWhat
	switch resource.GroupResource() {
	case kubestash.Repositories.GroupResource():
		what = refRepo
	case kubestash.BackupStorages.GroupResource():
		what = refStorage
	case kubestash.RetentionPolicies.GroupResource():
		what = refPolicy
	case kubestash.BackupVerifiers.GroupResource():
		what = refVerifier
	default:
		return nil
	}
	return s.bcsReferencing(objectRef(what, ns, name))
}

// BackupConfigurationsBackingUp returns the keys (sorted) of the BackupConfigurations whose
// target is t (apiGroup "core" is the core group; t.Namespace is the target's own).
func (s *Sources) BackupConfigurationsBackingUp(t kubestash.TypedRef) []string {
	return s.bcsReferencing(targetRef(&t))
}

// BackupConfigurationsBackingUpKind returns the keys (sorted) of the BackupConfigurations
// whose target is of kind gk, in any namespace.
func (s *Sources) BackupConfigurationsBackingUpKind(gk schema.GroupKind) []string {
	return s.bcsReferencing(targetKindRef(gk.Group, gk.Kind))
}

// BackupConfigurationsWithUID returns the key of the BackupConfiguration in namespace ns with
// this UID, if any: an owner reference counts only within its object's namespace.
func (s *Sources) BackupConfigurationsWithUID(ns string, uid types.UID) []string {
	if uid == "" {
		return nil
	}
	return s.bcsByUID(uidKey(ns, string(uid)))
}

// bcsReferencing returns the keys of the BackupConfigurations that reference r.
func (s *Sources) bcsReferencing(r ref) []string {
	return bcLookup(s, func(x *bcIndex) []string { return x.lookup(r) })
}

// bcsByUID returns the key of the BackupConfiguration with this namespace and UID.
func (s *Sources) bcsByUID(k key) []string {
	return bcLookup(s, func(x *bcIndex) []string { return x.byUID.lookup(k) })
}

func bcLookup(s *Sources, read func(*bcIndex) []string) []string {
	st := s.store(kubestash.BackupConfigurations)
	if st == nil {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return read(st.index.(*bcIndex))
}
