package commands

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// errReported is returned by a command that has printed its errors already (describe of
// several names goes on past one that fails, as kubectl does).
var errReported = errors.New("reported")

// explainedError carries a message that is final: Run prints it as it is.
type explainedError struct {
	msg string
	err error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// The resources the plugin asks for, to say what an error was about.
var (
	viewsResource   = v1alpha1.ViewsResource
	optionsResource = v1alpha1.OptionsResource
	previewResource = v1alpha1.PreviewsResource
	bcResource      = kubestash.BackupConfigurations.GroupResource()
	// restorePreviewResource is what the restore command posts to: the views' restore-preview.
	restorePreviewResource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: v1alpha1.ViewsResource.Resource + "/" + v1alpha1.RestorePreviewSubresource}
	restoreResource        = restoreSessions.GroupResource()
)

// explain turns an API error of a request for resource into what the user needs to read:
// a 404 because the API group is not there says that backupview (or KubeStash) is not
// installed, a 403 says which role grants the right, a 422 lists every field, each with the
// flag that set it when flagOf knows (nil: none). Any other error is returned as it is.
func explain(d discovery.DiscoveryInterface, err error, resource schema.GroupResource, flagOf func(field string) string) error {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return err
	}
	s := st.Status()
	switch s.Reason {
	case metav1.StatusReasonNotFound:
		// Also for a named object: a server without the group may answer with its name.
		if served, derr := groupServed(d, resource.Group); derr == nil && !served {
			return &explainedError{msg: notInstalled(resource.Group), err: err}
		}
	case metav1.StatusReasonForbidden:
		return &explainedError{msg: standardMessage(err) + "\n" + rightsHint(resource), err: err}
	case metav1.StatusReasonInvalid:
		return &explainedError{msg: invalidMessage(s, flagOf), err: err}
	case metav1.StatusReasonServiceUnavailable:
		if resource.Group == v1alpha1.GroupName {
			return &explainedError{msg: standardMessage(err) + "\nbackupview is registered but not serving: kubectl get apiservice v1alpha1." + v1alpha1.GroupName + " says why", err: err}
		}
	}
	return err
}

func groupServed(d discovery.DiscoveryInterface, group string) (bool, error) {
	if d == nil {
		return false, errors.New("no discovery")
	}
	groups, err := d.ServerGroups()
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == group }), nil
}

func notInstalled(group string) string {
	if group == v1alpha1.GroupName {
		return "error: backupview is not installed in this cluster: the server has no API group " + group +
			" (install it with kubectl apply -k deploy/ from github.com/kubestash/backupview)"
	}
	return "error: KubeStash is not installed in this cluster: the server has no API group " + group
}

// rightsHint says which role grants what was refused (deploy/rbac-aggregate.yaml for
// backupview's own resources; KubeStash's RBAC for BackupConfigurations).
func rightsHint(resource schema.GroupResource) string {
	switch resource {
	case viewsResource, optionsResource:
		return "Reading " + resource.String() + " takes get and list on it: the ClusterRole backupview:view grants them, and is aggregated into the view, edit and admin roles."
	case previewResource:
		return "A preview takes create on " + resource.String() + ": the ClusterRole backupview:edit grants it, and is aggregated into the edit and admin roles."
	case bcResource:
		return "--submit applies the BackupConfiguration with server-side apply: it takes create and patch on " + resource.String() + " (KubeStash's RBAC)."
	case restorePreviewResource:
		return "A restore preview takes create on " + resource.String() + ": the ClusterRole backupview:edit grants it, and is aggregated into the edit and admin roles."
	case restoreResource:
		return "--submit applies the RestoreSession with server-side apply: it takes create and patch on " + resource.String() + " (KubeStash's RBAC)."
	}
	return ""
}

// invalidMessage is kubectl's message for a 422, with the flag behind each field.
func invalidMessage(s metav1.Status, flagOf func(string) string) string {
	d := s.Details
	if d == nil || len(d.Causes) == 0 {
		if s.Message != "" {
			return "The request is invalid: " + s.Message
		}
		return "The request is invalid"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The %s %q is invalid:\n", d.Kind, d.Name)
	seen := map[string]bool{}
	for _, c := range d.Causes {
		line := fmt.Sprintf("* %s: %s", c.Field, c.Message)
		if seen[line] {
			continue
		}
		seen[line] = true
		if flagOf != nil {
			if f := flagOf(c.Field); f != "" {
				line += "  (" + f + ")"
			}
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// message is err as kubectl prints it.
func message(err error) string {
	var ex *explainedError
	if errors.As(err, &ex) {
		return ex.msg
	}
	if msg := standardMessage(err); msg != "" {
		return msg
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "error: ") {
		msg = "error: " + msg
	}
	return msg
}

// standardMessage is kubectl's wording for API and connection errors, "" for others.
func standardMessage(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		s := st.Status()
		switch {
		case s.Reason == metav1.StatusReasonUnauthorized:
			return fmt.Sprintf("error: You must be logged in to the server (%s)", s.Message)
		case s.Reason != "":
			return fmt.Sprintf("Error from server (%s): %s", s.Reason, err.Error())
		default:
			return fmt.Sprintf("Error from server: %s", err.Error())
		}
	}
	var u *url.Error
	if errors.As(err, &u) {
		if strings.Contains(u.Err.Error(), "connection refused") {
			host := u.URL
			if server, perr := url.Parse(u.URL); perr == nil {
				host = server.Host
			}
			return fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", host)
		}
		return fmt.Sprintf("Unable to connect to the server: %v", u.Err)
	}
	return ""
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
