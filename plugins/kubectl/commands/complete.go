package commands

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/plugins/kubectl/formflags"
)

// completeViewNames offers the names of the namespace's views (one LIST) not given yet.
func (r *root) completeViewNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, err := r.clients()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ns, _, err := r.namespace()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	list, err := c.bv.UiV1alpha1().BackupConfigurationViews(ns).List(cmd.Context(), metav1.ListOptions{})
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for _, v := range list.Items {
		if strings.HasPrefix(v.Name, toComplete) && !slices.Contains(args, v.Name) {
			names = append(names, v.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeFormFlag offers a form flag's values from the namespace's form options (the
// console's dropdowns; one GET of its BackupConfigurationOptions) and the flags given before.
func (r *root) completeFormFlag(given *formflags.Flags, flag string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if flag == formflags.Label || flag == formflags.Annotation {
			return nil, cobra.ShellCompDirectiveNoFileComp // free text: nothing to offer
		}
		c, err := r.clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ns, _, err := r.namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		opts, err := c.bv.UiV1alpha1().BackupConfigurationOptionses(ns).Get(cmd.Context(), ui.OptionsName, metav1.GetOptions{})
		if err != nil {
			cobra.CompDebugln(err.Error(), false)
			return nil, cobra.ShellCompDirectiveError
		}
		values, more := formflags.Complete(opts, given, flag, toComplete)
		d := cobra.ShellCompDirectiveNoFileComp
		if more {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return values, d
	}
}

// completeRestoreFlag offers a restore flag's values: the view's repositories (one GET of the
// view named by the command's argument) and the namespace's form options (one GET).
func (r *root) completeRestoreFlag(given *formflags.RestoreFlags, flag string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		c, err := r.clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ns, _, err := r.namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var view *ui.BackupConfigurationView
		var opts *ui.BackupConfigurationOptions
		if flag == formflags.Repository {
			if len(args) == 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			view, err = c.bv.UiV1alpha1().BackupConfigurationViews(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
		} else if flag != formflags.Snapshot {
			opts, err = c.bv.UiV1alpha1().BackupConfigurationOptionses(ns).Get(cmd.Context(), ui.OptionsName, metav1.GetOptions{})
		}
		if err != nil {
			cobra.CompDebugln(err.Error(), false)
			return nil, cobra.ShellCompDirectiveError
		}
		values, more := formflags.CompleteRestore(opts, view, given, flag, toComplete)
		d := cobra.ShellCompDirectiveNoFileComp
		if more {
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return values, d
	}
}
