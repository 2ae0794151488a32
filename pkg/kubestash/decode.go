package kubestash

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The decoders below read an object's JSON, as the API server sends it, straight into small
// wire structs naming only the fields the views read: no map per object, and everything else
// (managedFields, the spec's other fields) is skipped by the scanner without an allocation
// (docs/benchmarks.md, "Start to ready").
//
// They never fail: a field of an unexpected type (an older KubeStash, a hand-edited object)
// reads as its zero value, so one odd object can never break an informer. encoding/json keeps
// decoding past a mistyped field; the scalar wire types below never return an error, list
// entries of the wrong type are dropped, and a reference that decoded to nothing is nil.

// unmarshal decodes data into v as far as it is well typed.
func unmarshal(data []byte, v interface{}) {
	_ = json.Unmarshal(data, v) // mistyped fields are left zero; the rest is filled
}

// present drops the entries of a decoded list that are null or were of the wrong type.
func present[T any](l []*T) []*T {
	out := l[:0]
	for _, e := range l {
		if e != nil && !reflect.ValueOf(*e).IsZero() {
			out = append(out, e)
		}
	}
	return out
}

// optInt32 is an optional integer: absent, null or not a number reads as unset.
type optInt32 struct {
	v  int32
	ok bool
}

func (i *optInt32) UnmarshalJSON(b []byte) error {
	var f float64
	if json.Unmarshal(b, &f) == nil && !bytes.Equal(b, []byte("null")) {
		i.v, i.ok = int32(int64(f)), true
	}
	return nil
}

func (i optInt32) ptr() *int32 {
	if !i.ok {
		return nil
	}
	v := i.v
	return &v
}

// optBool is an optional boolean: absent, null or not a boolean reads as unset.
type optBool struct{ v, ok bool }

func (o *optBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		o.v, o.ok = true, true
	case "false":
		o.v, o.ok = false, true
	}
	return nil
}

func (o optBool) ptr() *bool {
	if !o.ok {
		return nil
	}
	v := o.v
	return &v
}

// optTime is an RFC 3339 time: absent, empty or unparsable reads as unset.
type optTime struct{ t *metav1.Time }

func (o *optTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil || s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		o.t = &metav1.Time{Time: t}
	}
	return nil
}

// interned holds one copy of each repeated string (namespaces, invokers, session names,
// phases, owner references, condition texts): a BackupSession is about a third smaller when
// its repeated strings share one copy. It is bounded: when full it starts over (strings
// already shared stay shared; only later copies are not deduplicated against them).
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

// invokers holds one copy of each invoker apiGroup and kind pair, bounded like interned.
var invokers = struct {
	sync.Mutex
	m map[Invoker]*Invoker
}{m: map[Invoker]*Invoker{}}

// InvokerOf returns the shared copy of an invoker's apiGroup and kind; nil when both are
// empty. The copies are never changed.
func InvokerOf(apiGroup, kind string) *Invoker {
	if apiGroup == "" && kind == "" {
		return nil
	}
	k := Invoker{APIGroup: apiGroup, Kind: kind}
	invokers.Lock()
	defer invokers.Unlock()
	if c, ok := invokers.m[k]; ok {
		return c
	}
	if len(invokers.m) >= maxInterned/16 {
		invokers.m = map[Invoker]*Invoker{}
	}
	c := &Invoker{APIGroup: strings.Clone(apiGroup), Kind: strings.Clone(kind)}
	invokers.m[*c] = c
	return c
}

// controller is the shared Controller value of the kept owner references (never mutated).
var controller = true

// strMap keeps a decoded map of strings with its keys interned (label and annotation keys
// repeat on every object of a kind), and its values too when internValues (label values
// mostly repeat; annotation values are free text).
func strMap(internValues bool, m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	r := make(map[string]string, len(m))
	for k, v := range m {
		if internValues {
			v = intern(v)
		}
		r[intern(k)] = v
	}
	return r
}

type wireRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r *wireRef) ref() *Ref {
	if r == nil || *r == (wireRef{}) {
		return nil
	}
	return &Ref{Namespace: intern(r.Namespace), Name: intern(r.Name)}
}

type wireTypedRef struct {
	APIGroup  string `json:"apiGroup"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r *wireTypedRef) typedRef() *TypedRef {
	if r == nil || *r == (wireTypedRef{}) {
		return nil
	}
	return &TypedRef{APIGroup: intern(r.APIGroup), Kind: intern(r.Kind), Namespace: intern(r.Namespace), Name: r.Name}
}

// wireMeta is the metadata every kind reads; managedFields and the like are skipped.
type wireMeta struct {
	Name              string       `json:"name"`
	Namespace         string       `json:"namespace"`
	UID               string       `json:"uid"`
	ResourceVersion   string       `json:"resourceVersion"`
	CreationTimestamp optTime      `json:"creationTimestamp"`
	OwnerReferences   []*wireOwner `json:"ownerReferences"`
}

// wireMetaLabeled adds the labels and annotations, for the kinds that keep them.
type wireMetaLabeled struct {
	wireMeta
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type wireOwner struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Controller bool   `json:"controller"`
}

func (m *wireMeta) meta() Meta {
	out := Meta{Name: m.Name, Namespace: intern(m.Namespace), ResourceVersion: m.ResourceVersion}
	if m.CreationTimestamp.t != nil {
		out.CreationTimestamp = *m.CreationTimestamp.t
	}
	return out
}

// controllerOf is the controller owner reference (only its kind, apiVersion, name and uid are
// kept), or nil.
func (m *wireMeta) controllerOf() *metav1.OwnerReference {
	for _, r := range m.OwnerReferences {
		if r != nil && r.Controller {
			return &metav1.OwnerReference{
				APIVersion: intern(r.APIVersion), Kind: intern(r.Kind), Name: intern(r.Name),
				UID: types.UID(intern(r.UID)), Controller: &controller,
			}
		}
	}
	return nil
}

// LastAppliedAnnotation is never kept: see annotations.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// annotations drops kubectl's copy of the whole applied object (spec included): not metadata
// anyone reading a view needs, and it can hold what the view otherwise hides.
func (m *wireMetaLabeled) annotations() map[string]string {
	delete(m.Annotations, LastAppliedAnnotation)
	return strMap(false, m.Annotations)
}

type wireCondition struct {
	Type               string   `json:"type"`
	Status             string   `json:"status"`
	Severity           string   `json:"severity"`
	Reason             string   `json:"reason"`
	Message            string   `json:"message"`
	ObservedGeneration optInt32 `json:"observedGeneration"`
	LastTransitionTime optTime  `json:"lastTransitionTime"`
}

func conditions(l []*wireCondition) []Condition {
	var out []Condition
	for _, c := range present(l) {
		out = append(out, Condition{
			Type: intern(c.Type), Status: intern(c.Status), Severity: intern(c.Severity),
			Reason: intern(c.Reason), Message: intern(c.Message), ObservedGeneration: int64(c.ObservedGeneration.v),
			LastTransitionTime: c.LastTransitionTime.t,
		})
	}
	return out
}

type named struct {
	Name string `json:"name"`
}

// names keeps the names of the entries of a decoded list that have one.
func names(l []*named, internThem bool) []string {
	var out []string
	for _, n := range present(l) {
		if internThem {
			out = append(out, intern(n.Name))
		} else {
			out = append(out, n.Name)
		}
	}
	return out
}

// DecodeBackupConfiguration reads a BackupConfiguration from its JSON.
func DecodeBackupConfiguration(data []byte) *BackupConfiguration {
	var w struct {
		Metadata wireMetaLabeled `json:"metadata"`
		Spec     struct {
			Paused   bool          `json:"paused"`
			Target   *wireTypedRef `json:"target"`
			Backends []*struct {
				Name            string   `json:"name"`
				StorageRef      *wireRef `json:"storageRef"`
				RetentionPolicy *wireRef `json:"retentionPolicy"`
			} `json:"backends"`
			Sessions []*struct {
				Name      string `json:"name"`
				Scheduler struct {
					Schedule string `json:"schedule"`
				} `json:"scheduler"`
				Addon struct {
					Name  string   `json:"name"`
					Tasks []*named `json:"tasks"`
				} `json:"addon"`
				Repositories []*struct {
					Name           string   `json:"name"`
					BackupVerifier *wireRef `json:"backupVerifier"`
				} `json:"repositories"`
			} `json:"sessions"`
		} `json:"spec"`
		Status struct {
			Phase      string           `json:"phase"`
			Conditions []*wireCondition `json:"conditions"`
			Sessions   []*struct {
				Name         string `json:"name"`
				NextSchedule string `json:"nextSchedule"`
			} `json:"sessions"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	bc := &BackupConfiguration{
		Meta:        w.Metadata.meta(),
		UID:         types.UID(w.Metadata.UID),
		Labels:      strMap(true, w.Metadata.Labels),
		Annotations: w.Metadata.annotations(),
		Target:      w.Spec.Target.typedRef(),
		Paused:      w.Spec.Paused,
		Phase:       intern(w.Status.Phase),
		Conditions:  conditions(w.Status.Conditions),
	}
	for _, b := range present(w.Spec.Backends) {
		bc.Backends = append(bc.Backends, Backend{Name: intern(b.Name), StorageRef: b.StorageRef.ref(), RetentionPolicy: b.RetentionPolicy.ref()})
	}
	for _, s := range present(w.Spec.Sessions) {
		sess := Session{Name: intern(s.Name), Schedule: intern(s.Scheduler.Schedule), Addon: intern(s.Addon.Name),
			Tasks: names(s.Addon.Tasks, true)}
		for _, r := range present(s.Repositories) {
			if r.Name == "" {
				continue
			}
			sess.Repositories = append(sess.Repositories, r.Name)
			if v := r.BackupVerifier.ref(); v != nil && v.Name != "" {
				sess.Verifiers = append(sess.Verifiers, RepositoryVerifier{Repository: r.Name, Verifier: *v})
			}
		}
		bc.Sessions = append(bc.Sessions, sess)
	}
	for _, s := range present(w.Status.Sessions) {
		if s.NextSchedule == "" {
			continue
		}
		next := intern(s.NextSchedule) // times on the schedules' boundaries
		for i := range bc.Sessions {
			if bc.Sessions[i].Name == s.Name {
				bc.Sessions[i].NextSchedule = next
			}
		}
	}
	return bc
}

// DecodeBackupSession reads a BackupSession.
func DecodeBackupSession(data []byte) *BackupSession {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			Invoker       wireTypedRef `json:"invoker"`
			Session       string       `json:"session"`
			BackupTimeout string       `json:"backupTimeout"`
		} `json:"spec"`
		Status struct {
			Phase          string   `json:"phase"`
			Duration       string   `json:"duration"`
			TotalSnapshots optInt32 `json:"totalSnapshots"`
			BackupDeadline optTime  `json:"backupDeadline"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	s := &BackupSession{
		Meta:           w.Metadata.meta(),
		Invoker:        InvokerOf(w.Spec.Invoker.APIGroup, w.Spec.Invoker.Kind),
		InvokerName:    intern(w.Spec.Invoker.Name),
		Session:        intern(w.Spec.Session),
		Phase:          intern(w.Status.Phase),
		Duration:       intern(w.Status.Duration),
		TotalSnapshots: w.Status.TotalSnapshots.ptr(),
		BackupDeadline: w.Status.BackupDeadline.t,
	}
	// A metav1.Duration is written as Go's duration string ("2h0m0s").
	if d, err := time.ParseDuration(w.Spec.BackupTimeout); err == nil && d > 0 {
		s.BackupTimeout = d
	}
	// A session's own UID is never read, and its controller owner only matters when the
	// invoker does not name the BackupConfiguration (the index prefers the invoker).
	if !s.IsBackupConfigurationInvoker() || s.InvokerName == "" {
		s.Controller = w.Metadata.controllerOf()
	}
	return s
}

// DecodeRepository reads a Repository.
func DecodeRepository(data []byte) *Repository {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			AppRef *wireTypedRef `json:"appRef"`
		} `json:"spec"`
		Status struct {
			Phase          string   `json:"phase"`
			Size           string   `json:"size"`
			SnapshotCount  optInt32 `json:"snapshotCount"`
			Integrity      optBool  `json:"integrity"`
			LastBackupTime optTime  `json:"lastBackupTime"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	return &Repository{
		Meta:           w.Metadata.meta(),
		AppRef:         w.Spec.AppRef.typedRef(),
		Phase:          intern(w.Status.Phase),
		Size:           w.Status.Size,
		SnapshotCount:  w.Status.SnapshotCount.ptr(),
		Integrity:      w.Status.Integrity.ptr(),
		LastBackupTime: w.Status.LastBackupTime.t,
	}
}

// wireUsagePolicy is spec.usagePolicy; its selector is decoded strictly (usagePolicy).
type wireUsagePolicy struct {
	AllowedNamespaces struct {
		From     string          `json:"from"`
		Selector json.RawMessage `json:"selector"`
	} `json:"allowedNamespaces"`
}

// usagePolicy reads spec.usagePolicy.allowedNamespaces. An object without one reads as Same.
// A selector decodes strictly or not at all (then it admits no namespace): a selector read
// in part could admit namespaces its author did not mean.
func usagePolicy(up *wireUsagePolicy) UsagePolicy {
	if up == nil {
		return UsagePolicy{From: NamespacesFromSame}
	}
	p := UsagePolicy{From: intern(up.AllowedNamespaces.From)}
	if raw := up.AllowedNamespaces.Selector; p.From == NamespacesFromSelector && len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		var ls metav1.LabelSelector
		if json.Unmarshal(raw, &ls) == nil {
			if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
				p.Selector = s
			}
		}
	}
	return p
}

// DecodeBackupStorage reads a BackupStorage.
func DecodeBackupStorage(data []byte) *BackupStorage {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			Storage struct {
				Provider string `json:"provider"`
			} `json:"storage"`
			Default     bool             `json:"default"`
			UsagePolicy *wireUsagePolicy `json:"usagePolicy"`
		} `json:"spec"`
		Status struct {
			Phase        string     `json:"phase"`
			TotalSize    string     `json:"totalSize"`
			Repositories []struct{} `json:"repositories"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	return &BackupStorage{
		Meta:         w.Metadata.meta(),
		Provider:     w.Spec.Storage.Provider,
		Phase:        w.Status.Phase,
		TotalSize:    w.Status.TotalSize,
		Repositories: int32(len(w.Status.Repositories)),
		Default:      w.Spec.Default,
		UsagePolicy:  usagePolicy(w.Spec.UsagePolicy),
	}
}

// DecodeRetentionPolicy reads a RetentionPolicy.
func DecodeRetentionPolicy(data []byte) *RetentionPolicy {
	var w struct {
		Metadata wireMetaLabeled `json:"metadata"`
		Spec     struct {
			MaxRetentionPeriod string           `json:"maxRetentionPeriod"`
			Default            bool             `json:"default"`
			UsagePolicy        *wireUsagePolicy `json:"usagePolicy"`
		} `json:"spec"`
	}
	unmarshal(data, &w)
	return &RetentionPolicy{
		Meta:               w.Metadata.meta(),
		Annotations:        w.Metadata.annotations(),
		MaxRetentionPeriod: w.Spec.MaxRetentionPeriod,
		Default:            w.Spec.Default,
		UsagePolicy:        usagePolicy(w.Spec.UsagePolicy),
	}
}

// DecodeCronJob reads a CronJob.
func DecodeCronJob(data []byte) *CronJob {
	var w struct {
		Metadata wireMetaLabeled `json:"metadata"`
		Spec     struct {
			Schedule string `json:"schedule"`
			Suspend  bool   `json:"suspend"`
		} `json:"spec"`
		Status struct {
			Active           []struct{} `json:"active"`
			LastScheduleTime optTime    `json:"lastScheduleTime"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	return &CronJob{
		Meta:             w.Metadata.meta(),
		Annotations:      w.Metadata.annotations(),
		Controller:       w.Metadata.controllerOf(),
		Schedule:         intern(w.Spec.Schedule),
		Suspend:          w.Spec.Suspend,
		Active:           int32(len(w.Status.Active)),
		LastScheduleTime: w.Status.LastScheduleTime.t,
	}
}

// wireTask is one spec.backupTasks[] or spec.restoreTasks[] entry: both have the same shape.
type wireTask struct {
	Name       string `json:"name"`
	Parameters []*struct {
		Name     string `json:"name"`
		Usage    string `json:"usage"`
		Required bool   `json:"required"`
		Default  string `json:"default"`
	} `json:"parameters"`
}

// addonTasks keeps the tasks (and their parameters) that decoded as objects.
func addonTasks(l []*wireTask) []AddonTask {
	var out []AddonTask
	for _, t := range present(l) {
		task := AddonTask{Name: t.Name}
		for _, p := range present(t.Parameters) {
			task.Parameters = append(task.Parameters, TaskParameter{Name: p.Name, Usage: p.Usage, Required: p.Required, Default: p.Default})
		}
		out = append(out, task)
	}
	return out
}

// DecodeAddon reads an Addon's tasks.
func DecodeAddon(data []byte) *Addon {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			BackupTasks  []*wireTask `json:"backupTasks"`
			RestoreTasks []*wireTask `json:"restoreTasks"`
		} `json:"spec"`
	}
	unmarshal(data, &w)
	return &Addon{Meta: w.Metadata.meta(), BackupTasks: addonTasks(w.Spec.BackupTasks), RestoreTasks: addonTasks(w.Spec.RestoreTasks)}
}

// IsBackupConfigurationInvoker reports whether a BackupSession names a BackupConfiguration as
// its invoker; apiGroup may be omitted by older clients.
func (s *BackupSession) IsBackupConfigurationInvoker() bool {
	return s.Invoker != nil && s.Invoker.Kind == "BackupConfiguration" && (s.Invoker.APIGroup == CoreGroup || s.Invoker.APIGroup == "")
}

// IsBackupConfigurationOwner reports whether an owner reference points at a BackupConfiguration.
func IsBackupConfigurationOwner(r *metav1.OwnerReference) bool {
	return r != nil && r.Kind == "BackupConfiguration" && strings.HasPrefix(r.APIVersion, CoreGroup+"/")
}

// BackupConfigurationName is the name of the BackupConfiguration the session belongs to, in
// the session's namespace (docs/design.md, "KubeStash facts the joins use"): its spec.invoker,
// or else its controller owner (sessions triggered without an invoker). The sources' index
// and the routing of changes to views both read it, so they cannot disagree.
func (s *BackupSession) BackupConfigurationName() (string, bool) {
	if s.IsBackupConfigurationInvoker() && s.InvokerName != "" {
		return s.InvokerName, true
	}
	if r := s.Controller; IsBackupConfigurationOwner(r) {
		return r.Name, true
	}
	return "", false
}

// BackupConfigurationUID is the UID of the BackupConfiguration that controls the CronJob (its
// controller owner reference); that BackupConfiguration is in the CronJob's namespace.
func (c *CronJob) BackupConfigurationUID() (types.UID, bool) {
	if r := c.Controller; IsBackupConfigurationOwner(r) && r.UID != "" {
		return r.UID, true
	}
	return "", false
}
