// +k8s:openapi-gen=true
// +k8s:deepcopy-gen=package
// +k8s:defaulter-gen=TypeMeta
// +groupName=ui.kubestash.com
// +k8s:openapi-model-package=com.kubestash.ui.v1alpha1

// Package v1alpha1 is the v1alpha1 version of the ui.kubestash.com API: read-only views of
// KubeStash objects and the BackupConfiguration create-form preview.
package v1alpha1
