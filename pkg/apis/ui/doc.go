// +k8s:deepcopy-gen=package
// +groupName=ui.kubestash.com

// Package ui is the internal version of the ui.kubestash.com API.
package ui
