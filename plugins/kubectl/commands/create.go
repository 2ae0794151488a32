package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/plugins/kubectl/formflags"
	"github.com/kubestash/backupview/plugins/kubectl/manifestedit"
)

// Output formats of create.
const (
	outputYAML = "yaml"
	outputJSON = "json"
	outputName = "name"
)

// Dry-run modes of create; client is kubectl's third, which create has no use for.
const (
	dryRunNone   = "none"
	dryRunServer = "server"
)

type createOptions struct {
	form         formflags.Flags
	filename     string
	output       string
	edit         bool
	submit       bool
	dryRun       string
	fieldManager string
}

func (r *root) createCommand() *cobra.Command {
	o := &createOptions{}
	cmd := &cobra.Command{
		Use:   "create NAME [--storage ... --session ... --task ... --target ...] | create -f FORM",
		Short: "Render a BackupConfiguration from the console's create form, edit it, and submit it",
		Long: `Post the console's create form (a BackupConfigurationPreview) and print the BackupConfiguration
it renders to; the server's warnings go to standard error, a form it refuses is an error naming
every field (and the flag that set it). The form comes from the flags, or whole from -f.

  --edit     open the manifest in $KUBE_EDITOR or $EDITOR (vi by default), as the console's
             Preview page allows; a saved manifest is checked by the server (a server-side apply
             with dry run) and the file reopens with the problems until it passes
  --submit   create the BackupConfiguration: server-side apply, field manager ` + FieldManager + `
  --dry-run=server  send it with dry run: checked and not persisted`,
		Example: `  kubectl backupview create mongodb-logical -n demo \
    --storage kubestash/s3-shared --retention-policy demo/demo-retention --label team=databases \
    --session 'name=full-backup,schedule=*/30 * * * *,addon=mongodb-addon,run-as-user=999' \
    --task 'name=logical-backup,repo=mongodb-logical-repo,encryption-secret=encrypt-secret,param.args=--db=testdb' \
    --target MongoDB.kubedb.com/mongodb --submit

  kubectl backupview create -f examples/preview-mongodb.yaml -o json
  kubectl backupview create -f form.yaml --edit --submit`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.create(cmd, o, args)
		},
	}
	fs := cmd.Flags()
	o.form.AddFlags(fs)
	fs.StringVarP(&o.filename, "filename", "f", "", "the whole form: a BackupConfigurationPreview in YAML or JSON (- for standard input), instead of the form's flags")
	fs.StringVarP(&o.output, "output", "o", "", "yaml or json: the manifest (the default, yaml); name; with --submit the applied object (default: name)")
	fs.BoolVar(&o.edit, "edit", false, "edit the manifest in $KUBE_EDITOR or $EDITOR before printing or submitting it")
	fs.BoolVar(&o.submit, "submit", false, "create the BackupConfiguration (server-side apply)")
	fs.StringVar(&o.dryRun, "dry-run", dryRunNone, `"none" or "server": with server, submit with dry run (nothing is persisted)`)
	fs.StringVar(&o.fieldManager, "field-manager", FieldManager, "the field manager of the server-side apply")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputYAML, outputJSON, outputName}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{dryRunNone, dryRunServer}, cobra.ShellCompDirectiveNoFileComp))
	for _, name := range formflags.Names {
		_ = cmd.RegisterFlagCompletionFunc(name, r.completeFormFlag(&o.form, name))
	}
	return cmd
}

// sending reads --dry-run, --submit and --output of a command that previews a kind and may
// send the manifest (create, restore): whether it goes to the cluster, and what is printed.
func sending(kind, dryRun string, submit bool, output string) (send bool, out string, err error) {
	switch dryRun {
	case dryRunNone, dryRunServer:
	case "client":
		return false, "", fmt.Errorf(`--dry-run=client has nothing to do: without --submit nothing but the preview is sent; use --dry-run=server to check the %s with the server`, kind)
	default:
		return false, "", fmt.Errorf(`invalid argument %q for "--dry-run" flag: must be "none" or "server"`, dryRun)
	}
	send = submit || dryRun == dryRunServer
	switch output {
	case "":
		output = outputYAML
		if send {
			output = outputName
		}
	case outputYAML, outputJSON, outputName:
	default:
		return false, "", fmt.Errorf(`invalid argument %q for "--output" flag: must be yaml, json or name`, output)
	}
	return send, output, nil
}

func (r *root) create(cmd *cobra.Command, o *createOptions, args []string) error {
	send, output, err := sending("BackupConfiguration", o.dryRun, o.submit, o.output)
	if err != nil {
		return err
	}
	ns, explicit, err := r.namespace()
	if err != nil {
		return err
	}
	f, err := o.readForm(cmd, ns, explicit, args, r.Streams.In)
	if err != nil {
		return err
	}
	c, err := r.clients()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	p := &v1alpha1.BackupConfigurationPreview{}
	err = c.bv.UiV1alpha1().RESTClient().Post().Namespace(f.namespace).Resource(previewResource.Resource).
		Param("fieldValidation", metav1.FieldValidationStrict).SetHeader("Content-Type", "application/json").
		Body(f.body).Do(ctx).Into(p)
	if err != nil {
		return explain(c.discovery, err, previewResource, f.origins.Of)
	}
	text, ext := p.Status.YAML, ".yaml"
	if output == outputJSON {
		text, ext = p.Status.JSON, ".json"
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("the server answered the preview without a manifest")
	}
	return r.sendManifest(ctx, c, manifest{gvr: kubestash.BackupConfigurations, resource: bcResource, kind: "BackupConfiguration",
		namespace: f.namespace, name: f.name, why: "the preview was for that name (run create again for another)"},
		text, ext, o.edit, send, output, o.dryRun, o.fieldManager)
}

// manifest is the object a preview rendered, as create and restore print, edit or apply it.
type manifest struct {
	gvr             schema.GroupVersionResource
	resource        schema.GroupResource
	kind            string
	namespace, name string
	why             string // why the editor may not change the kind, namespace or name
}

// sendManifest opens text in the editor (edit, checked as checkManifest does), then prints it,
// or with send applies it server-side (dry run with dryRun server) and prints the result.
func (r *root) sendManifest(ctx context.Context, c *clients, m manifest, text, ext string, edit, send bool, output, dryRun, fieldManager string) error {
	if edit {
		getenv := r.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		ed := manifestedit.Editor{Command: manifestedit.DefaultEditor(getenv), In: r.Streams.In, Out: r.Streams.Out, ErrOut: r.Streams.ErrOut}
		what := fmt.Sprintf("%s %s/%s", m.kind, m.namespace, m.name)
		check := r.checkManifest(ctx, c, m.gvr, m.kind, m.namespace, m.name, m.why, send, fieldManager)
		edited, err := manifestedit.Edit(ed, what, []byte(text), ext, check)
		if err != nil {
			return err
		}
		text = string(edited)
	}
	obj, err := decodeManifest([]byte(text))
	if err != nil {
		return err
	}
	if !send {
		if output == outputName {
			return (&printers.NamePrinter{}).PrintObj(obj, r.Streams.Out)
		}
		_, err := io.WriteString(r.Streams.Out, withNewline(text))
		return err
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager}
	operation := "serverside-applied"
	if dryRun == dryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
		operation += " (server dry run)"
	}
	applied, err := c.dynamic.Resource(m.gvr).Namespace(m.namespace).Apply(ctx, m.name, obj, opts)
	if err != nil {
		return explain(c.discovery, err, m.resource, nil)
	}
	var printer printers.ResourcePrinter = &printers.NamePrinter{Operation: operation}
	switch output {
	case outputYAML:
		printer = &printers.OmitManagedFieldsPrinter{Delegate: &printers.YAMLPrinter{}}
	case outputJSON:
		printer = &printers.OmitManagedFieldsPrinter{Delegate: &printers.JSONPrinter{}}
	}
	return printer.PrintObj(applied, r.Streams.Out)
}

// form is the create form to post: its JSON and what the plugin reads of it.
type form struct {
	namespace, name string
	body            []byte
	origins         *formflags.Origins // nil for a form from a file
}

// readForm is the form of the flags, or of -f (then the form's flags may not be given). A
// file's form is sent as written, so that the server, which decodes it strictly, names any
// field the form does not have by its path.
func (o *createOptions) readForm(cmd *cobra.Command, ns string, explicitNS bool, args []string, stdin io.Reader) (*form, error) {
	if o.filename == "" {
		if len(args) != 1 {
			return nil, errors.New("NAME is required: kubectl backupview create NAME [form flags], or -f FORM")
		}
		p, origins, err := o.form.Form(ns, args[0])
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(p)
		return &form{namespace: p.Namespace, name: p.Name, body: body, origins: origins}, err
	}
	if given := formflags.Given(cmd.Flags()); len(given) > 0 {
		return nil, fmt.Errorf("-f takes the whole form: it cannot be combined with %s", strings.Join(given, ", "))
	}
	var data []byte
	var err error
	if o.filename == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(o.filename)
	}
	if err != nil {
		return nil, err
	}
	obj, err := decodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("error parsing %s: %w", o.filename, err)
	}
	gvk := v1alpha1.SchemeGroupVersion.WithKind("BackupConfigurationPreview")
	if obj.GroupVersionKind() != gvk {
		return nil, fmt.Errorf("%s is a %s %s, not a %s %s (the create form)", o.filename, obj.GetAPIVersion(), obj.GetKind(), gvk.GroupVersion(), gvk.Kind)
	}
	if len(args) == 1 {
		if n := obj.GetName(); n != "" && n != args[0] {
			return nil, fmt.Errorf("the name of the form in %s (%q) does not match NAME (%q)", o.filename, n, args[0])
		}
		obj.SetName(args[0])
	}
	switch n := obj.GetNamespace(); {
	case n == "":
		obj.SetNamespace(ns)
	case explicitNS && n != ns:
		// kubectl's wording for the same conflict.
		return nil, fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation", n, ns, n)
	}
	body, err := obj.MarshalJSON()
	return &form{namespace: obj.GetNamespace(), name: obj.GetName(), body: body}, err
}

// checkManifest checks an edited manifest of any KubeStash kind: it must stay the kind and
// the namespace/name it was rendered as (why says so), and pass a server-side dry-run apply.
func (r *root) checkManifest(ctx context.Context, c *clients, gvr schema.GroupVersionResource, kind, namespace, name, why string, send bool, fieldManager string) manifestedit.Validate {
	return func(m []byte) ([]string, error) {
		obj, err := decodeManifest(m)
		if err != nil {
			return []string{err.Error()}, nil
		}
		var problems []string
		if gv := gvr.GroupVersion().String(); obj.GetAPIVersion() != gv || obj.GetKind() != kind {
			problems = append(problems, fmt.Sprintf("apiVersion and kind must stay %s %s, not %s %s", gv, kind, obj.GetAPIVersion(), obj.GetKind()))
		}
		if obj.GetName() != name || obj.GetNamespace() != namespace {
			problems = append(problems, fmt.Sprintf("metadata.namespace and metadata.name must stay %s/%s, not %s/%s: %s",
				namespace, name, obj.GetNamespace(), obj.GetName(), why))
		}
		if len(problems) > 0 {
			return problems, nil
		}
		_, err = c.dynamic.Resource(gvr).Namespace(namespace).Apply(ctx, name, obj,
			metav1.ApplyOptions{FieldManager: fieldManager, DryRun: []string{metav1.DryRunAll}})
		switch {
		case err == nil:
			return nil, nil
		case apierrors.IsForbidden(err) && !send:
			fmt.Fprintf(r.Streams.ErrOut, "Warning: the edited manifest was not checked by the server: %s\n", err)
			return nil, nil
		case aboutTheManifest(err):
			return []string{strings.TrimSuffix(message(explain(c.discovery, err, gvr.GroupResource(), nil)), "\n")}, nil
		}
		return nil, explain(c.discovery, err, gvr.GroupResource(), nil)
	}
}

// aboutTheManifest tells the server's refusals of the manifest, which an edit may fix (a 422,
// a 400, a conflict, a field the schema does not declare, which server-side apply reports
// as an error without a reason), from those about the caller, the cluster or the
// connection, which no edit fixes.
func aboutTheManifest(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	switch st.Status().Reason {
	case metav1.StatusReasonForbidden, metav1.StatusReasonUnauthorized, metav1.StatusReasonNotFound,
		metav1.StatusReasonServiceUnavailable, metav1.StatusReasonTimeout, metav1.StatusReasonServerTimeout,
		metav1.StatusReasonTooManyRequests:
		return false
	}
	return true
}

// decodeManifest reads one object from YAML or JSON.
func decodeManifest(m []byte) (*unstructured.Unstructured, error) {
	data, err := yaml.YAMLToJSON(m)
	if err != nil {
		return nil, fmt.Errorf("error parsing the manifest: %w", err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("error parsing the manifest: %w", err)
	}
	return obj, nil
}
