// Package server holds backupview-apiserver's options and command: Options -> Config.
package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	utilcompatibility "k8s.io/apiserver/pkg/util/compatibility"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/cli/globalflag"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/apiserver"
	"github.com/kubestash/backupview/pkg/filters"
	generatedopenapi "github.com/kubestash/backupview/pkg/generated/openapi"
	"github.com/kubestash/backupview/pkg/join"
	"github.com/kubestash/backupview/pkg/sources"
	"github.com/kubestash/backupview/pkg/version"
	"github.com/kubestash/backupview/pkg/viewcache"
)

// Options are backupview-apiserver's flags.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions

	SourcePollInterval time.Duration
	// Cache tunes the view cache: watch history, watcher buffers, paging snapshots, the cap
	// on watches and the rebuild workers.
	Cache        viewcache.Options
	ShowVersion  bool
	CheckSecrets bool
	// FormTargetKinds are the kinds whose objects the form options offer as targets (Kind.group).
	FormTargetKinds []string
	// BackupConfigurationMetrics exports the per-BackupConfiguration health series.
	BackupConfigurationMetrics bool
	// ViewSnapshots is how many of a Repository's newest Snapshots a view shows.
	ViewSnapshots int
	// MemoryLimit is the container's memory limit (a quantity; "" or 0: none), from which the
	// Go runtime's soft memory limit is set (softMemoryLimit).
	MemoryLimit string
	// ShutdownDelay is how long the server keeps serving after SIGTERM, with /readyz failing.
	ShutdownDelay time.Duration

	StdOut io.Writer
	StdErr io.Writer
}

// NewOptions returns the defaults: no etcd (nothing is stored) and no admission (the views
// are read-only and previews persist nothing); flow control is left to kube-apiserver, which
// already applies it to every request it proxies here.
func NewOptions(out, errOut io.Writer) *Options {
	o := &Options{
		RecommendedOptions:         genericoptions.NewRecommendedOptions("", apiserver.Codecs.LegacyCodec(v1alpha1.SchemeGroupVersion)),
		SourcePollInterval:         sources.DefaultPollInterval,
		Cache:                      viewcache.DefaultOptions(),
		FormTargetKinds:            sources.DefaultFormTargetKinds,
		BackupConfigurationMetrics: true,
		ViewSnapshots:              join.DefaultSnapshotsPerRepository,
		StdOut:                     out,
		StdErr:                     errOut,
	}
	o.RecommendedOptions.Etcd = nil
	o.RecommendedOptions.Admission = nil
	o.RecommendedOptions.Features.EnablePriorityAndFairness = false
	return o
}

// Flags returns the flags in named sections, for a grouped --help (as metrics-server does).
func (o *Options) Flags() (fss cliflag.NamedFlagSets) {
	fs := fss.FlagSet("backupview")
	fs.DurationVar(&o.SourcePollInterval, "source-poll-interval", o.SourcePollInterval, "How often to look again for KubeStash CRDs and target kinds that the cluster does not serve yet.")
	fs.IntVar(&o.Cache.WatcherBuffer, "watcher-buffer", o.Cache.WatcherBuffer, "Events a watch may fall behind before it is closed (the client then re-lists).")
	fs.IntVar(&o.Cache.History, "watch-history", o.Cache.History, "View events kept for watches resuming from a resourceVersion.")
	fs.IntVar(&o.Cache.Snapshots, "list-snapshots", o.Cache.Snapshots, "Past snapshots kept for paged lists (continue tokens).")
	fs.IntVar(&o.Cache.MaxWatchers, "max-watches", o.Cache.MaxWatchers, "Concurrent watches of views served; more are refused with 429 (Retry-After).")
	fs.IntVar(&o.Cache.MaxWatchersPerUser, "max-watches-per-user", o.Cache.MaxWatchersPerUser, "Concurrent watches one authenticated user may hold, so that no user can take the slots others need; more are refused with 429 (Retry-After). 0: a tenth of --max-watches.")
	fs.IntVar(&o.Cache.Workers, "rebuild-workers", o.Cache.Workers, "Views rebuilt in parallel after a source change.")
	fs.DurationVar(&o.Cache.SliceBudget, "rebuild-slice-budget", o.Cache.SliceBudget, "How long a rebuild waits for its slowest views before publishing the others; the slow ones follow when done.")
	fs.StringSliceVar(&o.FormTargetKinds, "form-target-kinds", o.FormTargetKinds, "Kinds (Kind.group; Kind for core kinds) whose objects backupconfigurationoptions offer as targets. Each is watched metadata-only; the server needs list and watch on them. Empty: only the kinds BackupConfigurations back up.")
	fs.IntVar(&o.ViewSnapshots, "view-snapshots", o.ViewSnapshots, "How many of each Repository's newest Snapshots a view shows (repositories[].snapshots; snapshotsTotal counts them all).")
	fs.BoolVar(&o.BackupConfigurationMetrics, "backupconfiguration-metrics", o.BackupConfigurationMetrics, "Export each BackupConfiguration's health on /metrics (backupview_backupconfiguration_*: verdict, last success, overdue threshold, newest session phase, paused, repository size and snapshots; about 16 series per BackupConfiguration and 2 per Repository). false: only backupview_backupconfigurations, the count per verdict.")
	fs.StringVar(&o.MemoryLimit, "memory-limit", o.MemoryLimit, "The container's memory limit (bytes or a quantity such as 512Mi; the Deployment passes limits.memory). The Go runtime's soft memory limit is set to 90% of it, unless GOMEMLIMIT is set. Empty: no soft limit.")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay-duration", o.ShutdownDelay, "How long to keep serving after SIGTERM, with /readyz failing, before the listener closes: long enough for the pod's endpoint to leave every kube-proxy and the aggregator (docs/real-node.md, \"Rolling updates\"). 0: close at once.")
	fs.BoolVar(&o.ShowVersion, "version", false, "Print the version and exit.")
	fs.BoolVar(&o.CheckSecrets, "check-encryption-secrets", false, "Warn in previews when an encryption Secret does not exist. Watches Secret metadata only (never data), but needs list and watch on Secrets cluster-wide, which the default RBAC does not grant.")
	ro := o.RecommendedOptions // without Etcd and Admission (NewOptions)
	ro.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	ro.Authentication.AddFlags(fss.FlagSet("authentication"))
	ro.Authorization.AddFlags(fss.FlagSet("authorization"))
	ro.Audit.AddFlags(fss.FlagSet("auditing"))
	ro.Features.AddFlags(fss.FlagSet("features"))
	ro.CoreAPI.AddFlags(fss.FlagSet("core API"))
	ro.EgressSelector.AddFlags(fss.FlagSet("egress selector"))
	ro.Traces.AddFlags(fss.FlagSet("traces"))
	globalflag.AddGlobalFlags(fss.FlagSet("global"), "backupview-apiserver")
	return fss
}

// Complete fills in what depends on other options: a self-signed serving certificate when
// none is given.
func (o *Options) Complete() error {
	if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return fmt.Errorf("error creating self-signed certificates: %w", err)
	}
	return nil
}

// Validate checks the options.
func (o *Options) Validate() error {
	errs := o.RecommendedOptions.Validate()
	for _, f := range []struct {
		name string
		v    int
	}{{"--watcher-buffer", o.Cache.WatcherBuffer}, {"--watch-history", o.Cache.History}, {"--list-snapshots", o.Cache.Snapshots}, {"--max-watches", o.Cache.MaxWatchers}, {"--rebuild-workers", o.Cache.Workers}} {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1", f.name))
		}
	}
	for _, k := range o.FormTargetKinds {
		if gk := schema.ParseGroupKind(k); gk.Kind == "" || strings.ContainsAny(k, "/ ") {
			errs = append(errs, fmt.Errorf("--form-target-kinds: %q is not Kind.group", k))
		}
	}
	if _, err := o.memoryLimit(); err != nil {
		errs = append(errs, err)
	}
	if o.ViewSnapshots < 1 {
		errs = append(errs, fmt.Errorf("--view-snapshots must be at least 1"))
	}
	if o.Cache.MaxWatchersPerUser < 0 {
		errs = append(errs, fmt.Errorf("--max-watches-per-user must not be negative"))
	}
	if o.ShutdownDelay < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-delay-duration must not be negative"))
	}
	if o.Cache.SliceBudget <= 0 {
		errs = append(errs, fmt.Errorf("--rebuild-slice-budget must be positive"))
	}
	return utilerrors.NewAggregate(errs)
}

// Config builds the server config from the completed, validated options.
func (o *Options) Config() (*apiserver.Config, error) {
	c := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	c.EffectiveVersion = utilcompatibility.DefaultBuildEffectiveVersion()

	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIConfig.Info.Title = "backupview"
	c.OpenAPIConfig.Info.Version = version.Version
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	c.OpenAPIV3Config.Info.Title = "backupview"
	c.OpenAPIV3Config.Info.Version = version.Version

	// Forms are small: a larger body is refused with 413 before it is decoded.
	c.MaxRequestBodyBytes = filters.BodyBudget
	if err := o.RecommendedOptions.ApplyTo(c); err != nil {
		return nil, err
	}
	c.ShutdownDelayDuration = o.ShutdownDelay
	// Large previews take turns before the create handler decodes them (filters.PreviewBodies).
	c.BuildHandlerChainFunc = func(h http.Handler, gc *genericapiserver.Config) http.Handler {
		return genericapiserver.DefaultBuildHandlerChain(filters.PreviewBodies(h, apiserver.Codecs), gc)
	}
	return &apiserver.Config{
		GenericConfig: c,
		ExtraConfig: apiserver.ExtraConfig{
			SourcePollInterval:         o.SourcePollInterval,
			CheckEncryptionSecrets:     o.CheckSecrets,
			Cache:                      o.Cache,
			FormTargetKinds:            formTargetKinds(o.FormTargetKinds),
			BackupConfigurationMetrics: o.BackupConfigurationMetrics,
			View:                       join.Options{SnapshotsPerRepository: o.ViewSnapshots},
		},
	}, nil
}

// memoryLimit parses --memory-limit (0: none).
func (o *Options) memoryLimit() (int64, error) {
	if o.MemoryLimit == "" {
		return 0, nil
	}
	q, err := resource.ParseQuantity(o.MemoryLimit)
	if err != nil || q.Sign() < 0 {
		return 0, fmt.Errorf("--memory-limit: %q is not a memory quantity", o.MemoryLimit)
	}
	return q.Value(), nil
}

// memoryLimitShare is the part of the container's memory limit the Go runtime is held to: the
// rest is for what it does not count (the binary's mapped pages) and for the GC to catch up
// before the kernel kills the container. A cache-heavy server otherwise grows to twice its
// live heap (GOGC=100) wherever the limit is (docs/benchmarks.md, "Memory").
const memoryLimitShare = 0.9

// softMemoryLimit is the soft memory limit for a container limit of limit bytes, and whether
// to set one: not when GOMEMLIMIT (goMemLimit) is set, which the Go runtime has applied.
func softMemoryLimit(limit int64, goMemLimit string) (int64, bool) {
	if goMemLimit != "" || limit <= 0 {
		return 0, false
	}
	return int64(float64(limit) * memoryLimitShare), true
}

// Run starts the server and blocks until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	limit, err := o.memoryLimit()
	if err != nil {
		return err
	}
	if soft, ok := softMemoryLimit(limit, os.Getenv("GOMEMLIMIT")); ok {
		debug.SetMemoryLimit(soft)
		klog.InfoS("Go soft memory limit set", "bytes", soft, "containerLimit", limit)
	}
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	s, err := cfg.Complete().New()
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// NewCommand returns the backupview-apiserver command.
func NewCommand(ctx context.Context, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backupview-apiserver",
		Short: "Serves KubeStash BackupConfigurations as joined, read-only views (ui.kubestash.com)",
		Long: strings.TrimSpace(`
backupview-apiserver is a Kubernetes aggregated API server. It serves
ui.kubestash.com/v1alpha1 backupconfigurationviews (get, list, watch): one view per KubeStash
BackupConfiguration, joined with its BackupSessions, RetentionPolicies, target, Repositories,
BackupStorages and trigger CronJobs; and backupconfigurationpreviews, which render a
BackupConfiguration from the console's create form without persisting anything.`),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.ShowVersion {
				fmt.Fprintln(o.StdOut, version.Version)
				return nil
			}
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	cmd.SetContext(ctx)
	fss := o.Flags()
	for _, f := range fss.FlagSets {
		cmd.Flags().AddFlagSet(f)
	}
	cliflag.SetUsageAndHelpFunc(cmd, fss, 0) // 0: no wrapping (the terminal's width would need github.com/moby/term)
	return cmd
}

func formTargetKinds(l []string) []schema.GroupKind {
	out := make([]schema.GroupKind, 0, len(l))
	for _, k := range l {
		out = append(out, schema.ParseGroupKind(k))
	}
	return out
}
