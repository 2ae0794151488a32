// Package formflags maps the create command's flags to the console's create form (a
// BackupConfigurationPreview), remembers which flag set which field so that the server's
// field paths can be traced back to the command line, and completes flag values from a
// namespace's form options (docs/design.md, "kubectl plugin"). It owns the flag syntax; the
// server owns validation, so only what cannot be sent at all (a malformed value, a task for
// a session that is not given) is an error here.
package formflags

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The form's flags.
const (
	Storage         = "storage"
	RetentionPolicy = "retention-policy"
	Label           = "label"
	Annotation      = "annotation"
	Session         = "session"
	Task            = "task"
	Target          = "target"
)

// Names are every form flag, in the form's order.
var Names = []string{Storage, RetentionPolicy, Label, Annotation, Session, Task, Target}

// Keys of a --session value.
const (
	sessName      = "name"
	sessSchedule  = "schedule"
	sessAddon     = "addon"
	sessRunAsUser = "run-as-user"
)

// Keys of a --task value; param.KEY sets one parameter.
const (
	taskSession    = "session"
	taskName       = "name"
	taskRepo       = "repo"
	taskSecret     = "encryption-secret"
	taskParamsFile = "params-file"
	paramPrefix    = "param."
)

var (
	sessionKeys = []string{sessName, sessSchedule, sessAddon, sessRunAsUser}
	taskKeys    = []string{taskSession, taskName, taskRepo, taskSecret, paramPrefix, taskParamsFile}
)

// Flags are the form's flags as given on the command line.
type Flags struct {
	Storage         string
	RetentionPolicy string
	Labels          []string
	Annotations     []string
	Sessions        []string
	Tasks           []string
	Target          string
	// ReadFile reads a task's params-file; os.ReadFile when nil.
	ReadFile func(string) ([]byte, error)
}

// AddFlags registers the form's flags.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Storage, Storage, "", "BackupStorage the backups go to, as [NAMESPACE/]NAME (the form's Storage Ref; the namespace defaults to the BackupConfiguration's)")
	fs.StringVar(&f.RetentionPolicy, RetentionPolicy, "", "RetentionPolicy, as [NAMESPACE/]NAME (the form's Retention Policy)")
	fs.StringArrayVar(&f.Labels, Label, nil, "a label of the BackupConfiguration, KEY=VALUE (repeatable)")
	fs.StringArrayVar(&f.Annotations, Annotation, nil, "an annotation of the BackupConfiguration, KEY=VALUE (repeatable)")
	fs.StringArrayVar(&f.Sessions, Session, nil, "a backup session, in order (repeatable): comma-separated name=NAME, schedule=CRON, addon=ADDON, run-as-user=UID; quote a field that holds a comma as CSV does: 'name=daily,\"schedule=0 1,13 * * *\",addon=mongodb-addon'")
	fs.StringArrayVar(&f.Tasks, Task, nil, "a task of a session, in order (repeatable): comma-separated session=SESSION (may be left out with one --session), name=TASK, repo=REPOSITORY, encryption-secret=[NAMESPACE/]SECRET, param.KEY=VALUE (repeatable), params-file=FILE (YAML or JSON; instead of param.*)")
	fs.StringVar(&f.Target, Target, "", "the object to back up, as KIND[.GROUP]/[NAMESPACE/]NAME, e.g. MongoDB.kubedb.com/mongodb or StatefulSet.apps/app-data (the namespace defaults to the BackupConfiguration's)")
}

// Given lists the form flags set on fs, for commands that refuse them with -f.
func Given(fs *pflag.FlagSet) []string {
	var set []string
	for _, n := range Names {
		if fs.Changed(n) {
			set = append(set, "--"+n)
		}
	}
	return set
}

// Origins remembers the flag value each part of a form came from.
type Origins struct {
	sessions []string   // [session] the --session value
	tasks    [][]string // [session][task] the --task value
}

// sessionPath reads the session and task indexes of "spec.sessions[3].tasks[1]...".
var sessionPath = regexp.MustCompile(`^spec\.sessions\[(\d+)\](?:\.tasks\[(\d+)\])?`)

// Of names the flag that set the field at path (a path of the server's, rooted at the
// preview: spec.sessions[0].tasks[1].name), or "" when no flag did (nil: a form from a file).
func (o *Origins) Of(path string) string {
	if o == nil {
		return ""
	}
	if m := sessionPath.FindStringSubmatch(path); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i >= len(o.sessions) {
			return ""
		}
		if m[2] == "" {
			return fmt.Sprintf("--%s %q", Session, o.sessions[i])
		}
		j, _ := strconv.Atoi(m[2])
		if j >= len(o.tasks[i]) {
			return ""
		}
		return fmt.Sprintf("--%s %q", Task, o.tasks[i][j])
	}
	for _, p := range []struct{ prefix, flag string }{
		{"metadata.name", "NAME"},
		{"metadata.namespace", "--namespace"},
		{"spec.storageRef", "--" + Storage},
		{"spec.retentionPolicy", "--" + RetentionPolicy},
		{"spec.labels", "--" + Label},
		{"spec.annotations", "--" + Annotation},
		{"spec.target", "--" + Target},
		{"spec.sessions", "--" + Session},
	} {
		if rest, ok := strings.CutPrefix(path, p.prefix); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return p.flag
		}
	}
	return ""
}

// Form is the create form the flags describe, for a BackupConfiguration namespace/name, and
// where each session and task came from. Every malformed flag is reported at once.
func (f *Flags) Form(namespace, name string) (*v1alpha1.BackupConfigurationPreview, *Origins, error) {
	p := &v1alpha1.BackupConfigurationPreview{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "BackupConfigurationPreview"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
	}
	o := &Origins{}
	var errs []error
	bad := func(flag, value, why string) {
		errs = append(errs, fmt.Errorf("invalid argument %q for \"--%s\" flag: %s", value, flag, why))
	}
	if f.Storage != "" {
		ref, err := objectRef(f.Storage)
		if err != nil {
			bad(Storage, f.Storage, err.Error())
		}
		p.Spec.StorageRef = ref
	}
	if f.RetentionPolicy != "" {
		ref, err := objectRef(f.RetentionPolicy)
		if err != nil {
			bad(RetentionPolicy, f.RetentionPolicy, err.Error())
		}
		p.Spec.RetentionPolicy = ref
	}
	var err error
	if p.Spec.Labels, err = pairs(f.Labels); err != nil {
		bad(Label, err.Error(), "want KEY=VALUE, each key once")
	}
	if p.Spec.Annotations, err = pairs(f.Annotations); err != nil {
		bad(Annotation, err.Error(), "want KEY=VALUE, each key once")
	}
	if f.Target != "" {
		t, err := target(f.Target, namespace)
		if err != nil {
			bad(Target, f.Target, err.Error())
		}
		p.Spec.Target = t
	}
	byName := map[string]int{}
	for _, v := range f.Sessions {
		s, err := session(v)
		if err != nil {
			bad(Session, v, err.Error())
			continue
		}
		if _, dup := byName[s.Name]; !dup {
			byName[s.Name] = len(p.Spec.Sessions)
		} // a duplicate name is the server's to report, with its field path
		p.Spec.Sessions = append(p.Spec.Sessions, s)
		o.sessions = append(o.sessions, v)
		o.tasks = append(o.tasks, nil)
	}
	for _, v := range f.Tasks {
		sess, t, err := f.task(v, namespace)
		if err != nil {
			bad(Task, v, err.Error())
			continue
		}
		i, ok := byName[sess]
		switch {
		case sess == "" && len(f.Sessions) == 0:
			bad(Task, v, "a task belongs to a session: give one with --"+Session)
			continue
		case sess == "" && len(f.Sessions) > 1:
			bad(Task, v, "with several --"+Session+", say which one the task belongs to: session=NAME")
			continue
		case sess == "":
			if len(p.Spec.Sessions) == 0 {
				continue // the only --session is malformed, and reported
			}
			i, ok = 0, true
		}
		if !ok {
			bad(Task, v, fmt.Sprintf("no --%s has name=%s", Session, sess))
			continue
		}
		p.Spec.Sessions[i].Tasks = append(p.Spec.Sessions[i].Tasks, t)
		o.tasks[i] = append(o.tasks[i], v)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return p, o, nil
}

// fields splits a comma-separated KEY=VALUE list, CSV-quoted where a value holds a comma.
func fields(v string) ([][2]string, error) {
	r := csv.NewReader(strings.NewReader(v))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true // a quote inside a value (param.args=--db="x") is the value's
	rec, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("want comma-separated KEY=VALUE fields: %w", err)
	}
	if more, _ := r.Read(); more != nil {
		return nil, errors.New("want one line")
	}
	out := make([][2]string, 0, len(rec))
	seen := map[string]bool{}
	for _, f := range rec {
		k, val, ok := strings.Cut(f, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("field %q is not KEY=VALUE", f)
		}
		if seen[k] {
			return nil, fmt.Errorf("%s is given twice", k)
		}
		seen[k] = true
		out = append(out, [2]string{k, val})
	}
	return out, nil
}

func session(v string) (v1alpha1.PreviewSession, error) {
	var s v1alpha1.PreviewSession
	fs, err := fields(v)
	if err != nil {
		return s, err
	}
	for _, kv := range fs {
		switch kv[0] {
		case sessName:
			s.Name = kv[1]
		case sessSchedule:
			s.Schedule = kv[1]
		case sessAddon:
			s.Addon = kv[1]
		case sessRunAsUser:
			uid, err := strconv.ParseInt(kv[1], 10, 64)
			if err != nil {
				return s, fmt.Errorf("%s=%s: want a user ID (an integer, 0 included)", sessRunAsUser, kv[1])
			}
			s.RunAsUser = &uid
		default:
			return s, fmt.Errorf("unknown key %q: want %s", kv[0], strings.Join(sessionKeys, ", "))
		}
	}
	return s, nil
}

// task reads a --task value: the session it names ("" when none) and the task.
func (f *Flags) task(v, namespace string) (string, v1alpha1.PreviewTask, error) {
	var t v1alpha1.PreviewTask
	var sess string
	fs, err := fields(v)
	if err != nil {
		return "", t, err
	}
	params := map[string]string{}
	for _, kv := range fs {
		k, val := kv[0], kv[1]
		switch {
		case k == taskSession:
			sess = val
		case k == taskName:
			t.Name = val
		case k == taskRepo:
			t.RepoName = val
		case k == taskSecret:
			ref, err := objectRef(val)
			if err != nil {
				return "", t, fmt.Errorf("%s=%s: %w", taskSecret, val, err)
			}
			if ref.Namespace == "" {
				ref.Namespace = namespace
			}
			t.EncryptionSecret = &ref
		case k == taskParamsFile:
			read := f.ReadFile
			if read == nil {
				read = os.ReadFile
			}
			data, err := read(val)
			if err != nil {
				return "", t, fmt.Errorf("%s: %w", taskParamsFile, err)
			}
			t.ParamsText = string(data)
		case strings.HasPrefix(k, paramPrefix) && len(k) > len(paramPrefix):
			params[strings.TrimPrefix(k, paramPrefix)] = val
		default:
			return "", t, fmt.Errorf("unknown key %q: want %s, %sKEY, %s", k, strings.Join(taskKeys[:4], ", "), paramPrefix, taskParamsFile)
		}
	}
	if len(params) > 0 {
		if t.ParamsText != "" {
			return "", t, fmt.Errorf("give %sKEY or %s, not both", paramPrefix, taskParamsFile)
		}
		raw, err := json.Marshal(params)
		if err != nil {
			return "", t, err
		}
		t.Params = &runtime.RawExtension{Raw: raw}
	}
	return sess, t, nil
}

// objectRef reads [NAMESPACE/]NAME.
func objectRef(v string) (v1alpha1.ObjectReference, error) {
	parts := strings.Split(v, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return v1alpha1.ObjectReference{Name: parts[0]}, nil
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return v1alpha1.ObjectReference{Namespace: parts[0], Name: parts[1]}, nil
	}
	return v1alpha1.ObjectReference{}, errors.New("want [NAMESPACE/]NAME")
}

// target reads KIND[.GROUP]/[NAMESPACE/]NAME; the namespace defaults to the form's.
func target(v, namespace string) (v1alpha1.TypedObjectReference, error) {
	const want = "want KIND[.GROUP]/[NAMESPACE/]NAME, e.g. MongoDB.kubedb.com/mongodb"
	kindGroup, rest, ok := strings.Cut(v, "/")
	if !ok || kindGroup == "" {
		return v1alpha1.TypedObjectReference{}, errors.New(want)
	}
	kind, group, _ := strings.Cut(kindGroup, ".")
	ref, err := objectRef(rest)
	if err != nil || kind == "" {
		return v1alpha1.TypedObjectReference{}, errors.New(want)
	}
	if ref.Namespace == "" {
		ref.Namespace = namespace
	}
	return v1alpha1.TypedObjectReference{APIGroup: group, Kind: kind, Namespace: ref.Namespace, Name: ref.Name}, nil
}

// TargetValue is how --target names an object of the form options.
func TargetValue(t v1alpha1.TargetOption) string {
	if t.APIGroup == "" {
		return t.Kind + "/" + t.Name
	}
	return t.Kind + "." + t.APIGroup + "/" + t.Name
}

func pairs(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if _, dup := m[k]; !ok || k == "" || dup {
			return nil, errors.New(kv)
		}
		m[k] = v
	}
	return m, nil
}
