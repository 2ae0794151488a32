package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/plugins/kubectl/formflags"
)

// restoreSessions is the KubeStash resource the restore command submits.
var restoreSessions = schema.GroupVersionResource{Group: kubestash.CoreGroup, Version: kubestash.Version, Resource: "restoresessions"}

type restoreOptions struct {
	form         formflags.RestoreFlags
	output       string
	edit         bool
	submit       bool
	dryRun       string
	fieldManager string
}

func (r *root) restoreCommand() *cobra.Command {
	o := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore NAME (--snapshot latest|SNAPSHOT | --at TIME [--exclusive]) [--target ...] [--task ...]",
		Short: "Render a RestoreSession of a BackupConfiguration's backups, edit it, and submit it",
		Long: `Post a restore form for the BackupConfiguration NAME to its view's restore-preview and print the
RestoreSession it renders to. The repository, the target, the Addon and its restore tasks
default to the view's; the server says which snapshot the choice means now when it knows, and
its warnings (a snapshot that failed, a target that would be overwritten, ...) go to standard
error. A form it refuses is an error naming every field and the flag that set it.

  --edit     open the manifest in $KUBE_EDITOR or $EDITOR (vi by default); a saved manifest is
             checked by the server (a server-side apply with dry run) and reopens with the
             problems until it passes
  --submit   create the RestoreSession, which starts the restore: server-side apply, field
             manager ` + FieldManager + `
  --dry-run=server  send it with dry run: checked and not persisted`,
		Example: `  kubectl backupview restore mongodb-backup -n demo --snapshot latest
  kubectl backupview restore mongodb-backup -n demo --at 2026-12-07T10:00:00Z --exclusive \
    --target MongoDB.kubedb.com/mongodb-copy --task 'name=logical-backup-restore,param.args=--drop'
  kubectl backupview restore mongodb-backup -n demo --snapshot latest --edit --submit`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.completeViewNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.restore(cmd, o, args[0])
		},
	}
	fs := cmd.Flags()
	o.form.AddFlags(fs)
	fs.StringVarP(&o.output, "output", "o", "", "yaml or json: the manifest (the default, yaml); name; with --submit the applied object (default: name)")
	fs.BoolVar(&o.edit, "edit", false, "edit the manifest in $KUBE_EDITOR or $EDITOR before printing or submitting it")
	fs.BoolVar(&o.submit, "submit", false, "create the RestoreSession (server-side apply): this starts the restore")
	fs.StringVar(&o.dryRun, "dry-run", dryRunNone, `"none" or "server": with server, submit with dry run (nothing is persisted)`)
	fs.StringVar(&o.fieldManager, "field-manager", FieldManager, "the field manager of the server-side apply")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputYAML, outputJSON, outputName}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{dryRunNone, dryRunServer}, cobra.ShellCompDirectiveNoFileComp))
	for _, name := range []string{formflags.Repository, formflags.Snapshot, formflags.Target, formflags.Addon, formflags.Task, formflags.EncryptionSecret} {
		_ = cmd.RegisterFlagCompletionFunc(name, r.completeRestoreFlag(&o.form, name))
	}
	return cmd
}

func (r *root) restore(cmd *cobra.Command, o *restoreOptions, view string) error {
	send, output, err := sending("RestoreSession", o.dryRun, o.submit, o.output)
	if err != nil {
		return err
	}
	ns, _, err := r.namespace()
	if err != nil {
		return err
	}
	name := o.form.Name
	if name == "" {
		// A new name each time: a RestoreSession runs once, so a second restore is a new object.
		name = view + "-restore-" + r.Now().UTC().Format("20060102-150405")
	}
	form, origins, err := o.form.Form(ns, name)
	if err != nil {
		return err
	}
	body, err := json.Marshal(form)
	if err != nil {
		return err
	}
	c, err := r.clients()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	p := &v1alpha1.RestoreSessionPreview{}
	err = c.bv.UiV1alpha1().RESTClient().Post().Namespace(ns).Resource(v1alpha1.ViewsResource.Resource).Name(view).
		SubResource(v1alpha1.RestorePreviewSubresource).Param("fieldValidation", metav1.FieldValidationStrict).
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Into(p)
	if err != nil {
		return explain(c.discovery, err, restorePreviewResource, origins.Of)
	}
	if s := p.Status.Snapshot; s != nil {
		fmt.Fprintf(r.Streams.ErrOut, "Snapshot: %s\n", snapshotLine(s))
	}
	text, ext := p.Status.YAML, ".yaml"
	if output == outputJSON {
		text, ext = p.Status.JSON, ".json"
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("the server answered the restore preview without a manifest")
	}
	return r.sendManifest(ctx, c, manifest{gvr: restoreSessions, resource: restoreResource, kind: "RestoreSession",
		namespace: ns, name: name, why: "the preview was for that name (use --name for another)"},
		text, ext, o.edit, send, output, o.dryRun, o.fieldManager)
}

// snapshotLine describes the snapshot a restore would use now, in one line.
func snapshotLine(s *v1alpha1.ResolvedSnapshot) string {
	parts := []string{s.Name}
	if s.SnapshotTime != nil {
		parts = append(parts, "taken "+s.SnapshotTime.UTC().Format("2006-01-02T15:04:05Z"))
	}
	for _, kv := range [][2]string{{"phase", s.Phase}, {"size", s.Size}, {"verification", s.VerificationStatus}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	return strings.Join(parts, ", ")
}
