// Package apiserver assembles backupview: the scheme, the sources, the view cache and the
// REST storages, following sample-apiserver's Config -> Complete() -> New() shape.
package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
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

// Server is a running backupview.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
	// startSources starts the informers and the views' first build.
	startSources func(ctx context.Context)
}

// Run starts the sources, then serves until ctx ends. The informers start before the generic
// server prepares (OpenAPI, handlers) and listens, so that listing the sources, the longest
// part of a start, overlaps with it (docs/benchmarks.md, "Start to ready"); readiness still
// waits for the views.
func (s *Server) Run(ctx context.Context) error {
	s.startSources(ctx)
	return s.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// Complete fills in defaults.
func (c *Config) Complete() CompletedConfig {
	if c.ExtraConfig.ClientConfig == nil {
		c.ExtraConfig.ClientConfig = c.GenericConfig.ClientConfig
	}
	return CompletedConfig{&completedConfig{c.GenericConfig.Complete(), &c.ExtraConfig}}
}

// New builds the server: clients from the generic config's loopback-free ClientConfig (the
// --kubeconfig or in-cluster config), sources, cache and storages.
func (c completedConfig) New() (*Server, error) {
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

	var cache *viewcache.Cache[*ui.BackupConfigurationView]
	var formCache *viewcache.Cache[*ui.BackupConfigurationOptions]
	src := sources.New(lister, md, disco, func(keys []string, rv uint64, deleted bool) { cache.Notify(keys, rv, deleted) })
	src.SetOptionsSink(func(keys []string, rv uint64, deleted bool) { formCache.Notify(keys, rv, deleted) })
	src.SetPollInterval(c.ExtraConfig.SourcePollInterval)
	if c.ExtraConfig.CheckEncryptionSecrets {
		src.WatchSecretNames()
	}
	cache = viewcache.New(backupconfigurationview.Resource.Resource, join.Views(src), c.ExtraConfig.Cache)
	formCache = viewcache.New(backupconfigurationoptions.Resource.Resource, formoptions.Builder(src), c.ExtraConfig.Cache)
	cache.SetBatchObserver(metrics.ObserveBatch)
	metrics.Register()
	legacyregistry.CustomMustRegister(healthmetrics.New(cache, healthmetrics.Options{PerObject: c.ExtraConfig.BackupConfigurationMetrics}))

	// Ready only when every source has synced, the target kinds in use are watched and
	// synced, and the views are built: never a short list.
	// Once built, the views stay ready: target informers started later (a new target kind)
	// only refine found flags, and a KubeStash CRD installed later that cannot be listed is
	// reported by src.NotSynced (Warning, metric, log); neither may flip readiness (a
	// Deployment's readinessProbe would take the whole aggregated API down).
	c.GenericConfig.AddReadyzChecks(healthz.NamedCheck("backupview-views", func(*http.Request) error {
		if cache.Ready() {
			return nil
		}
		if !src.HasSynced() {
			return fmt.Errorf("source informers not synced")
		}
		if !src.TargetsSynced() {
			return fmt.Errorf("target informers not synced")
		}
		return fmt.Errorf("views not built")
	}))

	if rh := c.GenericConfig.Authentication.RequestHeaderConfig; rh != nil {
		c.GenericConfig.AddReadyzChecks(requestHeaderLoaded(rh))
	}

	gs, err := c.GenericConfig.New("backupview-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	s := &Server{GenericAPIServer: gs}

	// What each caller may see of other namespaces, from the delegated authorizer.
	authz := access.New(c.GenericConfig.Authorization.Authorizer, access.Options{Resource: src.ResourceOf})
	views := backupconfigurationview.NewREST(cache, backupconfigurationview.Hooks{
		Redact:         authz.Redact,
		Missing:        src.MissingKinds,
		NotSynced:      src.NotSynced,
		Served:         func(n int) { metrics.ViewsServed.Add(float64(n)) },
		WatcherDropped: metrics.WatchersDropped.Inc,
	})
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(ui.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	previews := backupconfigurationpreview.NewREST(backupconfigurationpreview.Cluster(src), authz)
	options := backupconfigurationoptions.NewREST(formCache, backupconfigurationoptions.Hooks{
		Redact:         authz.RedactOptions,
		Missing:        src.MissingKinds,
		NotSynced:      src.NotSynced,
		WatcherDropped: metrics.WatchersDropped.Inc,
	})
	apiGroupInfo.VersionedResourcesStorageMap[ui.SchemeGroupVersion.Version] = map[string]rest.Storage{
		ui.ViewsResource.Resource:                               views,
		ui.OptionsResource.Resource:                             options,
		ui.ViewsResource.Resource + "/" + ui.PreviewSubresource: backupconfigurationpreview.NewPreviewREST(previews),
		ui.PreviewsResource.Resource:                            previews,
	}
	if err := gs.InstallAPIGroup(&apiGroupInfo); err != nil {
		return nil, err
	}

	s.startSources = func(ctx context.Context) {
		src.Start(ctx)
		go func() {
			// Target kinds referenced at start are watched before the first build, so the
			// first views already know which targets exist.
			if err := src.WaitForSync(ctx); err != nil {
				return
			}
			src.StartTargets(src.TargetKinds())
			// A target kind that cannot be listed (a conversion webhook down, ...) must not
			// keep the server from ever starting: wait for targets a bounded time, then build
			// with found=false for them; they are revisited once their informer syncs.
			tctx, cancel := context.WithTimeout(ctx, targetSyncWait)
			_ = src.WaitForTargets(tctx)
			cancel()
			cache.Run(ctx)
		}()
		go runFormOptions(ctx, src, cache, formCache, c.ExtraConfig.FormTargetKinds)
		go reportSources(ctx, src, cache)
	}
	return s, nil
}

// runFormOptions builds the form options once the views are (so that the form target kinds,
// started here, never delay readiness), then keeps them current until ctx ends.
func runFormOptions(ctx context.Context, src *sources.Sources, views *viewcache.Cache[*ui.BackupConfigurationView], forms *viewcache.Cache[*ui.BackupConfigurationOptions], kinds []schema.GroupKind) {
	if views.WaitReady(ctx) != nil {
		return
	}
	src.WatchFormTargetKinds(kinds)
	if src.WaitForNamespaces(ctx) != nil {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, targetSyncWait)
	_ = src.WaitForTargets(tctx)
	cancel()
	forms.Run(ctx)
}

// targetSyncWait bounds how long the first build waits for the target informers.
const targetSyncWait = 20 * time.Second

// reportSources refreshes the source and watcher gauges.
func reportSources(ctx context.Context, src *sources.Sources, cache *viewcache.Cache[*ui.BackupConfigurationView]) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		metrics.SourceSynced.Reset() // a kind's "installed" label changes when its CRD appears
		for _, st := range src.Statuses() {
			v := 0.0
			if st.Synced {
				v = 1
			}
			metrics.SourceSynced.WithLabelValues(st.Resource, strconv.FormatBool(st.Installed)).Set(v)
			metrics.SourceObjects.WithLabelValues(st.Resource).Set(float64(st.Objects))
		}
		metrics.Watchers.Set(float64(cache.Watchers()))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
