package formflags

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The restore form's flags (kubectl backupview restore).
const (
	Snapshot         = "snapshot"
	At               = "at"
	Exclusive        = "exclusive"
	Repository       = "repository"
	Component        = "component"
	Addon            = "addon"
	EncryptionSecret = "encryption-secret"
	RestoreTimeout   = "restore-timeout"
	RestoreName      = "name"
)

// RestoreNames are every restore form flag, in the form's order (--target and --task are
// the create form's names, with the restore form's meaning).
var RestoreNames = []string{RestoreName, Repository, Snapshot, At, Exclusive, Component, Target, Addon, Task, EncryptionSecret, RestoreTimeout, Label, Annotation}

// RestoreFlags are the restore form's flags as given on the command line.
type RestoreFlags struct {
	Name             string
	Repository       string
	Snapshot         string
	At               string
	Exclusive        bool
	Components       []string
	Target           string
	Addon            string
	Tasks            []string
	EncryptionSecret string
	RestoreTimeout   string
	Labels           []string
	Annotations      []string
	// ReadFile reads a task's params-file; os.ReadFile when nil.
	ReadFile func(string) ([]byte, error)
}

// AddFlags registers the restore form's flags.
func (f *RestoreFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Name, RestoreName, "", "the RestoreSession's name (default: the view's name, -restore- and the time)")
	fs.StringVar(&f.Repository, Repository, "", "the view's Repository to restore from (default: the view's only one)")
	fs.StringVar(&f.Snapshot, Snapshot, "", `the snapshot to restore: a Snapshot's name, or "latest" (the repository's newest when the restore runs)`)
	fs.StringVar(&f.At, At, "", "restore to a point in time instead of --snapshot: the newest snapshot at TIME (RFC 3339, e.g. 2026-12-07T10:00:00Z)")
	fs.BoolVar(&f.Exclusive, Exclusive, false, "with --at: the newest snapshot strictly before TIME")
	fs.StringArrayVar(&f.Components, Component, nil, "a component to restore, e.g. dump (repeatable; default: all of the snapshot's)")
	fs.StringVar(&f.Target, Target, "", "the object to restore into, as KIND[.GROUP]/[NAMESPACE/]NAME (default: the view's target)")
	fs.StringVar(&f.Addon, Addon, "", "the Addon whose restore tasks run (default: the Addon of the sessions that write to the repository)")
	fs.StringArrayVar(&f.Tasks, Task, nil, "a restore task (repeatable): comma-separated name=TASK, param.KEY=VALUE (repeatable), params-file=FILE (default, for a caller who may get Addons: the restore tasks of the sessions' backup tasks)")
	fs.StringVar(&f.EncryptionSecret, EncryptionSecret, "", "the Secret with the repository's encryption key, as [NAMESPACE/]NAME")
	fs.StringVar(&f.RestoreTimeout, RestoreTimeout, "", "how long the restore may take, e.g. 30m")
	fs.StringArrayVar(&f.Labels, Label, nil, "a label of the RestoreSession, KEY=VALUE (repeatable)")
	fs.StringArrayVar(&f.Annotations, Annotation, nil, "an annotation of the RestoreSession, KEY=VALUE (repeatable)")
}

// RestoreOrigins remembers the --task value each restore task came from.
type RestoreOrigins struct {
	tasks []string
}

var restoreTaskPath = regexp.MustCompile(`^spec\.addon\.tasks\[(\d+)\]`)

// Of names the flag that set the field at path of the restore form ("" when none did; nil:
// a form from a file).
func (o *RestoreOrigins) Of(path string) string {
	if o == nil {
		return ""
	}
	if m := restoreTaskPath.FindStringSubmatch(path); m != nil {
		if j, _ := strconv.Atoi(m[1]); j < len(o.tasks) {
			return fmt.Sprintf("--%s %q", Task, o.tasks[j])
		}
		return ""
	}
	for _, p := range []struct{ prefix, flag string }{
		{"metadata.name", "--" + RestoreName},
		{"metadata.namespace", "--namespace"},
		{"spec.repository", "--" + Repository},
		{"spec.snapshot", "--" + Snapshot + " or --" + At},
		{"spec.pitr", "--" + At},
		{"spec.components", "--" + Component},
		{"spec.target", "--" + Target},
		{"spec.addon.name", "--" + Addon},
		{"spec.addon.tasks", "--" + Task},
		{"spec.encryptionSecret", "--" + EncryptionSecret},
		{"spec.restoreTimeout", "--" + RestoreTimeout},
		{"spec.labels", "--" + Label},
		{"spec.annotations", "--" + Annotation},
	} {
		if rest, ok := strings.CutPrefix(path, p.prefix); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return p.flag
		}
	}
	return ""
}

// Form is the restore form the flags describe, in namespace; name is the RestoreSession's
// (from --name, or the caller's default). Every malformed flag is reported at once; what
// only the server can tell (a missing snapshot choice, an unknown task) is left to it.
func (f *RestoreFlags) Form(namespace, name string) (*v1alpha1.RestoreSessionPreview, *RestoreOrigins, error) {
	p := &v1alpha1.RestoreSessionPreview{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "RestoreSessionPreview"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
	}
	o := &RestoreOrigins{}
	var errs []error
	bad := func(flag, v string, err error) { errs = append(errs, fmt.Errorf("--%s %q: %w", flag, v, err)) }
	s := &p.Spec
	s.Repository.Name = f.Repository
	switch {
	case f.Snapshot != "" && f.At != "":
		errs = append(errs, fmt.Errorf("give --%s or --%s, not both", Snapshot, At))
	case f.At != "":
		at, err := time.Parse(time.RFC3339, f.At)
		if err != nil {
			bad(At, f.At, errors.New("want a time in RFC 3339, e.g. 2026-12-07T10:00:00Z"))
		}
		s.PITR = &v1alpha1.PointInTime{TargetTime: &metav1.Time{Time: at}, Exclusive: f.Exclusive}
	default:
		if f.Exclusive {
			errs = append(errs, fmt.Errorf("--%s goes with --%s", Exclusive, At))
		}
		s.Snapshot = f.Snapshot
	}
	s.Components = f.Components
	if f.Target != "" {
		t, err := target(f.Target, namespace)
		if err != nil {
			bad(Target, f.Target, err)
		}
		s.Target = t
	}
	s.Addon.Name = f.Addon
	for _, v := range f.Tasks {
		t, err := f.restoreTask(v)
		if err != nil {
			bad(Task, v, err)
			continue
		}
		s.Addon.Tasks = append(s.Addon.Tasks, t)
		o.tasks = append(o.tasks, v)
	}
	if f.EncryptionSecret != "" {
		ref, err := objectRef(f.EncryptionSecret)
		if err != nil {
			bad(EncryptionSecret, f.EncryptionSecret, err)
		}
		s.EncryptionSecret = &ref
	}
	if f.RestoreTimeout != "" {
		d, err := time.ParseDuration(f.RestoreTimeout)
		if err != nil {
			bad(RestoreTimeout, f.RestoreTimeout, errors.New("want a duration, e.g. 30m or 1h30m"))
		}
		s.RestoreTimeout = &metav1.Duration{Duration: d}
	}
	var err error
	if s.Labels, err = pairs(f.Labels); err != nil {
		bad(Label, err.Error(), errors.New("want KEY=VALUE, each key once"))
	}
	if s.Annotations, err = pairs(f.Annotations); err != nil {
		bad(Annotation, err.Error(), errors.New("want KEY=VALUE, each key once"))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return p, o, nil
}

// restoreTask reads a --task value of the restore form: name=TASK, param.KEY=VALUE, params-file=FILE.
func (f *RestoreFlags) restoreTask(v string) (v1alpha1.RestoreTask, error) {
	var t v1alpha1.RestoreTask
	fs, err := fields(v)
	if err != nil {
		return t, err
	}
	params := map[string]string{}
	for _, kv := range fs {
		k, val := kv[0], kv[1]
		switch {
		case k == taskName:
			t.Name = val
		case k == taskParamsFile:
			read := f.ReadFile
			if read == nil {
				read = os.ReadFile
			}
			data, err := read(val)
			if err != nil {
				return t, fmt.Errorf("%s: %w", taskParamsFile, err)
			}
			t.ParamsText = string(data)
		case strings.HasPrefix(k, paramPrefix) && len(k) > len(paramPrefix):
			params[strings.TrimPrefix(k, paramPrefix)] = val
		default:
			return t, fmt.Errorf("unknown key %q: want %s, %sKEY, %s", k, taskName, paramPrefix, taskParamsFile)
		}
	}
	if len(params) > 0 {
		if t.ParamsText != "" {
			return t, fmt.Errorf("give %sKEY or %s, not both", paramPrefix, taskParamsFile)
		}
		raw, err := json.Marshal(params)
		if err != nil {
			return t, err
		}
		t.Params = &runtime.RawExtension{Raw: raw}
	}
	return t, nil
}

// CompleteRestore offers the values of a restore form flag that start with toComplete: the
// view's repositories (view may be nil), and from the namespace's form options the targets,
// the Addons, their restore tasks (of --addon when given) with the parameters of the task
// named, and the encryption Secrets. more is true for --task, which takes several KEY=VALUE
// fields.
func CompleteRestore(opts *v1alpha1.BackupConfigurationOptions, view *v1alpha1.BackupConfigurationView, given *RestoreFlags, flag, toComplete string) (candidates []string, more bool) {
	if opts == nil {
		opts = &v1alpha1.BackupConfigurationOptions{}
	}
	if given == nil {
		given = &RestoreFlags{}
	}
	var out []string
	switch flag {
	case Repository:
		if view != nil {
			for _, r := range view.Repositories {
				out = append(out, described(r.Name, r.Size, r.Phase))
			}
		}
	case Snapshot:
		out = []string{"latest\tthe repository's newest snapshot when the restore runs"}
	case Target:
		for _, t := range opts.Targets {
			out = append(out, TargetValue(t))
		}
	case Addon:
		for _, a := range opts.Addons {
			if len(a.RestoreTasks) > 0 {
				out = append(out, a.Name)
			}
		}
	case EncryptionSecret:
		out = append(out, opts.EncryptionSecrets...)
	case Task:
		head, done, key, hasValue := split(toComplete)
		if !hasValue {
			if typingParam(key) {
				// The parameters of the task named before, as the create form offers a backup task's.
				return matching(paramKeys(head, done, parameters(opts, given.Addon, done[taskName], restoreTasks)), toComplete), true
			}
			return matching(keysLeft(head, done, []string{taskName, paramPrefix, taskParamsFile}), toComplete), true
		}
		if key == taskName {
			for _, a := range opts.Addons {
				if given.Addon != "" && a.Name != given.Addon {
					continue
				}
				for _, t := range a.RestoreTasks {
					out = append(out, described(head+taskName+"="+t.Name, a.Name))
				}
			}
		}
		return matching(out, toComplete), true
	default:
		return nil, false
	}
	return matching(out, toComplete), false
}
