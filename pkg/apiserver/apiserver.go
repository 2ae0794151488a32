// Package apiserver assembles backupview: the scheme, the sources, the view cache and the
// REST storages, following sample-apiserver's Config -> Complete() -> New() shape.
package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	restclient "k8s.io/client-go/rest"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/kubestash/backupview/pkg/access"
	"github.com/kubestash/backupview/pkg/apis/ui/install"
	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/formoptions"
	"github.com/kubestash/backupview/pkg/healthmetrics"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/metrics"
	"github.com/kubestash/backupview/pkg/registry/backupconfigurationoptions"
	"github.com/kubestash/backupview/pkg/registry/backupconfigurationpreview"
	"github.com/kubestash/backupview/pkg/registry/backupconfigurationview"
	"github.com/kubestash/backupview/pkg/registry/restoresessionpreview"
	"github.com/kubestash/backupview/pkg/sources"
	"github.com/kubestash/backupview/pkg/viewcache"
)

var (
	// Scheme holds the API types.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes them.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	install.Install(Scheme)
	// The generic server decodes options (ListOptions, ...) in the empty v1 group.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned, &metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// ExtraConfig is backupview's own configuration.
type ExtraConfig struct {
	// SourcePollInterval is how often absent CRDs and target kinds are looked for again
	// (0: sources.DefaultPollInterval).
	SourcePollInterval time.Duration
	// Cache tunes the view cache (history, watcher buffer, snapshots).
	Cache viewcache.Options
	// View shapes the views (how many Snapshots per Repository).
	View join.Options
	// CheckEncryptionSecrets watches Secret metadata to warn about missing encryption Secrets
	// in previews; it needs list/watch on Secrets, so it is off by default.
	CheckEncryptionSecrets bool
	// FormTargetKinds are watched so that the form options offer their objects as targets.
	FormTargetKinds []schema.GroupKind
	// BackupConfigurationMetrics exports every BackupConfiguration's health series on
	// /metrics; without it only the counts per verdict (docs/design.md, "Metrics").
	BackupConfigurationMetrics bool
	// ClientConfig reaches the cluster whose KubeStash objects are served (--kubeconfig, or
	// in-cluster); Complete copies it from the recommended config.
	ClientConfig *restclient.Config
}

// Config is the generic server's config plus ours.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

type completedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	ExtraConfig   *ExtraConfig
}

// CompletedConfig can only be made by Complete.
type CompletedConfig struct{ *completedConfig }

// Server is a running backupview: the generic server and the parts it serves from.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
	// Sources are the informers over KubeStash's objects, the targets and the namespaces, and
	// the lookups the views and the previews read.
	Sources *sources.Sources
	// Views and FormOptions are the versioned caches the read-only storages serve.
	Views       *viewcache.Cache[*ui.BackupConfigurationView]
	FormOptions *viewcache.Cache[*ui.BackupConfigurationOptions]
	// Previews renders the create form; nothing is stored.
	Previews *backupconfigurationpreview.REST
	// Health exports every BackupConfiguration's health on /metrics.
	Health *healthmetrics.Collector

	formTargetKinds []schema.GroupKind
}

// Run starts the sources, then serves until ctx ends; the rest of the start sequence is the
// post-start hooks New adds. The informers start before the generic server prepares
// (OpenAPI, handlers) and listens, so that listing the sources, the longest part of a start,
// overlaps with it (docs/benchmarks.md, "Start to ready"); readiness still waits for the views.
func (s *Server) Run(ctx context.Context) error {
	s.Sources.Start(ctx)
	return s.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// Complete fills in defaults.
func (c *Config) Complete() CompletedConfig {
	if c.ExtraConfig.ClientConfig == nil {
		c.ExtraConfig.ClientConfig = c.GenericConfig.ClientConfig
	}
	return CompletedConfig{&completedConfig{c.GenericConfig.Complete(), &c.ExtraConfig}}
}

// New wires the server: clients from the generic config's loopback-free ClientConfig (the
// --kubeconfig or in-cluster config), the sources, the caches, the storages, the readiness
// checks and the start sequence as named post-start hooks. It starts nothing.
func (c completedConfig) New() (*Server, error) {
	s := &Server{formTargetKinds: c.ExtraConfig.FormTargetKinds}
	var err error
	if s.Sources, err = c.newSources(s); err != nil {
		return nil, err
	}
	s.Views = viewcache.New(backupconfigurationview.Resource.Resource, join.Views(s.Sources, c.ExtraConfig.View), c.ExtraConfig.Cache)
	s.Views.SetBatchObserver(metrics.ObserveBatch)
	s.FormOptions = viewcache.New(backupconfigurationoptions.Resource.Resource, formoptions.Builder(s.Sources), c.ExtraConfig.Cache)
	s.Health = healthmetrics.New(s.Views, healthmetrics.Options{PerObject: c.ExtraConfig.BackupConfigurationMetrics})
	metrics.Register(s.Sources, s.Views)
	legacyregistry.CustomMustRegister(s.Health)

	c.GenericConfig.AddReadyzChecks(viewsBuilt(s))
	if rh := c.GenericConfig.Authentication.RequestHeaderConfig; rh != nil {
		c.GenericConfig.AddReadyzChecks(requestHeaderLoaded(rh))
	}
	if s.GenericAPIServer, err = c.GenericConfig.New("backupview-apiserver", genericapiserver.NewEmptyDelegate()); err != nil {
		return nil, err
	}
	if err := s.installAPIGroup(access.New(c.GenericConfig.Authorization.Authorizer, access.Options{Resource: s.Sources.ResourceOf})); err != nil {
		return nil, err
	}
	s.GenericAPIServer.AddPostStartHookOrDie("backupview-build-views", s.buildViews)
	s.GenericAPIServer.AddPostStartHookOrDie("backupview-build-form-options", s.buildFormOptions)
	return s, nil
}

// newSources makes the informers' clients and the sources, whose changes go to s's caches.
func (c completedConfig) newSources(s *Server) (*sources.Sources, error) {
	kc := c.ExtraConfig.ClientConfig
	if kc == nil {
		return nil, fmt.Errorf("no client configuration for the cluster: set --kubeconfig or run in a cluster")
	}
	lister, err := sources.NewRESTLister(kc)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(kc)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(kc)
	if err != nil {
		return nil, err
	}
	src := sources.New(lister, md, disco, s.sourceChanged)
	src.WatchNamespaces()
	src.SetPollInterval(c.ExtraConfig.SourcePollInterval)
	if c.ExtraConfig.CheckEncryptionSecrets {
		src.WatchSecretNames()
	}
	return src, nil
}

// sourceChanged routes a change of the sources to the views (join.Affected) and the form
// options (formoptions.Affected) it affects. The sources call it only once Run has started
// them, after New has set every field it reads.
func (s *Server) sourceChanged(c sources.Change) {
	if keys := join.Affected(s.Sources, c.Kind, c.Old, c.Object); len(keys) > 0 {
		s.Views.Notify(keys, c.RV, c.Deleted)
	}
	formoptions.Route(s.Sources, c, s.FormOptions.Notify)
}

// The views' routing reads the sources' indexes; join cannot say so without importing them.
var _ join.Referrers = (*sources.Sources)(nil)

// installAPIGroup serves the four kinds; authz says what each caller may see of other
// namespaces, from the delegated authorizer.
func (s *Server) installAPIGroup(authz *access.Checker) error {
	views := backupconfigurationview.NewREST(s.Views, backupconfigurationview.Hooks{
		Redact:         authz.Redact,
		Missing:        s.Sources.MissingKinds,
		NotSynced:      s.Sources.NotSynced,
		Served:         func(n int) { metrics.ViewsServed.Add(float64(n)) },
		WatcherDropped: metrics.WatchersDropped.Inc,
	})
	options := backupconfigurationoptions.NewREST(s.FormOptions, backupconfigurationoptions.Hooks{
		Redact:         authz.RedactOptions,
		Missing:        s.Sources.MissingKinds,
		NotSynced:      s.Sources.NotSynced,
		WatcherDropped: metrics.WatchersDropped.Inc,
	})
	s.Previews = backupconfigurationpreview.NewREST(backupconfigurationpreview.Cluster(s.Sources), authz)
	restoreCluster := restoresessionpreview.Cluster(s.Sources)
	restores := restoresessionpreview.NewREST(restoreCluster, authz)
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(ui.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	apiGroupInfo.VersionedResourcesStorageMap[ui.SchemeGroupVersion.Version] = map[string]rest.Storage{
		ui.ViewsResource.Resource:                                      views,
		ui.OptionsResource.Resource:                                    options,
		ui.ViewsResource.Resource + "/" + ui.PreviewSubresource:        backupconfigurationpreview.NewPreviewREST(s.Previews),
		ui.PreviewsResource.Resource:                                   s.Previews,
		ui.ViewsResource.Resource + "/" + ui.RestorePreviewSubresource: restoresessionpreview.NewPreviewREST(restores, restoreCluster),
		ui.RestorePreviewsResource.Resource:                            restores,
	}
	return s.GenericAPIServer.InstallAPIGroup(&apiGroupInfo)
}

// buildViews, a post-start hook, builds the views once the sources have synced and keeps them
// current. Target kinds referenced at start are watched before the first build, so the first
// views already know which targets exist. A target kind that cannot be listed (a conversion
// webhook down, ...) must not keep the server from ever starting: the build waits for
// targets a bounded time, then goes on with found=false for them; they are revisited once
// their informer syncs.
func (s *Server) buildViews(hc genericapiserver.PostStartHookContext) error {
	ctx := hc.Context
	go func() {
		if err := s.Sources.WaitForSync(ctx); err != nil {
			return
		}
		s.Sources.StartTargets(s.Sources.TargetKinds())
		tctx, cancel := context.WithTimeout(ctx, targetSyncWait)
		_ = s.Sources.WaitForTargets(tctx)
		cancel()
		s.Views.Run(ctx)
	}()
	return nil
}

// buildFormOptions, a post-start hook, builds the form options once the views are built (so
// that the form target kinds, started here, never delay readiness), then keeps them current.
func (s *Server) buildFormOptions(hc genericapiserver.PostStartHookContext) error {
	ctx := hc.Context
	go func() {
		if s.Views.WaitReady(ctx) != nil {
			return
		}
		s.Sources.WatchFormTargetKinds(s.formTargetKinds)
		if s.Sources.WaitForNamespaces(ctx) != nil {
			return
		}
		tctx, cancel := context.WithTimeout(ctx, targetSyncWait)
		_ = s.Sources.WaitForTargets(tctx)
		cancel()
		s.FormOptions.Run(ctx)
	}()
	return nil
}

// targetSyncWait bounds how long a first build waits for the target informers.
const targetSyncWait = 20 * time.Second

// viewsBuilt is ready only when every source has synced, the target kinds in use are watched
// and synced, and the views are built: never a short list. Once built, the views stay ready:
// target informers started later (a new target kind) only refine found flags, and a KubeStash
// CRD installed later that cannot be listed is reported by Sources.NotSynced (Warning, metric,
// log); neither may flip readiness (a Deployment's readinessProbe would take the whole
// aggregated API down).
func viewsBuilt(s *Server) healthz.HealthChecker {
	return healthz.NamedCheck("backupview-views", func(*http.Request) error {
		switch {
		case s.Views.Ready():
			return nil
		case !s.Sources.HasSynced():
			return fmt.Errorf("source informers not synced")
		case !s.Sources.TargetsSynced():
			return fmt.Errorf("target informers not synced")
		}
		return fmt.Errorf("views not built")
	})
}

// requestHeaderLoaded is ready only once the front proxy's CA and headers (kube-system/
// extension-apiserver-authentication) are loaded: before that, a request the aggregator
// proxies authenticates as system:anonymous and is refused. The views can be built sooner than
// that (the sources start before the server listens), so readiness must not stand for it.
func requestHeaderLoaded(rh *authenticatorfactory.RequestHeaderConfig) healthz.HealthChecker {
	return healthz.NamedCheck("backupview-request-header", func(*http.Request) error {
		if len(rh.CAContentProvider.CurrentCABundleContent()) == 0 || len(rh.UsernameHeaders.Value()) == 0 {
			return fmt.Errorf("the front proxy's CA and headers are not loaded yet")
		}
		return nil
	})
}
