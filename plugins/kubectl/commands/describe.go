package commands

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/plugins/kubectl/describe"
)

func (r *root) describeCommand() *cobra.Command {
	var allNamespaces bool
	var selector string
	cmd := &cobra.Command{
		Use:   "describe [NAME...]",
		Short: "Show the console's detail page of BackupConfigurations: health first, then every panel",
		Long: `Show the console's detail page of BackupConfigurations, read from their views
(backupconfigurationviews.ui.kubestash.com; one GET per name, or one LIST): the health verdict
now and the reasons behind it, then Basic, Sessions, Backup Sessions (newest first), Retention
Policies, Target, Repository, BackupStorage and CronJobs.

Without a name, every BackupConfiguration of the namespace (or, with -A, of every namespace)
that matches -l.`,
		Example: `  kubectl backupview describe -n demo mongodb-backup
  kubectl backupview describe -A -l team=databases`,
		ValidArgsFunction: r.completeViewNames,
		RunE: func(cmd *cobra.Command, names []string) error {
			switch {
			case allNamespaces && len(names) > 0:
				return errors.New("a resource cannot be retrieved by name across all namespaces")
			case selector != "" && len(names) > 0:
				return errors.New("name cannot be provided when a selector is specified")
			}
			return r.describe(cmd, names, allNamespaces, selector)
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "describe the BackupConfigurations of every namespace")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector (the BackupConfigurations' labels), e.g. -l team=databases")
	return cmd
}

func (r *root) describe(cmd *cobra.Command, names []string, all bool, selector string) error {
	c, err := r.clients()
	if err != nil {
		return err
	}
	ns, _, err := r.namespace()
	if err != nil {
		return err
	}
	if all {
		ns = metav1.NamespaceAll
	}
	ctx, views := cmd.Context(), c.bv.UiV1alpha1().BackupConfigurationViews(ns)
	if len(names) == 0 {
		list, err := views.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return explain(c.discovery, err, viewsResource, nil)
		}
		if len(list.Items) == 0 {
			if all {
				fmt.Fprintln(r.Streams.ErrOut, "No resources found")
			} else {
				fmt.Fprintf(r.Streams.ErrOut, "No resources found in %s namespace.\n", ns)
			}
			return nil
		}
		return describe.Views(r.Streams.Out, list.Items, r.Now())
	}
	// As kubectl describe: every name is tried, an error does not stop the others.
	failed, printed := false, false
	for _, name := range names {
		v, err := views.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			fmt.Fprint(r.Streams.ErrOut, withNewline(message(explain(c.discovery, err, viewsResource, nil))))
			failed = true
			continue
		}
		if printed {
			fmt.Fprintln(r.Streams.Out)
		}
		if err := describe.Views(r.Streams.Out, []v1alpha1.BackupConfigurationView{*v}, r.Now()); err != nil {
			return err
		}
		printed = true
	}
	if failed {
		return errReported
	}
	return nil
}
