package kubestash

import (
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// The decoders below never fail: a field of an unexpected type (an older KubeStash, a hand-
// edited object) reads as its zero value, so one odd object can never break an informer.

type obj = map[string]interface{}

func get(o obj, path ...string) interface{} {
	var cur interface{} = o
	for _, p := range path {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func str(o obj, path ...string) string {
	s, _ := get(o, path...).(string)
	return s
}

// istr is str, interned: for the values that repeat across many objects (namespaces,
// invokers, session names, phases, owner references, condition texts). A BackupSession is
// about a third smaller when its repeated strings share one copy.
func istr(o obj, path ...string) string { return intern(str(o, path...)) }

// interned holds one copy of each repeated string. It is bounded: when full it starts over
// (strings already shared stay shared; only later copies are not deduplicated against them).
var interned = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

const maxInterned = 1 << 17

func intern(s string) string {
	if s == "" {
		return ""
	}
	interned.Lock()
	defer interned.Unlock()
	if c, ok := interned.m[s]; ok {
		return c
	}
	if len(interned.m) >= maxInterned {
		interned.m = make(map[string]string, maxInterned/4)
	}
	s = strings.Clone(s) // do not pin the decoded object's memory
	interned.m[s] = s
	return s
}

// controller is the shared Controller value of the kept owner references (never mutated).
var controller = true

func boolean(o obj, path ...string) bool {
	b, _ := get(o, path...).(bool)
	return b
}

func boolPtr(o obj, path ...string) *bool {
	if b, ok := get(o, path...).(bool); ok {
		return &b
	}
	return nil
}

func int32Ptr(o obj, path ...string) *int32 {
	var i int64
	switch v := get(o, path...).(type) {
	case int64:
		i = v
	case float64:
		i = int64(v)
	case int:
		i = int64(v)
	default:
		return nil
	}
	r := int32(i)
	return &r
}

func list(o obj, path ...string) []interface{} {
	l, _ := get(o, path...).([]interface{})
	return l
}

func object(o obj, path ...string) obj {
	m, _ := get(o, path...).(map[string]interface{})
	return m
}

// strMap reads a map of strings with its keys interned (label and annotation keys repeat on
// every object of a kind), and its values too when internValues (label values mostly repeat;
// annotation values are free text).
func strMap(internValues bool, o obj, path ...string) map[string]string {
	m := object(o, path...)
	if len(m) == 0 {
		return nil
	}
	r := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			if internValues {
				s = intern(s)
			}
			r[intern(k)] = s
		}
	}
	return r
}

func timePtr(o obj, path ...string) *metav1.Time {
	s := str(o, path...)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	return &metav1.Time{Time: t}
}

func ref(o obj) *Ref {
	if o == nil {
		return nil
	}
	return &Ref{Namespace: istr(o, "namespace"), Name: istr(o, "name")}
}

func typedRef(o obj) *TypedRef {
	if o == nil {
		return nil
	}
	return &TypedRef{APIGroup: istr(o, "apiGroup"), Kind: istr(o, "kind"), Namespace: istr(o, "namespace"), Name: str(o, "name")}
}

// LastAppliedAnnotation is never kept: see annotationsOf.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// meta keeps the metadata every kind uses; managedFields and the like are never read.
func meta(o obj) Meta {
	m := Meta{
		Name:            str(o, "metadata", "name"),
		Namespace:       istr(o, "metadata", "namespace"),
		ResourceVersion: str(o, "metadata", "resourceVersion"),
	}
	if t := timePtr(o, "metadata", "creationTimestamp"); t != nil {
		m.CreationTimestamp = *t
	}
	return m
}

func uid(o obj) types.UID { return types.UID(str(o, "metadata", "uid")) }

func labelsOf(o obj) map[string]string { return strMap(true, o, "metadata", "labels") }

// annotationsOf drops kubectl's copy of the whole applied object (spec included): not metadata
// anyone reading a view needs, and it can hold what the view otherwise hides.
func annotationsOf(o obj) map[string]string {
	a := strMap(false, o, "metadata", "annotations")
	delete(a, LastAppliedAnnotation)
	if len(a) == 0 {
		return nil
	}
	return a
}

// controllerOf is the controller owner reference (only its kind, apiVersion, name and uid are
// read), or nil.
func controllerOf(o obj) *metav1.OwnerReference {
	for _, r := range list(o, "metadata", "ownerReferences") {
		ro, _ := r.(map[string]interface{})
		if ro == nil || !boolean(ro, "controller") {
			continue
		}
		return &metav1.OwnerReference{
			APIVersion: istr(ro, "apiVersion"), Kind: istr(ro, "kind"), Name: istr(ro, "name"),
			UID: types.UID(istr(ro, "uid")), Controller: &controller,
		}
	}
	return nil
}

func conditions(l []interface{}) []Condition {
	var out []Condition
	for _, c := range l {
		co, _ := c.(map[string]interface{})
		if co == nil {
			continue
		}
		var gen int64
		if g := int32Ptr(co, "observedGeneration"); g != nil {
			gen = int64(*g)
		}
		out = append(out, Condition{
			Type: istr(co, "type"), Status: istr(co, "status"), Severity: istr(co, "severity"),
			Reason: istr(co, "reason"), Message: istr(co, "message"), ObservedGeneration: gen,
			LastTransitionTime: timePtr(co, "lastTransitionTime"),
		})
	}
	return out
}

// DecodeBackupConfiguration reads a BackupConfiguration from its unstructured content.
func DecodeBackupConfiguration(o obj) *BackupConfiguration {
	bc := &BackupConfiguration{
		Meta:        meta(o),
		UID:         uid(o),
		Labels:      labelsOf(o),
		Annotations: annotationsOf(o),
		Target:      typedRef(object(o, "spec", "target")),
		Paused:      boolean(o, "spec", "paused"),
		Phase:       istr(o, "status", "phase"),
		Conditions:  conditions(list(o, "status", "conditions")),
	}
	for _, b := range list(o, "spec", "backends") {
		bo, _ := b.(map[string]interface{})
		if bo == nil {
			continue
		}
		bc.Backends = append(bc.Backends, Backend{
			Name: istr(bo, "name"), StorageRef: ref(object(bo, "storageRef")), RetentionPolicy: ref(object(bo, "retentionPolicy")),
		})
	}
	for _, s := range list(o, "spec", "sessions") {
		so, _ := s.(map[string]interface{})
		if so == nil {
			continue
		}
		sess := Session{Name: istr(so, "name"), Schedule: istr(so, "scheduler", "schedule"), Addon: istr(so, "addon", "name")}
		for _, t := range list(so, "addon", "tasks") {
			if to, _ := t.(map[string]interface{}); to != nil {
				sess.Tasks = append(sess.Tasks, istr(to, "name"))
			}
		}
		for _, r := range list(so, "repositories") {
			if ro, _ := r.(map[string]interface{}); ro != nil {
				sess.Repositories = append(sess.Repositories, str(ro, "name"))
			}
		}
		bc.Sessions = append(bc.Sessions, sess)
	}
	for _, s := range list(o, "status", "sessions") {
		so, _ := s.(map[string]interface{})
		if so == nil || str(so, "nextSchedule") == "" {
			continue
		}
		name, next := str(so, "name"), istr(so, "nextSchedule") // times on the schedules' boundaries
		for i := range bc.Sessions {
			if bc.Sessions[i].Name == name {
				bc.Sessions[i].NextSchedule = next
			}
		}
	}
	return bc
}

// DecodeBackupSession reads a BackupSession.
func DecodeBackupSession(o obj) *BackupSession {
	s := &BackupSession{
		Meta:            meta(o),
		InvokerAPIGroup: istr(o, "spec", "invoker", "apiGroup"),
		InvokerKind:     istr(o, "spec", "invoker", "kind"),
		InvokerName:     istr(o, "spec", "invoker", "name"),
		Session:         istr(o, "spec", "session"),
		Phase:           istr(o, "status", "phase"),
		Duration:        istr(o, "status", "duration"),
		TotalSnapshots:  int32Ptr(o, "status", "totalSnapshots"),
		BackupDeadline:  timePtr(o, "status", "backupDeadline"),
	}
	// A metav1.Duration is written as Go's duration string ("2h0m0s").
	if d, err := time.ParseDuration(str(o, "spec", "backupTimeout")); err == nil && d > 0 {
		s.BackupTimeout = d
	}
	// A session's own UID is never read, and its controller owner only matters when the
	// invoker does not name the BackupConfiguration (the index prefers the invoker).
	if !s.IsBackupConfigurationInvoker() || s.InvokerName == "" {
		s.Controller = controllerOf(o)
	}
	return s
}

// DecodeRepository reads a Repository.
func DecodeRepository(o obj) *Repository {
	return &Repository{
		Meta:           meta(o),
		AppRef:         typedRef(object(o, "spec", "appRef")),
		Phase:          istr(o, "status", "phase"),
		Size:           str(o, "status", "size"),
		SnapshotCount:  int32Ptr(o, "status", "snapshotCount"),
		Integrity:      boolPtr(o, "status", "integrity"),
		LastBackupTime: timePtr(o, "status", "lastBackupTime"),
	}
}

// DecodeBackupStorage reads a BackupStorage.
func DecodeBackupStorage(o obj) *BackupStorage {
	return &BackupStorage{
		Meta:         meta(o),
		Provider:     str(o, "spec", "storage", "provider"),
		Phase:        str(o, "status", "phase"),
		TotalSize:    str(o, "status", "totalSize"),
		Repositories: int32(len(list(o, "status", "repositories"))),
		Default:      boolean(o, "spec", "default"),
		UsagePolicy:  usagePolicy(o),
	}
}

// usagePolicy reads spec.usagePolicy.allowedNamespaces.
func usagePolicy(o obj) UsagePolicy {
	up, present := get(o, "spec", "usagePolicy").(map[string]interface{})
	if !present {
		return UsagePolicy{From: NamespacesFromSame}
	}
	p := UsagePolicy{From: istr(up, "allowedNamespaces", "from")}
	if p.From == NamespacesFromSelector {
		if sel := object(up, "allowedNamespaces", "selector"); sel != nil {
			var ls metav1.LabelSelector
			if runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls) == nil {
				if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
					p.Selector = s
				}
			}
		}
	}
	return p
}

// DecodeRetentionPolicy reads a RetentionPolicy.
func DecodeRetentionPolicy(o obj) *RetentionPolicy {
	return &RetentionPolicy{
		Meta:               meta(o),
		Annotations:        annotationsOf(o),
		MaxRetentionPeriod: str(o, "spec", "maxRetentionPeriod"),
		Default:            boolean(o, "spec", "default"),
		UsagePolicy:        usagePolicy(o),
	}
}

// DecodeCronJob reads a CronJob.
func DecodeCronJob(o obj) *CronJob {
	return &CronJob{
		Meta:             meta(o),
		Annotations:      annotationsOf(o),
		Controller:       controllerOf(o),
		Schedule:         istr(o, "spec", "schedule"),
		Suspend:          boolean(o, "spec", "suspend"),
		Active:           int32(len(list(o, "status", "active"))),
		LastScheduleTime: timePtr(o, "status", "lastScheduleTime"),
	}
}

// DecodeAddon reads an Addon's tasks.
func DecodeAddon(o obj) *Addon {
	a := &Addon{Meta: meta(o)}
	for _, t := range list(o, "spec", "backupTasks") {
		if to, _ := t.(map[string]interface{}); to != nil {
			t := AddonTask{Name: str(to, "name")}
			for _, p := range list(to, "parameters") {
				if po, _ := p.(map[string]interface{}); po != nil {
					t.Parameters = append(t.Parameters, TaskParameter{Name: str(po, "name"), Usage: str(po, "usage"),
						Required: boolean(po, "required"), Default: str(po, "default")})
				}
			}
			a.BackupTasks = append(a.BackupTasks, t)
		}
	}
	for _, t := range list(o, "spec", "restoreTasks") {
		if to, _ := t.(map[string]interface{}); to != nil {
			a.RestoreTasks = append(a.RestoreTasks, str(to, "name"))
		}
	}
	return a
}

// IsBackupConfigurationInvoker reports whether a BackupSession names a BackupConfiguration as
// its invoker; apiGroup may be omitted by older clients.
func (s *BackupSession) IsBackupConfigurationInvoker() bool {
	return s.InvokerKind == "BackupConfiguration" && (s.InvokerAPIGroup == CoreGroup || s.InvokerAPIGroup == "")
}

// IsBackupConfigurationOwner reports whether an owner reference points at a BackupConfiguration.
func IsBackupConfigurationOwner(r *metav1.OwnerReference) bool {
	return r != nil && r.Kind == "BackupConfiguration" && strings.HasPrefix(r.APIVersion, CoreGroup+"/")
}
