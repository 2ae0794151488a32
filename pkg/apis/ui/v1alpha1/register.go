package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the group name used in this package.
const GroupName = "ui.kubestash.com"

// SchemeGroupVersion is group version used to register these objects.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

var (
	// SchemeBuilder registers the types and the generated functions.
	SchemeBuilder      runtime.SchemeBuilder
	localSchemeBuilder = &SchemeBuilder
	// AddToScheme adds this group version to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	// Generated functions register themselves in the generated files, so this package
	// compiles even when they are missing.
	localSchemeBuilder.Register(addKnownTypes, addFieldLabelConversions)
}

// knownTypes are the kinds of this group version.
func knownTypes() []runtime.Object {
	return []runtime.Object{
		&BackupConfigurationView{},
		&BackupConfigurationViewList{},
		&BackupConfigurationPreview{},
		&BackupConfigurationOptions{},
		&BackupConfigurationOptionsList{},
		&RestoreSessionPreview{},
	}
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, knownTypes()...)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}

// AddToSchemeAsInternal registers this version's types as the group's internal version too.
// The server serves one version, so its storage works on these types directly: the scheme's
// conversion between the two is a change of kind only (docs/design.md, "API types").
func AddToSchemeAsInternal(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}, knownTypes()...)
	return nil
}

// The group's resources, as the server registers them and clients name them.
var (
	ViewsResource    = Resource("backupconfigurationviews")
	PreviewsResource = Resource("backupconfigurationpreviews")
	// OptionsResource's singular name is its plural too: one object per namespace.
	OptionsResource = Resource("backupconfigurationoptions")
	// RestorePreviewsResource renders RestoreSessions (docs/design.md, "Restore preview").
	RestorePreviewsResource = Resource("restoresessionpreviews")
)

// PreviewSubresource is the views' preview subresource.
const PreviewSubresource = "preview"

// RestorePreviewSubresource is the views' restore preview subresource.
const RestorePreviewSubresource = "restore-preview"

// Kind takes an unqualified kind and returns a Group qualified GroupKind.
func Kind(kind string) schema.GroupKind { return SchemeGroupVersion.WithKind(kind).GroupKind() }

// Resource takes an unqualified resource and returns a Group qualified GroupResource.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}
