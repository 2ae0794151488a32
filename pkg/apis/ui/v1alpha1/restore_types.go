package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// +genclient
// +genclient:onlyVerbs=create
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RestoreSessionPreview is a restore form as an API object. POST it (to restoresessionpreviews,
// or to backupconfigurationviews/{name}/restore-preview, which takes the repository and the
// target from the view) and the server answers with the rendered KubeStash RestoreSession in
// status, and the snapshot the choice resolves to now when known. Nothing is persisted.
type RestoreSessionPreview struct {
	metav1.TypeMeta `json:",inline"`
	// Name and namespace are the RestoreSession's to be rendered (both required).
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the restore form.
	Spec RestorePreviewSpec `json:"spec"`
	// Status is filled by the server with the rendered manifest.
	// +optional
	Status RestorePreviewStatus `json:"status,omitempty"`
}

// RestorePreviewSpec is the restore form. Its fields are optional in the schema so that the
// server, not a client-side check, reports every missing one at once (a 422).
type RestorePreviewSpec struct {
	// Repository is the Repository to restore from (dataSource.namespace and .repository); an
	// empty namespace is the preview's. Required with snapshot "latest" and with pitr. The
	// restore-preview subresource takes it from the view: the view's only repository, or the
	// one of its repositories named here.
	// +optional
	Repository ObjectReference `json:"repository"`
	// Snapshot is a Snapshot name of the repository's namespace, or "latest" (the repository's
	// newest snapshot when the restore runs). Set snapshot or pitr, exactly one.
	// +optional
	Snapshot string `json:"snapshot,omitempty"`
	// PITR restores to a point in time: the newest snapshot at (or, when exclusive, before)
	// targetTime. Set snapshot or pitr, exactly one.
	// +optional
	PITR *PointInTime `json:"pitr,omitempty"`
	// Components to restore, e.g. dump or manifest; empty restores all of the snapshot's.
	// +optional
	// +listType=atomic
	Components []string `json:"components,omitempty"`
	// Target is the object to restore into. Kind and name are required when it is given; an
	// empty namespace is the preview's. The subresource defaults it to the view's target.
	// +optional
	Target TypedObjectReference `json:"target"`
	// Addon is the KubeStash Addon and the restore tasks to run.
	// +optional
	Addon RestoreAddon `json:"addon"`
	// EncryptionSecret is the Secret with the repository's encryption key; an empty namespace
	// is the preview's.
	// +optional
	EncryptionSecret *ObjectReference `json:"encryptionSecret,omitempty"`
	// RestoreTimeout bounds the restore, e.g. "30m"; it must be positive.
	// +optional
	RestoreTimeout *metav1.Duration `json:"restoreTimeout,omitempty"`
	// Labels for the RestoreSession.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations for the RestoreSession.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PointInTime is a restore to a point in time.
type PointInTime struct {
	// TargetTime is the point in time to restore to (RFC 3339). Required.
	// +optional
	TargetTime *metav1.Time `json:"targetTime,omitempty"`
	// Exclusive restores the newest snapshot strictly before targetTime.
	// +optional
	Exclusive bool `json:"exclusive,omitempty"`
}

// RestoreAddon is the Addon and its restore tasks.
type RestoreAddon struct {
	// Name of the cluster-scoped Addon, e.g. mongodb-addon. Required.
	// +optional
	Name string `json:"name"`
	// Tasks to run: at least one of the Addon's restoreTasks.
	// +optional
	// +listType=atomic
	Tasks []RestoreTask `json:"tasks"`
}

// RestoreTask is one restore task with its parameters.
type RestoreTask struct {
	// Name of the task, one of the Addon's restoreTasks, e.g. logical-backup-restore.
	// +optional
	Name string `json:"name"`
	// Params are task parameters as an object. Set params or paramsText, not both.
	// +optional
	Params *runtime.RawExtension `json:"params,omitempty"`
	// ParamsText are task parameters as YAML or JSON text; it must hold an object.
	// +optional
	ParamsText string `json:"paramsText,omitempty"`
}

// RestorePreviewStatus is the rendered RestoreSession and what the snapshot choice means now.
type RestorePreviewStatus struct {
	// Manifest is the rendered RestoreSession object.
	// +optional
	Manifest *runtime.RawExtension `json:"manifest,omitempty"`
	// YAML is the manifest as YAML text.
	// +optional
	YAML string `json:"yaml,omitempty"`
	// JSON is the manifest as indented JSON text.
	// +optional
	JSON string `json:"json,omitempty"`
	// Snapshot is the snapshot the choice resolves to now, when the server knows it and the
	// caller may see the repository's snapshots. For "latest" and pitr it is what a restore
	// started now would use, not a promise: KubeStash resolves the choice when it runs.
	// +optional
	Snapshot *ResolvedSnapshot `json:"snapshot,omitempty"`
}

// ResolvedSnapshot is a Snapshot as the restore preview reports it.
type ResolvedSnapshot struct {
	// Name of the Snapshot.
	Name string `json:"name"`
	// SnapshotTime is status.snapshotTime.
	// +optional
	SnapshotTime *metav1.Time `json:"snapshotTime,omitempty"`
	// Size is status.size, e.g. "12.5 MiB".
	// +optional
	Size string `json:"size,omitempty"`
	// Phase is status.phase: Pending, Running, Succeeded or Failed.
	// +optional
	Phase string `json:"phase,omitempty"`
	// VerificationStatus is status.verificationStatus: Verified, NotVerified or VerificationFailed.
	// +optional
	VerificationStatus string `json:"verificationStatus,omitempty"`
	// Components are the names of the snapshot's components.
	// +optional
	// +listType=atomic
	Components []string `json:"components,omitempty"`
}
