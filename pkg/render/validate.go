// Package render validates the console's BackupConfiguration create form
// (ui.BackupConfigurationPreview) and renders it into a KubeStash BackupConfiguration
// (core.kubestash.com/v1alpha1). It is pure: cluster-dependent checks go through the Cluster
// interface and come back as warnings, never as errors.
package render

import (
	"fmt"
	"sort"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/cron"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Limits on the form, so that one request cannot make the server render an unbounded manifest.
const (
	MaxSessions       = 64
	MaxTasks          = 64        // per session
	MaxParamsDepth    = 32        // nesting levels of a task's params; the top-level object is 1
	MaxParamsBytes    = 256 << 10 // of a task's params (as JSON) or paramsText, and of all of them together
	MaxParamsValues   = 10000     // objects, lists and scalars in the params of all tasks together
	MaxCronJobNameLen = 52        // batch/v1 CronJob names; KubeStash names them trigger-<bc>-<session>
)

// DefaultBackend is the backend name the console hard-codes; repositories refer to it.
const DefaultBackend = "default-backend"

// CronJobName is the trigger CronJob KubeStash creates for a session.
func CronJobName(bc, session string) string { return "trigger-" + bc + "-" + session }

// Validate reports every structural problem of the form at once, with field paths rooted at
// the preview object (metadata.name, spec.sessions[0].tasks[1].name, ...).
func Validate(p *ui.BackupConfigurationPreview) field.ErrorList {
	errs, _, _ := check(p, waitForever) // waitForever never fails
	return errs
}

// plan is what check learned that Render needs: parsed params and hoisted repositories.
type plan struct {
	params [][]map[string]interface{} // [session][task], nil when not given
	repos  [][]repo                   // [session], distinct repoNames in task order
	values int                        // in all params, as countValues counts them
}

type repo struct {
	name   string
	secret *ui.ObjectReference // nil when no task of the repository names one
}

// repoUse records where a repository name was first seen and its secret, to find conflicts.
type repoUse struct {
	session    int
	secret     *ui.ObjectReference
	secretTask int // the task that named secret
}

// check validates the form; err is only the heavy gate's refusal to wait (from wait).
func check(p *ui.BackupConfigurationPreview, wait waitFunc) (field.ErrorList, *plan, error) {
	if p == nil {
		p = &ui.BackupConfigurationPreview{}
	}
	var errs field.ErrorList
	md, spec := field.NewPath("metadata"), field.NewPath("spec")

	// BC names end up in label values (kubestash.com/invoker-name) and CronJob names, so a
	// DNS-1123 label (<= 63), not the looser subdomain that metadata.name usually allows.
	nameOK := len(validation.IsDNS1123Label(p.Name)) == 0
	errs = append(errs, checkName(md.Child("name"), p.Name, validation.IsDNS1123Label)...)
	errs = append(errs, checkName(md.Child("namespace"), p.Namespace, validation.IsDNS1123Label)...)

	errs = append(errs, checkRef(spec.Child("storageRef"), p.Spec.StorageRef)...)
	errs = append(errs, checkRef(spec.Child("retentionPolicy"), p.Spec.RetentionPolicy)...)
	errs = append(errs, sorted(metav1validation.ValidateLabels(p.Spec.Labels, spec.Child("labels")))...)
	errs = append(errs, sorted(apivalidation.ValidateAnnotations(p.Spec.Annotations, spec.Child("annotations")))...)
	errs = append(errs, checkTarget(spec.Child("target"), p.Spec.Target)...)

	pl := &plan{}
	sp := spec.Child("sessions")
	sessions := p.Spec.Sessions
	if len(sessions) == 0 {
		errs = append(errs, field.Required(sp, "at least one session is required"))
	}
	if len(sessions) > MaxSessions {
		// Report the limit and check only the first MaxSessions, so the error list stays bounded too.
		errs = append(errs, field.TooMany(sp, len(sessions), MaxSessions))
		sessions = sessions[:MaxSessions]
	}
	sessionNames := map[string]bool{}
	repos := map[string]*repoUse{} // Repositories are per namespace, so names are BC-wide
	var budget paramsBudget
	for i, s := range sessions {
		ip := sp.Index(i)
		np := ip.Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(np, ""))
		case len(validation.IsDNS1123Label(s.Name)) > 0:
			errs = append(errs, checkName(np, s.Name, validation.IsDNS1123Label)...)
		case sessionNames[s.Name]:
			errs = append(errs, field.Duplicate(np, s.Name))
		default:
			sessionNames[s.Name] = true
			if cj := CronJobName(p.Name, s.Name); nameOK && len(cj) > MaxCronJobNameLen {
				errs = append(errs, field.Invalid(np, s.Name, fmt.Sprintf(
					"the session's trigger CronJob would be named %q, %d characters, but CronJob names may have at most %d: shorten the session or BackupConfiguration name",
					cj, len(cj), MaxCronJobNameLen)))
			}
		}

		if s.Schedule == "" {
			errs = append(errs, field.Required(ip.Child("schedule"), "a cron schedule such as \"*/30 * * * *\" or \"@daily\""))
		} else if _, err := cron.Parse(s.Schedule); err != nil {
			// cron.Parse accepts exactly what a new CronJob's spec.schedule accepts, and
			// KubeStash copies the schedule into the session's trigger CronJob.
			errs = append(errs, field.Invalid(ip.Child("schedule"), s.Schedule, err.Error()))
		}
		if s.RunAsUser != nil {
			// The value goes into a pod securityContext; pods accept 0..2147483647.
			for _, msg := range validation.IsValidUserID(*s.RunAsUser) {
				errs = append(errs, field.Invalid(ip.Child("runAsUser"), *s.RunAsUser, msg))
			}
		}
		// Addons are cluster-scoped objects: DNS-1123 subdomain names.
		errs = append(errs, checkName(ip.Child("addon"), s.Addon, validation.IsDNS1123Subdomain)...)

		tp := ip.Child("tasks")
		tasks := s.Tasks
		if len(tasks) == 0 {
			errs = append(errs, field.Required(tp, "at least one task is required"))
		}
		if len(tasks) > MaxTasks {
			errs = append(errs, field.TooMany(tp, len(tasks), MaxTasks))
			tasks = tasks[:MaxTasks]
		}
		params := make([]map[string]interface{}, len(tasks))
		var sessionRepos []string
		hasRepo := false     // any repoName, even an invalid one: avoids a second error
		var secretOnly []int // tasks with an encryption secret but no repoName
		for j, t := range tasks {
			jp := tp.Index(j)
			if t.Name == "" {
				errs = append(errs, field.Required(jp.Child("name"), "one of the addon's backupTasks, e.g. logical-backup"))
			}
			secret, secretErrs := checkSecret(jp.Child("encryptionSecret"), t.EncryptionSecret)
			errs = append(errs, secretErrs...)
			var pErrs field.ErrorList
			var err error
			params[j], pErrs, err = checkParams(jp, t, &budget, wait)
			if err != nil {
				return nil, nil, err
			}
			errs = append(errs, pErrs...)

			if t.RepoName == "" {
				if secret != nil {
					secretOnly = append(secretOnly, j)
				}
				continue
			}
			hasRepo = true
			rp := jp.Child("repoName")
			// A Repository object name that KubeStash also writes into the kubestash.com/repo-name
			// label of Snapshots: a subdomain that fits a label value (<= 63).
			for _, msg := range repoNameErrs(t.RepoName) {
				errs = append(errs, field.Invalid(rp, t.RepoName, msg))
			}
			u, seen := repos[t.RepoName]
			switch {
			case !seen:
				u = &repoUse{session: i, secret: secret, secretTask: j}
				repos[t.RepoName] = u
				sessionRepos = append(sessionRepos, t.RepoName)
			case u.session != i:
				// The KubeStash webhook requires unique repository names across the sessions.
				e := field.Duplicate(rp, t.RepoName)
				e.Detail = fmt.Sprintf("session %q already uses repository %q; KubeStash requires repository names to be unique across a BackupConfiguration's sessions", sessions[u.session].Name, t.RepoName)
				errs = append(errs, e)
				continue
			}
			if secret == nil {
				continue
			}
			if u.secret == nil {
				u.secret, u.secretTask = secret, j
			} else if *u.secret != *secret {
				errs = append(errs, field.Invalid(jp.Child("encryptionSecret"), secret.Namespace+"/"+secret.Name, fmt.Sprintf(
					"repository %q already has encryption secret %s/%s from tasks[%d]; a repository has one encryption secret",
					t.RepoName, u.secret.Namespace, u.secret.Name, u.secretTask)))
			}
		}
		if !hasRepo && len(tasks) > 0 {
			// The webhook requires at least one repository per session; repositories come from repoName.
			errs = append(errs, field.Required(tp.Index(0).Child("repoName"), "the session needs a repository: set repoName on at least one task"))
		} else {
			for _, j := range secretOnly {
				errs = append(errs, field.Required(tp.Index(j).Child("repoName"), "an encryption secret belongs to a repository: set repoName on this task too"))
			}
		}
		rs := make([]repo, len(sessionRepos))
		for k, name := range sessionRepos {
			rs[k] = repo{name: name, secret: repos[name].secret}
		}
		pl.params = append(pl.params, params)
		pl.repos = append(pl.repos, rs)
	}
	pl.values = budget.values
	return errs, pl, nil
}

func repoNameErrs(name string) []string {
	msgs := validation.IsDNS1123Subdomain(name)
	if len(msgs) == 0 && len(name) > validation.DNS1123LabelMaxLength {
		msgs = append(msgs, validation.MaxLenError(validation.DNS1123LabelMaxLength)+" (it is used as a label value)")
	}
	return msgs
}

// checkName reports Required when empty, else each message of the format check.
func checkName(p *field.Path, v string, format func(string) []string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range format(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// checkRef checks a storage or retention policy reference; an empty namespace means the BC's.
func checkRef(p *field.Path, r ui.ObjectReference) field.ErrorList {
	errs := checkName(p.Child("name"), r.Name, validation.IsDNS1123Subdomain)
	if r.Namespace != "" {
		errs = append(errs, checkName(p.Child("namespace"), r.Namespace, validation.IsDNS1123Label)...)
	}
	return errs
}

func checkTarget(p *field.Path, t ui.TypedObjectReference) field.ErrorList {
	var errs field.ErrorList
	if g := kubestash.NormalizeGroup(t.APIGroup); g != "" {
		errs = append(errs, checkName(p.Child("apiGroup"), g, validation.IsDNS1123Subdomain)...)
	}
	// Kinds are CamelCase; CRD validation requires the lower-cased kind to be a DNS-1035 label.
	errs = append(errs, checkName(p.Child("kind"), t.Kind, func(k string) []string {
		if len(validation.IsDNS1035Label(strings.ToLower(k))) > 0 {
			return []string{"must be a resource kind such as MongoDB or StatefulSet: a letter followed by letters, digits or '-'"}
		}
		return nil
	})...)
	errs = append(errs, checkName(p.Child("namespace"), t.Namespace, validation.IsDNS1123Label)...)
	errs = append(errs, checkName(p.Child("name"), t.Name, validation.IsDNS1123Subdomain)...)
	return errs
}

// checkSecret returns the secret when both namespace and name are given, nil when neither is.
func checkSecret(p *field.Path, s *ui.ObjectReference) (*ui.ObjectReference, field.ErrorList) {
	if s == nil || (s.Namespace == "" && s.Name == "") {
		return nil, nil
	}
	const both = "set both the namespace and the name of the encryption secret, or neither"
	var errs field.ErrorList
	if s.Namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), both))
	} else {
		errs = append(errs, checkName(p.Child("namespace"), s.Namespace, validation.IsDNS1123Label)...)
	}
	if s.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), both))
	} else {
		errs = append(errs, checkName(p.Child("name"), s.Name, validation.IsDNS1123Subdomain)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &ui.ObjectReference{Namespace: s.Namespace, Name: s.Name}, nil
}

// paramsBudget bounds the params of the whole form. Parsing and rendering cost about 1 KiB
// of allocations per value (goyaml dominates): 256 KiB of "[1,1,1,...]" is 131k values and
// ~290 MiB to render. Real task parameters are a few strings, so the form as a whole gets
// MaxParamsBytes of params and MaxParamsValues values.
type paramsBudget struct{ bytes, values int }

// checkParams parses params or paramsText into an object. A text is refused by its shape
// (scanShape) before decoding when it can be; otherwise a large one is decoded behind the
// heavy gate (wait), whose refusal is err.
func checkParams(p *field.Path, t ui.PreviewTask, b *paramsBudget, wait waitFunc) (map[string]interface{}, field.ErrorList, error) {
	var errs field.ErrorList
	var gateErr error
	raw, err := paramsJSON(t.Params)
	if err != nil {
		errs = append(errs, field.Invalid(p.Child("params"), field.OmitValueType{}, err.Error()))
	}
	hasText := strings.TrimSpace(t.ParamsText) != ""
	if raw != nil && hasText {
		errs = append(errs, field.Forbidden(p.Child("paramsText"), "set params or paramsText, not both"))
	}
	var obj map[string]interface{}
	parse := func(fp *field.Path, data []byte, isText bool) {
		// Sizes are checked before parsing: parsing cost grows with size.
		if len(data) > MaxParamsBytes {
			errs = append(errs, field.TooLong(fp, "", MaxParamsBytes))
			return
		}
		if b.bytes += len(data); b.bytes > MaxParamsBytes {
			e := field.TooLong(fp, "", MaxParamsBytes)
			e.Detail = fmt.Sprintf("the params of all tasks together may not be more than %d bytes", MaxParamsBytes)
			errs = append(errs, e)
			return
		}
		sh, known := scanShape(data, isText)
		switch {
		case known:
			// The checks of parseParams and below, in their order, with their messages.
			if msg := sh.refusal(); msg != "" {
				errs = append(errs, field.Invalid(fp, field.OmitValueType{}, msg))
				return
			}
			if sh.top == 'm' && b.values+sh.values > MaxParamsValues {
				b.values += sh.values
				errs = append(errs, field.Invalid(fp, field.OmitValueType{}, errTooManyValues))
				return
			}
		case len(data) >= heavyTextBytes:
			release, err := wait()
			if err != nil {
				gateErr = err
				return
			}
			defer release()
		}
		o, err := parseParams(data, isText)
		if err != nil {
			errs = append(errs, field.Invalid(fp, field.OmitValueType{}, err.Error()))
			return
		}
		if b.values += countValues(o); b.values > MaxParamsValues {
			errs = append(errs, field.Invalid(fp, field.OmitValueType{}, errTooManyValues))
			return
		}
		obj = o
	}
	if raw != nil {
		parse(p.Child("params"), raw, false)
	}
	if (len(t.ParamsText) > MaxParamsBytes || hasText) && gateErr == nil {
		parse(p.Child("paramsText"), []byte(t.ParamsText), true)
	}
	return obj, errs, gateErr
}

// sorted orders errors of map-valued fields, whose validators iterate in random order, so the
// same form always gets the same answer.
func sorted(errs field.ErrorList) field.ErrorList {
	sort.SliceStable(errs, func(a, b int) bool { return errs[a].Error() < errs[b].Error() })
	return errs
}
