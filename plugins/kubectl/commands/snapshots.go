package commands

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/plugins/kubectl/describe"
)

// repositorySnapshots is one repository's part of `snapshots -o yaml|json`.
type repositorySnapshots struct {
	Repository     string                 `json:"repository"`
	Namespace      string                 `json:"namespace"`
	SnapshotsTotal int32                  `json:"snapshotsTotal"`
	Snapshots      []v1alpha1.SnapshotRef `json:"snapshots"`
}

func (r *root) snapshotsCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "snapshots NAME",
		Short: "List the snapshots of a BackupConfiguration's repositories, newest first",
		Long: `List the newest Snapshots of each repository a BackupConfiguration backs up to, read from its
view (one GET of backupconfigurationviews.ui.kubestash.com): time, phase, size, integrity,
verification and the BackupSession that took each. The view holds each repository's newest
(the server's --view-snapshots, 10 by default); -o yaml or json also prints how many there are.`,
		Example: `  kubectl backupview snapshots -n demo mongodb-backup
  kubectl backupview snapshots -n demo mongodb-backup -o yaml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.completeViewNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != outputYAML && output != outputJSON {
				return fmt.Errorf("--output %q: want yaml or json (or none, for the table)", output)
			}
			c, err := r.clients()
			if err != nil {
				return err
			}
			ns, _, err := r.namespace()
			if err != nil {
				return err
			}
			v, err := c.bv.UiV1alpha1().BackupConfigurationViews(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return explain(c.discovery, err, viewsResource, nil)
			}
			return r.printSnapshots(v, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "yaml or json (default: a table)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputYAML, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (r *root) printSnapshots(v *v1alpha1.BackupConfigurationView, output string) error {
	if output == "" {
		var rows [][]string
		for _, repo := range v.Repositories {
			rows = append(rows, describe.SnapshotRows(repo, r.Now())...)
		}
		if len(rows) == 0 {
			_, err := fmt.Fprintf(r.Streams.ErrOut, "No snapshots found for %s/%s.\n", v.Namespace, v.Name)
			return err
		}
		tw := tabwriter.NewWriter(r.Streams.Out, 0, 8, 3, ' ', 0)
		for _, row := range append([][]string{describe.SnapshotHeader}, rows...) {
			for i, cell := range row {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				fmt.Fprint(tw, cell)
			}
			fmt.Fprintln(tw)
		}
		return tw.Flush()
	}
	out := make([]repositorySnapshots, 0, len(v.Repositories))
	for _, repo := range v.Repositories {
		out = append(out, repositorySnapshots{Repository: repo.Name, Namespace: repo.Namespace, SnapshotsTotal: repo.SnapshotsTotal,
			Snapshots: append([]v1alpha1.SnapshotRef{}, repo.Snapshots...)})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err == nil && output == outputYAML {
		data, err = yaml.JSONToYAML(data)
	}
	if err != nil {
		return err
	}
	if output == outputJSON {
		data = append(data, '\n')
	}
	_, err = r.Streams.Out.Write(data)
	return err
}
