package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// +genclient
// +genclient:onlyVerbs=get,list,watch
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupConfigurationView is a read-only view of one KubeStash BackupConfiguration joined with
// everything a backup console shows about it: its BackupSessions, RetentionPolicies, target,
// Repositories, BackupStorages and trigger CronJobs. It has the name and namespace of its
// BackupConfiguration. Every field is a function of the source objects only.
type BackupConfigurationView struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata: name, namespace, labels, annotations and creationTimestamp are
	// the BackupConfiguration's; uid is derived from its uid.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Basic is the detail page's Basic panel.
	Basic Basic `json:"basic"`
	// Summary holds the list page's columns, as strings ready to print.
	Summary Summary `json:"summary"`
	// Sessions are the BackupConfiguration's sessions (spec.sessions), in spec order, each with
	// its schedule and the next run KubeStash reports for it.
	// +optional
	// +listType=atomic
	Sessions []Session `json:"sessions,omitempty"`
	// BackupSessions invoked by this BackupConfiguration, newest first.
	// +optional
	// +listType=atomic
	BackupSessions []BackupSessionRef `json:"backupSessions,omitempty"`
	// RetentionPolicies referenced by the backends, each once, ordered by namespace/name.
	// +optional
	// +listType=atomic
	RetentionPolicies []RetentionPolicyRef `json:"retentionPolicies,omitempty"`
	// Target is the object being backed up (spec.target); found is false when it does not exist.
	Target TargetRef `json:"target"`
	// Repositories named by the sessions, in the BackupConfiguration's namespace, ordered by name.
	// +optional
	// +listType=atomic
	Repositories []RepositoryRef `json:"repositories,omitempty"`
	// BackupStorages referenced by the backends, each once, ordered by namespace/name.
	// +optional
	// +listType=atomic
	BackupStorages []BackupStorageRef `json:"backupStorages,omitempty"`
	// CronJobs that trigger the sessions (controller-owned by the BackupConfiguration), ordered by name.
	// +optional
	// +listType=atomic
	CronJobs []CronJobRef `json:"cronJobs,omitempty"`
	// Health answers "is this data protected, and if not, why?" from the BackupConfiguration,
	// its sessions, repositories, storages, retention policies and schedule.
	Health Health `json:"health"`
}

// Basic is the BackupConfiguration's own identity and state.
type Basic struct {
	// UID is the BackupConfiguration's own UID.
	// +optional
	UID types.UID `json:"uid,omitempty"`
	// Phase is the BackupConfiguration's status.phase: Ready, NotReady, Invalid, or empty when not reported yet.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Paused is the BackupConfiguration's spec.paused.
	Paused bool `json:"paused"`
	// Conditions are the BackupConfiguration's status.conditions.
	// +optional
	// +listType=atomic
	Conditions []Condition `json:"conditions,omitempty"`
}

// Condition is a KubeStash condition (kmodules.xyz/client-go api/v1 Condition).
type Condition struct {
	// Type of the condition, e.g. ValidationPassed.
	Type string `json:"type"`
	// Status of the condition: True, False or Unknown.
	Status string `json:"status"`
	// Severity of the condition when it is False: Error, Warning or Info.
	// +optional
	Severity string `json:"severity,omitempty"`
	// Reason is a machine-readable reason for the last transition.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable message for the last transition.
	// +optional
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the generation the condition was set for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastTransitionTime is when the condition last changed status.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// Summary holds the list page's columns. Unlike the console, which shows only the first
// session and backend, every entry is included.
type Summary struct {
	// Schedule is every session's cron schedule, in session order, joined by ", ".
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// Repository is every repository name of every session, joined by ", ".
	// +optional
	Repository string `json:"repository,omitempty"`
	// BackupStorage is "<namespace>/<name>" of every backend's BackupStorage, joined by ", ".
	// +optional
	BackupStorage string `json:"backupStorage,omitempty"`
	// Target is "<Kind> <namespace>/<name>" of spec.target.
	// +optional
	Target string `json:"target,omitempty"`
	// Task is every task name of every session, joined by ", ".
	// +optional
	Task string `json:"task,omitempty"`
	// RetentionPolicy is "<namespace>/<name>" of every backend's RetentionPolicy, joined by ", ".
	// +optional
	RetentionPolicy string `json:"retentionPolicy,omitempty"`
}

// Session is one of the BackupConfiguration's sessions: a schedule that runs its backups.
type Session struct {
	// Name of the session (spec.sessions[].name).
	Name string `json:"name"`
	// Schedule is spec.sessions[].scheduler.schedule, a cron schedule as a CronJob takes it.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// NextSchedule is the session's status.sessions[].nextSchedule, as KubeStash last wrote
	// it; it can lie in the past when KubeStash has not updated it. Absent when not reported.
	// +optional
	NextSchedule *metav1.Time `json:"nextSchedule,omitempty"`
}

// BackupSessionRef is one BackupSession invoked by the BackupConfiguration.
type BackupSessionRef struct {
	// Name of the BackupSession.
	Name string `json:"name"`
	// Namespace of the BackupSession.
	Namespace string `json:"namespace"`
	// InvokerKind is spec.invoker.kind, e.g. BackupConfiguration.
	// +optional
	InvokerKind string `json:"invokerKind,omitempty"`
	// InvokerName is spec.invoker.name.
	// +optional
	InvokerName string `json:"invokerName,omitempty"`
	// Session is the BackupConfiguration session this run belongs to (spec.session).
	// +optional
	Session string `json:"session,omitempty"`
	// TotalSnapshots is status.totalSnapshots.
	// +optional
	TotalSnapshots *int32 `json:"totalSnapshots,omitempty"`
	// Phase is status.phase: Pending, Running, Succeeded, Failed or Skipped.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Duration is status.duration, e.g. "49s"; empty while running.
	// +optional
	Duration string `json:"duration,omitempty"`
	// CreationTimestamp of the BackupSession.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
}

// RetentionPolicyRef is one RetentionPolicy referenced by a backend.
type RetentionPolicyRef struct {
	// Name of the RetentionPolicy.
	Name string `json:"name"`
	// Namespace of the RetentionPolicy.
	Namespace string `json:"namespace"`
	// Found is false when the referenced RetentionPolicy does not exist. found is meaningful
	// only when restricted is empty.
	Found bool `json:"found"`
	// Restricted, when set, says why only the reference is shown: the caller may not get
	// RetentionPolicies in that namespace, e.g. "you cannot get retentionpolicies in namespace
	// kubestash". found is then false whether or not the RetentionPolicy exists, and no
	// other detail is given.
	// +optional
	Restricted string `json:"restricted,omitempty"`
	// Annotations of the RetentionPolicy.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// MaxRetentionPeriod is spec.maxRetentionPeriod, e.g. "30d" or "2mo".
	// +optional
	MaxRetentionPeriod string `json:"maxRetentionPeriod,omitempty"`
	// Default is spec.default.
	// +optional
	Default bool `json:"default,omitempty"`
	// CreationTimestamp of the RetentionPolicy.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
}

// TargetRef is the object the BackupConfiguration backs up.
type TargetRef struct {
	// APIGroup of the target; empty for core kinds.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// Kind of the target, e.g. MongoDB.
	// +optional
	Kind string `json:"kind,omitempty"`
	// Namespace of the target.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the target.
	// +optional
	Name string `json:"name,omitempty"`
	// Found is false when the target does not exist or its kind is not installed
	// (the console's "No data available"). found is meaningful only when restricted is empty.
	Found bool `json:"found"`
	// Restricted, when set, says why only the reference is shown: the target is in another
	// namespace than the BackupConfiguration and the caller may not get its kind there, e.g.
	// "you cannot get mongodbs.kubedb.com in namespace prod". found is then false whether or
	// not the target exists.
	// +optional
	Restricted string `json:"restricted,omitempty"`
	// CreationTimestamp of the target.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
}

// RepositoryRef is one Repository named by a session.
type RepositoryRef struct {
	// Name of the Repository.
	Name string `json:"name"`
	// Namespace of the Repository (always the BackupConfiguration's).
	Namespace string `json:"namespace"`
	// Found is false when the Repository does not exist (yet).
	Found bool `json:"found"`
	// Size is status.size, e.g. "71.001 KiB".
	// +optional
	Size string `json:"size,omitempty"`
	// SnapshotCount is status.snapshotCount.
	// +optional
	SnapshotCount *int32 `json:"snapshotCount,omitempty"`
	// Target is spec.appRef printed as "<Kind> <namespace>/<name>".
	// +optional
	Target string `json:"target,omitempty"`
	// LastSuccessfulBackupTime is status.lastBackupTime.
	// +optional
	LastSuccessfulBackupTime *metav1.Time `json:"lastSuccessfulBackupTime,omitempty"`
	// Integrity is status.integrity.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`
	// Phase is status.phase: Ready or NotReady.
	// +optional
	Phase string `json:"phase,omitempty"`
	// CreationTimestamp of the Repository.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
	// Snapshots are the Repository's newest Snapshots, newest first by snapshot time (one
	// without a time last): at most the server's --view-snapshots (10 by default) of
	// snapshotsTotal.
	// +optional
	// +listType=atomic
	Snapshots []SnapshotRef `json:"snapshots,omitempty"`
	// SnapshotsTotal is how many Snapshot objects of the Repository there are.
	// +optional
	SnapshotsTotal int32 `json:"snapshotsTotal,omitempty"`
	// Verification is how the Repository's backups are verified, when the BackupConfiguration
	// names a BackupVerifier for it (spec.sessions[].repositories[].backupVerifier).
	// +optional
	Verification *RepositoryVerification `json:"verification,omitempty"`
}

// RepositoryVerification is a Repository's backup verification: its BackupVerifier, the newest
// BackupVerificationSession of the BackupConfiguration for the Repository, and the newest
// verified Snapshot.
type RepositoryVerification struct {
	// Verifier is the BackupVerifier's namespace and name.
	Verifier ObjectReference `json:"verifier"`
	// Found is false when the BackupVerifier does not exist, or the caller may not get it.
	Found bool `json:"found"`
	// Restricted says why the BackupVerifier's details are not shown: the caller may not get
	// BackupVerifiers in its namespace.
	// +optional
	Restricted string `json:"restricted,omitempty"`
	// Type is the verifier's spec.type: RestoreOnly, Query or Script.
	// +optional
	Type string `json:"type,omitempty"`
	// Schedule is the verifier's spec.scheduler.schedule.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// LastSession is the newest BackupVerificationSession of the Repository (by creation).
	// +optional
	LastSession *VerificationSessionRef `json:"lastSession,omitempty"`
	// LastSuccessfulVerificationTime is when the newest Succeeded BackupVerificationSession
	// of the Repository ended: its creation plus status.duration.
	// +optional
	LastSuccessfulVerificationTime *metav1.Time `json:"lastSuccessfulVerificationTime,omitempty"`
	// LastVerifiedSnapshot is the Repository's newest Snapshot whose
	// status.verificationStatus is Verified.
	// +optional
	LastVerifiedSnapshot *VerifiedSnapshotRef `json:"lastVerifiedSnapshot,omitempty"`
}

// VerificationSessionRef is one BackupVerificationSession (core.kubestash.com).
type VerificationSessionRef struct {
	// Name of the BackupVerificationSession, in the BackupConfiguration's namespace.
	Name string `json:"name"`
	// Phase is status.phase: Running, Succeeded, Failed or Skipped.
	// +optional
	Phase string `json:"phase,omitempty"`
	// CreationTimestamp is when the verification started.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
	// Duration is status.duration, e.g. "1m5s".
	// +optional
	Duration string `json:"duration,omitempty"`
	// Snapshot is spec.snapshot: the Snapshot verified.
	// +optional
	Snapshot string `json:"snapshot,omitempty"`
	// Message is the message of the first condition whose status is False (why it failed).
	// +optional
	Message string `json:"message,omitempty"`
}

// VerifiedSnapshotRef names a verified Snapshot.
type VerifiedSnapshotRef struct {
	// Name of the Snapshot, in the Repository's namespace.
	Name string `json:"name"`
	// SnapshotTime is status.snapshotTime.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`
}

// SnapshotRef is one Snapshot (storage.kubestash.com) of a Repository.
type SnapshotRef struct {
	// Name of the Snapshot, in the Repository's namespace.
	Name string `json:"name"`
	// SnapshotTime is status.snapshotTime.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`
	// Phase is status.phase: Pending, Running, Succeeded or Failed.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Size is status.size.
	// +optional
	Size string `json:"size,omitempty"`
	// Integrity is status.integrity.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`
	// Type is spec.type: FullBackup or IncrementalBackup.
	// +optional
	Type string `json:"type,omitempty"`
	// VerificationStatus is status.verificationStatus: Verified, NotVerified or
	// VerificationFailed.
	// +optional
	VerificationStatus string `json:"verificationStatus,omitempty"`
	// BackupSession is spec.backupSession, the run that took the Snapshot.
	// +optional
	BackupSession string `json:"backupSession,omitempty"`
	// FailedComponents are the components whose phase is Failed, with their error.
	// +optional
	// +listType=atomic
	FailedComponents []SnapshotComponentError `json:"failedComponents,omitempty"`
}

// SnapshotComponentError is a component of a Snapshot that failed.
type SnapshotComponentError struct {
	// Name of the component (a key of status.components).
	Name string `json:"name"`
	// Error is the component's status.components[name].error.
	// +optional
	Error string `json:"error,omitempty"`
}

// BackupStorageRef is one BackupStorage referenced by a backend.
type BackupStorageRef struct {
	// Name of the BackupStorage.
	Name string `json:"name"`
	// Namespace of the BackupStorage.
	Namespace string `json:"namespace"`
	// Found is false when the referenced BackupStorage does not exist. found is meaningful
	// only when restricted is empty.
	Found bool `json:"found"`
	// Restricted, when set, says why only the reference is shown: the caller may not get
	// BackupStorages in that namespace, e.g. "you cannot get backupstorages in namespace
	// kubestash". found is then false whether or not the BackupStorage exists, and no other
	// detail is given.
	// +optional
	Restricted string `json:"restricted,omitempty"`
	// Provider is spec.storage.provider: local, s3, gcs or azure.
	// +optional
	Provider string `json:"provider,omitempty"`
	// Size is status.totalSize.
	// +optional
	Size string `json:"size,omitempty"`
	// ConnectedRepositories is the number of entries in status.repositories.
	ConnectedRepositories int32 `json:"connectedRepositories"`
	// Phase is status.phase: Ready or NotReady.
	// +optional
	Phase string `json:"phase,omitempty"`
	// CreationTimestamp of the BackupStorage.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
}

// CronJobRef is one CronJob that triggers a session.
type CronJobRef struct {
	// Name of the CronJob, normally trigger-<backupconfiguration>-<session>.
	Name string `json:"name"`
	// Namespace of the CronJob.
	Namespace string `json:"namespace"`
	// Annotations of the CronJob.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// Session is the BackupConfiguration session the CronJob triggers, when it can be told from the name.
	// +optional
	Session string `json:"session,omitempty"`
	// Schedule is spec.schedule.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// Suspend is spec.suspend.
	Suspend bool `json:"suspend"`
	// Active is the number of running jobs (len(status.active)).
	Active int32 `json:"active"`
	// LastScheduleTime is status.lastScheduleTime.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// CreationTimestamp of the CronJob.
	// +optional
	CreationTimestamp *metav1.Time `json:"creationTimestamp,omitempty"`
}

// Health answers the first question of a backup operator: is this data protected, and if
// not, why? Like the rest of the view it is a function of the source objects only, never of
// the clock: verdict is what holds whatever the time, and reasons carry, for what the clock
// decides (Stuck, NeverSucceeded, Overdue, an overdue verification, Pending), the instant from
// which it holds. The
// Table's HEALTH column combines them with the current time.
type Health struct {
	// Verdict is the part of the health that does not depend on the clock, the first that
	// applies of: Invalid (status.phase Invalid, or a referenced BackupStorage, RetentionPolicy
	// or Repository not found), Paused (spec.paused), Failing (the newest finished run of a
	// session failed), VerificationFailing (a Repository's newest verification Failed), or
	// Healthy (nothing wrong in the sources). The verdict at a given time also considers, in
	// this order after Failing: Stuck (a run still Running past its deadline), NeverSucceeded
	// (no success although a run is due), Overdue (past overdueAfter), VerificationFailing (no
	// verification succeeded for twice the verifier's schedule) and Pending (no success, first
	// run not yet due); those come from reasons whose after has passed (or, for Pending, not
	// yet come). A field selector on
	// health.verdict sees only this clock-free value.
	Verdict string `json:"verdict"`
	// Reasons say why the verdict is, or from a given instant becomes, other than Healthy,
	// ordered by the precedence of their type. Each names the object and the field it is read
	// from.
	// +optional
	// +listType=atomic
	Reasons []HealthReason `json:"reasons,omitempty"`
	// LastSuccessfulBackupTime is the newest success: a Succeeded session's creation plus its
	// duration, or a Repository's lastBackupTime, whichever is newer.
	// +optional
	LastSuccessfulBackupTime *metav1.Time `json:"lastSuccessfulBackupTime,omitempty"`
	// LastSessionPhase is the phase of the newest BackupSession.
	// +optional
	LastSessionPhase string `json:"lastSessionPhase,omitempty"`
	// NextScheduleTime is the earliest status.sessions[].nextSchedule KubeStash reports.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// OverdueAfter is lastSuccessfulBackupTime (or the creation time when there is none) plus
	// twice the shortest session interval. Absent when paused or when no schedule parses.
	// +optional
	OverdueAfter *metav1.Time `json:"overdueAfter,omitempty"`
}

// HealthReason is one finding behind the health verdict.
type HealthReason struct {
	// Type is the verdict this reason supports: Invalid, Paused, Failing, Stuck,
	// NeverSucceeded or Overdue; or Skipped, for a session whose newest run was skipped, which
	// is reported but never changes the verdict. A NeverSucceeded reason whose after has not
	// come yet makes the verdict Pending.
	Type string `json:"type"`
	// Object is the source object the reason is read from.
	Object TypedObjectReference `json:"object"`
	// Field is the field of object the reason is read from, e.g. status.phase or
	// spec.backends[0].storageRef.
	Field string `json:"field"`
	// Message says what was found, for people.
	Message string `json:"message"`
	// After, for the clock-dependent types (Stuck, NeverSucceeded, Overdue), is the instant
	// from which the reason holds; absent for the others, which hold whatever the time.
	// +optional
	After *metav1.Time `json:"after,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupConfigurationViewList is a list of BackupConfigurationViews.
type BackupConfigurationViewList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items is the list of views.
	Items []BackupConfigurationView `json:"items"`
}

// +genclient
// +genclient:onlyVerbs=create
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupConfigurationPreview is the console's create form as an API object. POST it (to
// backupconfigurationpreviews, or to backupconfigurationviews/{name}/preview) and the server
// answers with the rendered BackupConfiguration in status. Nothing is persisted.
type BackupConfigurationPreview struct {
	metav1.TypeMeta `json:",inline"`
	// Name and namespace are the BackupConfiguration's to be rendered (both required).
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the create form.
	Spec PreviewSpec `json:"spec"`
	// Status is filled by the server with the rendered manifest.
	// +optional
	Status PreviewStatus `json:"status,omitempty"`
}

// PreviewSpec is the console's create form. Its fields are optional in the schema so that
// the server, not a client-side check, reports every missing one at once (a 422).
type PreviewSpec struct {
	// StorageRef is the BackupStorage the backups go to (the form's Storage Ref). Required.
	// +optional
	StorageRef ObjectReference `json:"storageRef"`
	// RetentionPolicy controls how long backups are kept (the form's Retention Policy). Required.
	// +optional
	RetentionPolicy ObjectReference `json:"retentionPolicy"`
	// Labels for the BackupConfiguration.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations for the BackupConfiguration.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// Sessions are the backup sessions: at least one.
	// +listType=atomic
	// +optional
	Sessions []PreviewSession `json:"sessions"`
	// Target is the object to back up. All four fields are required.
	// +optional
	Target TypedObjectReference `json:"target"`
}

// ObjectReference names a namespaced object.
type ObjectReference struct {
	// Namespace of the object.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	// +optional
	Name string `json:"name"`
}

// TypedObjectReference names an object of a given kind.
type TypedObjectReference struct {
	// APIGroup of the object; "" (or "core") for core kinds.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// Kind of the object, e.g. MongoDB.
	// +optional
	Kind string `json:"kind"`
	// Namespace of the object.
	// +optional
	Namespace string `json:"namespace"`
	// Name of the object.
	// +optional
	Name string `json:"name"`
}

// PreviewSession is one backup session of the form.
type PreviewSession struct {
	// Name of the session, unique in the form (the form's Session Name).
	// +optional
	Name string `json:"name"`
	// Schedule is a cron expression as a CronJob accepts it, e.g. "*/30 * * * *" or "@daily".
	// +optional
	Schedule string `json:"schedule"`
	// RunAsUser is the UID the backup job runs as; 0 is a real value and is rendered.
	// +optional
	RunAsUser *int64 `json:"runAsUser,omitempty"`
	// Addon is the name of the cluster-scoped KubeStash Addon, e.g. mongodb-addon.
	// +optional
	Addon string `json:"addon"`
	// Tasks to run: at least one.
	// +listType=atomic
	// +optional
	Tasks []PreviewTask `json:"tasks"`
}

// PreviewTask is one task of a session.
type PreviewTask struct {
	// Name of the task, one of the Addon's backupTasks, e.g. logical-backup.
	// +optional
	Name string `json:"name"`
	// RepoName is the Repository this task's session writes to.
	// +optional
	RepoName string `json:"repoName,omitempty"`
	// EncryptionSecret is the Secret holding the repository's encryption key: both namespace and name, or neither.
	// +optional
	EncryptionSecret *ObjectReference `json:"encryptionSecret,omitempty"`
	// Params are task parameters as an object. Set params or paramsText, not both.
	// +optional
	Params *runtime.RawExtension `json:"params,omitempty"`
	// ParamsText are task parameters as YAML or JSON text (the form's code editor); it must hold an object.
	// +optional
	ParamsText string `json:"paramsText,omitempty"`
}

// PreviewStatus is the rendered BackupConfiguration.
type PreviewStatus struct {
	// Manifest is the rendered BackupConfiguration object.
	// +optional
	Manifest *runtime.RawExtension `json:"manifest,omitempty"`
	// YAML is the manifest as YAML text.
	// +optional
	YAML string `json:"yaml,omitempty"`
	// JSON is the manifest as indented JSON text.
	// +optional
	JSON string `json:"json,omitempty"`
}
