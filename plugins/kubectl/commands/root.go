// Package plugin is the kubectl plugin's command line (kubectl backupview; docs/design.md,
// "kubectl plugin"): cobra commands on kubectl's standard connection flags
// (k8s.io/cli-runtime's ConfigFlags), the clients they build, shell completion and
// kubectl-like error messages. The detail page is package describe's, the flag syntax package
// formflags', the editor loop package manifestedit's.
package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	"github.com/kubestash/backupview/pkg/version"
)

// Binary is the plugin's executable: kubectl runs kubectl-<plugin> for kubectl <plugin>.
const Binary = "kubectl-backupview"

// CompletionBinary is what kubectl runs to complete the plugin's words: kubectl_complete-<plugin>,
// a link to Binary.
const CompletionBinary = "kubectl_complete-backupview"

// FieldManager is the plugin's own field manager for server-side apply.
const FieldManager = "kubectl-backupview"

// Options configure the command; the zero value of each field is the real thing.
type Options struct {
	Streams genericiooptions.IOStreams
	// Now is the clock describe reads ages and the verdict at; time.Now when nil.
	Now func() time.Time
	// Getenv reads the editor's environment; os.Getenv when nil.
	Getenv func(string) string
}

// root holds what every subcommand shares: the connection flags and the streams.
type root struct {
	Options
	flags *genericclioptions.ConfigFlags
}

// NewCommand is kubectl backupview with its subcommands.
func NewCommand(o Options) *cobra.Command {
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &root{Options: o, flags: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use:   Binary,
		Short: "Describe KubeStash BackupConfigurations and create them from the console's form",
		Long: `kubectl backupview reads backupview's views (ui.kubestash.com) and previews:

  describe   the console's detail page of a BackupConfiguration: health first, then every panel
  create     the console's create form as flags (or -f form.yaml): preview, edit, submit
  restore    a restore of a BackupConfiguration's backups as flags: preview, edit, submit`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl backupview"},
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetIn(o.Streams.In)
	cmd.SetOut(o.Streams.Out)
	cmd.SetErr(o.Streams.ErrOut)
	// As kubectl: a flag error points at the command's help.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s -h' for help and examples", err, c.CommandPath())
	})
	r.flags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(r.describeCommand(), r.snapshotsCommand(), r.createCommand(), r.restoreCommand(), r.versionCommand())
	return cmd
}

// Run executes the command line args and returns the exit code, printing an error as
// kubectl would.
func Run(ctx context.Context, o Options, args []string) int {
	cmd := NewCommand(o)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		if err != errReported {
			fmt.Fprint(o.Streams.ErrOut, withNewline(message(err)))
		}
		return 1
	}
	return 0
}

func (r *root) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(r.Streams.Out, "%s %s\n", Binary, version.Version)
			return err
		},
	}
}

// clients are what the commands talk to the cluster with.
type clients struct {
	bv        clientset.Interface
	dynamic   dynamic.Interface
	discovery discovery.DiscoveryInterface
}

// clients builds the clients from the connection flags; the server's warnings are printed
// to standard error as kubectl prints them.
func (r *root) clients() (*clients, error) {
	base, err := r.flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(base)
	cfg.WarningHandler = rest.NewWarningWriter(r.Streams.ErrOut, rest.WarningWriterOptions{Deduplicate: true})
	cfg.UserAgent = Binary + "/" + version.Version + " " + rest.DefaultKubernetesUserAgent()
	c := &clients{}
	if c.bv, err = clientset.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	// Uncached: asked only to explain an error, when the cached answer may be what is stale.
	if c.discovery, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// namespace is the namespace of the flags or the kubeconfig's context, and whether it was
// given with --namespace.
func (r *root) namespace() (string, bool, error) {
	return r.flags.ToRawKubeConfigLoader().Namespace()
}
