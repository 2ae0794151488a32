// Package kubestash holds small hand-written structs for exactly the KubeStash (and CronJob)
// fields backupview reads, and their tolerant decoding from unstructured objects. The
// kubestash.dev Go module is not importable here (it drags in KubeDB), and decoding only what
// the views use keeps memory proportional to what is served.
package kubestash

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Group names and the resources backupview watches.
const (
	CoreGroup    = "core.kubestash.com"
	StorageGroup = "storage.kubestash.com"
	AddonsGroup  = "addons.kubestash.com"
	Version      = "v1alpha1"
)

var (
	BackupConfigurations = schema.GroupVersionResource{Group: CoreGroup, Version: Version, Resource: "backupconfigurations"}
	BackupSessions       = schema.GroupVersionResource{Group: CoreGroup, Version: Version, Resource: "backupsessions"}
	Repositories         = schema.GroupVersionResource{Group: StorageGroup, Version: Version, Resource: "repositories"}
	BackupStorages       = schema.GroupVersionResource{Group: StorageGroup, Version: Version, Resource: "backupstorages"}
	RetentionPolicies    = schema.GroupVersionResource{Group: StorageGroup, Version: Version, Resource: "retentionpolicies"}
	Addons               = schema.GroupVersionResource{Group: AddonsGroup, Version: Version, Resource: "addons"}
	CronJobs             = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
)

// Ref is a kmodules ObjectReference: an empty namespace means the referrer's.
type Ref struct {
	Namespace string
	Name      string
}

// BackupSession phases (status.phase).
const (
	SessionPending   = "Pending"
	SessionRunning   = "Running"
	SessionSucceeded = "Succeeded"
	SessionFailed    = "Failed"
	SessionSkipped   = "Skipped"
)

// The BackupConfiguration phase and condition the health verdict reads: the phase is Invalid
// when the ValidationPassed condition is False.
const (
	PhaseInvalid              = "Invalid"
	ConditionValidationPassed = "ValidationPassed"
)

// NormalizeGroup maps the console's apiGroup "core" to the core group "" (both mean it).
func NormalizeGroup(g string) string {
	if g == "core" {
		return ""
	}
	return g
}

// TypedRef is a kmodules TypedObjectReference.
type TypedRef struct {
	APIGroup  string
	Kind      string
	Namespace string
	Name      string
}

// Condition is a kmodules condition.
type Condition struct {
	Type               string
	Status             string
	Severity           string
	Reason             string
	Message            string
	ObservedGeneration int64
	LastTransitionTime *metav1.Time
}

// BackupConfiguration keeps what the view shows and what the joins follow.
type BackupConfiguration struct {
	Meta
	UID         types.UID
	Labels      map[string]string
	Annotations map[string]string
	Target      *TypedRef
	Backends    []Backend
	Sessions    []Session
	Paused      bool
	Phase       string
	Conditions  []Condition
}

// Backend is one spec.backends[] entry.
type Backend struct {
	Name            string
	StorageRef      *Ref
	RetentionPolicy *Ref
}

// Session is one spec.sessions[] entry.
type Session struct {
	Name         string
	Schedule     string
	Addon        string
	Tasks        []string
	Repositories []string
	// Verifiers are the repositories' BackupVerifiers (repositories[].backupVerifier), for
	// those that name one.
	Verifiers []RepositoryVerifier
	// NextSchedule is status.sessions[].nextSchedule of the session of this name ("": none).
	// Kept here rather than in a map by name: a map costs about 300 bytes.
	NextSchedule string
}

// RepositoryVerifier is the BackupVerifier a session names for one of its repositories; an
// empty namespace is the BackupConfiguration's.
type RepositoryVerifier struct {
	Repository string
	Verifier   Ref
}

// BackupSession is one run of a BackupConfiguration session.
type BackupSession struct {
	Meta
	// Controller is the controller owner reference, kept only when the invoker does not name
	// the BackupConfiguration (the index prefers the invoker).
	Controller *metav1.OwnerReference
	// Invoker is spec.invoker's apiGroup and kind: one shared copy per pair (InvokerOf), a
	// pointer instead of two strings in each of the 100,000 BackupSessions of the default
	// scale (docs/benchmarks.md, "Memory: in-process heap per source object"). nil: none.
	Invoker        *Invoker
	InvokerName    string
	Session        string
	Phase          string
	Duration       string
	TotalSnapshots *int32
	// BackupTimeout is spec.backupTimeout (0 when absent or not a duration).
	BackupTimeout time.Duration
	// BackupDeadline is status.backupDeadline.
	BackupDeadline *metav1.Time
}

// Invoker is a BackupSession's spec.invoker apiGroup and kind.
type Invoker struct {
	APIGroup string
	Kind     string
}

// InvokerKind is spec.invoker.kind ("" for none).
func (s *BackupSession) InvokerKind() string {
	if s.Invoker == nil {
		return ""
	}
	return s.Invoker.Kind
}

// InvokerAPIGroup is spec.invoker.apiGroup ("" for none).
func (s *BackupSession) InvokerAPIGroup() string {
	if s.Invoker == nil {
		return ""
	}
	return s.Invoker.APIGroup
}

// Repository is a storage.kubestash.com Repository.
type Repository struct {
	Meta
	AppRef         *TypedRef
	Phase          string
	Size           string
	SnapshotCount  *int32
	Integrity      *bool
	LastBackupTime *metav1.Time
}

// BackupStorage is a storage.kubestash.com BackupStorage.
type BackupStorage struct {
	Meta
	Provider     string
	Phase        string
	TotalSize    string
	Repositories int32
	Default      bool
	UsagePolicy  UsagePolicy
}

// UsagePolicy is spec.usagePolicy of a BackupStorage or RetentionPolicy: which namespaces'
// BackupConfigurations may use it (docs/design.md, "Form options").
type UsagePolicy struct {
	// From is allowedNamespaces.from: Same, All or Selector. An object without usagePolicy
	// reads as Same; one with a usagePolicy but no from admits no namespace, as in KubeStash.
	From string
	// Selector is allowedNamespaces.selector for From Selector; nil when absent or invalid
	// (then no namespace is admitted).
	Selector labels.Selector
}

// Usage policy rules (allowedNamespaces.from).
const (
	NamespacesFromSame     = "Same"
	NamespacesFromAll      = "All"
	NamespacesFromSelector = "Selector"
)

// Allows reports whether a BackupConfiguration in namespace ns, whose labels are nsLabels, may
// use an object of namespace own under this policy (KubeStash's UsageAllowed rule).
func (p UsagePolicy) Allows(own, ns string, nsLabels map[string]string) bool {
	switch p.From {
	case NamespacesFromAll:
		return true
	case NamespacesFromSame:
		return own == ns
	case NamespacesFromSelector:
		return p.Selector != nil && p.Selector.Matches(labels.Set(nsLabels))
	}
	return false
}

// RetentionPolicy is a storage.kubestash.com RetentionPolicy (it has no status).
type RetentionPolicy struct {
	Meta
	Annotations        map[string]string
	MaxRetentionPeriod string
	Default            bool
	UsagePolicy        UsagePolicy
}

// CronJob is a batch/v1 CronJob, reduced to what the CronJobs panel shows.
type CronJob struct {
	Meta
	Annotations      map[string]string
	Controller       *metav1.OwnerReference // the controller owner reference, if any
	Schedule         string
	Suspend          bool
	Active           int32
	LastScheduleTime *metav1.Time
}

// Addon is a cluster-scoped addons.kubestash.com Addon: its backup and restore tasks with
// their parameters (the create and restore forms offer them; a preview names them in an error).
type Addon struct {
	Meta
	BackupTasks  []AddonTask
	RestoreTasks []AddonTask
}

// AddonTask is one spec.backupTasks[] or spec.restoreTasks[] entry.
type AddonTask struct {
	Name       string
	Parameters []TaskParameter
}

// TaskParameter is one parameters[] entry of a task.
type TaskParameter struct {
	Name     string
	Usage    string
	Required bool
	Default  string
}

// BackupTaskNames lists the backup tasks' names, in the Addon's order.
func (a *Addon) BackupTaskNames() []string { return taskNames(a.BackupTasks) }

// RestoreTaskNames lists the restore tasks' names, in the Addon's order.
func (a *Addon) RestoreTaskNames() []string { return taskNames(a.RestoreTasks) }

func taskNames(tasks []AddonTask) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.Name
	}
	return out
}

// Namespace is a namespace's name and labels (usagePolicy selectors match them).
type Namespace struct {
	Meta
	UID    types.UID
	Labels map[string]string
}

// Object is the metadata-only form of a target object.
type Object struct {
	Meta
}
