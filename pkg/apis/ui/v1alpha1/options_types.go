package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +genclient
// +genclient:onlyVerbs=get,list,watch
// +resourceName=backupconfigurationoptions
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupConfigurationOptions lists, for one namespace, what the create and restore forms'
// dropdowns offer there: the BackupStorages and RetentionPolicies a BackupConfiguration in the
// namespace may use (by their usagePolicy), the Addons' backup and restore tasks with their
// parameters, the objects that can be backed up, and (only when the server checks them)
// encryption Secret names. There is one per namespace, named "default". Like a view, it is a function of the source objects and
// of what the caller may get: an object the caller may not get is not listed.
type BackupConfigurationOptions struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata: the name is always "default", the namespace the one described.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Storages are the BackupStorages whose usagePolicy admits this namespace, defaults first,
	// then by namespace/name (the form's Storage Ref).
	// +optional
	// +listType=atomic
	Storages []StorageOption `json:"storages,omitempty"`
	// RetentionPolicies are the RetentionPolicies whose usagePolicy admits this namespace,
	// defaults first, then by namespace/name (the form's Retention Policy).
	// +optional
	// +listType=atomic
	RetentionPolicies []RetentionPolicyOption `json:"retentionPolicies,omitempty"`
	// Addons are the cluster's Addons by name, each with its backup tasks (the create form's
	// Addon Name and Task Name) and its restore tasks (the restore form's).
	// +optional
	// +listType=atomic
	Addons []AddonOption `json:"addons,omitempty"`
	// Targets are the objects in this namespace of the kinds backupview watches as targets,
	// ordered by apiGroup, kind and name (the form's Target).
	// +optional
	// +listType=atomic
	Targets []TargetOption `json:"targets,omitempty"`
	// EncryptionSecrets are the names of the Secrets in this namespace, listed only when the
	// server runs with --check-encryption-secrets (it never reads Secret data).
	// +optional
	// +listType=atomic
	EncryptionSecrets []string `json:"encryptionSecrets,omitempty"`
}

// StorageOption is one BackupStorage the form may offer.
type StorageOption struct {
	// Ref is "<namespace>/<name>", as the form's dropdown shows it.
	Ref string `json:"ref"`
	// Namespace of the BackupStorage.
	Namespace string `json:"namespace"`
	// Name of the BackupStorage.
	Name string `json:"name"`
	// Provider is spec.storage.provider: local, s3, gcs or azure.
	// +optional
	Provider string `json:"provider,omitempty"`
	// Phase is status.phase: Ready or NotReady.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Default is spec.default: the KubeStash webhook uses it when a BackupConfiguration names none.
	// +optional
	Default bool `json:"default,omitempty"`
	// AllowedNamespaces is the rule that admits this namespace: Same, All or Selector
	// (spec.usagePolicy.allowedNamespaces.from).
	AllowedNamespaces string `json:"allowedNamespaces"`
}

// RetentionPolicyOption is one RetentionPolicy the form may offer.
type RetentionPolicyOption struct {
	// Ref is "<namespace>/<name>", as the form's dropdown shows it.
	Ref string `json:"ref"`
	// Namespace of the RetentionPolicy.
	Namespace string `json:"namespace"`
	// Name of the RetentionPolicy.
	Name string `json:"name"`
	// MaxRetentionPeriod is spec.maxRetentionPeriod, e.g. "30d".
	// +optional
	MaxRetentionPeriod string `json:"maxRetentionPeriod,omitempty"`
	// Default is spec.default.
	// +optional
	Default bool `json:"default,omitempty"`
	// AllowedNamespaces is the rule that admits this namespace: Same, All or Selector.
	AllowedNamespaces string `json:"allowedNamespaces"`
}

// AddonOption is one Addon with the tasks a BackupConfiguration may name.
type AddonOption struct {
	// Name of the cluster-scoped Addon, e.g. mongodb-addon.
	Name string `json:"name"`
	// BackupTasks are spec.backupTasks, in the Addon's order.
	// +optional
	// +listType=atomic
	BackupTasks []TaskOption `json:"backupTasks,omitempty"`
	// RestoreTasks are spec.restoreTasks, in the Addon's order: the restore form's task
	// dropdown and Params editor (docs/design.md, "Restore preview").
	// +optional
	// +listType=atomic
	RestoreTasks []TaskOption `json:"restoreTasks,omitempty"`
}

// TaskOption is one backup or restore task of an Addon.
type TaskOption struct {
	// Name of the task, e.g. logical-backup.
	Name string `json:"name"`
	// Parameters the task accepts (the form's Params editor).
	// +optional
	// +listType=atomic
	Parameters []TaskParameter `json:"parameters,omitempty"`
}

// TaskParameter is one parameter of a task (spec.backupTasks[].parameters[] or
// spec.restoreTasks[].parameters[]).
type TaskParameter struct {
	// Name of the parameter, e.g. args.
	Name string `json:"name"`
	// Usage describes the parameter.
	// +optional
	Usage string `json:"usage,omitempty"`
	// Required is true when the task needs the parameter.
	// +optional
	Required bool `json:"required,omitempty"`
	// Default is the value used when the parameter is not given.
	// +optional
	Default string `json:"default,omitempty"`
}

// TargetOption is one object the form may name as its target.
type TargetOption struct {
	// APIGroup of the object; empty for core kinds.
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// Kind of the object, e.g. MongoDB.
	Kind string `json:"kind"`
	// Name of the object.
	Name string `json:"name"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BackupConfigurationOptionsList is a list of BackupConfigurationOptions.
type BackupConfigurationOptionsList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items is the list of options, one per namespace.
	Items []BackupConfigurationOptions `json:"items"`
}

// OptionsName is the name of every namespace's BackupConfigurationOptions.
const OptionsName = "default"
