package render

import (
	"fmt"
	"slices"
	"strings"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Facts answers the questions Warnings asks about the cluster (from informer caches).
type Facts interface {
	// BackupStorage reports whether the BackupStorage exists and, when it does, why its
	// usagePolicy does not admit BackupConfigurations of namespace fromNS ("" when it does).
	BackupStorage(ns, name, fromNS string) (exists bool, denied string)
	// RetentionPolicy is BackupStorage for a RetentionPolicy.
	RetentionPolicy(ns, name, fromNS string) (exists bool, denied string)
	// Addon returns the names of the cluster-scoped Addon's spec.backupTasks and spec.restoreTasks.
	Addon(name string) (backupTasks, restoreTasks []string, found bool)
	// Target tells what is known of a target (apiGroup "" is the core group) to a preview in
	// namespace fromNS. It never starts anything (user input must not make backupview watch
	// new kinds): existence is known only for the kinds watched for fromNS.
	Target(apiGroup, kind, ns, name, fromNS string) TargetState
	BackupConfigurationExists(ns, name string) bool
	// Secret reports whether the Secret exists; checked is false when the server does not
	// watch Secrets (--check-encryption-secrets off, or not synced).
	Secret(ns, name string) (exists, checked bool)
}

// TargetState is what Facts.Target knows of a target.
type TargetState int

const (
	// TargetKindNotServed: the cluster does not serve the kind.
	TargetKindNotServed TargetState = iota
	// TargetNotChecked: the kind is served but no BackupConfiguration of the preview's
	// namespace backs it up, so backupview does not know its objects there. Saying "not
	// found" would be a lie; answering from a watch that other namespaces' BackupConfigurations
	// caused would tell which kinds they back up.
	TargetNotChecked
	TargetNotFound
	TargetFound
)

// Access is what the caller of the preview may get (package access implements it).
type Access interface {
	// MayGet reports whether the caller may get objects of group/resource in namespace ns;
	// when not, reason says why ("you cannot get backupstorages in namespace prod").
	MayGet(group, resource, ns string) (ok bool, reason string)
	// MayGetKind is MayGet for a kind, mapped to its resource.
	MayGetKind(group, kind, ns string) (ok bool, reason string)
}

// Cluster is the cluster as one caller may see it.
type Cluster interface {
	Facts
	Access
}

// ForCaller joins the cluster's facts with one caller's access.
func ForCaller(f Facts, a Access) Cluster {
	return struct {
		Facts
		Access
	}{f, a}
}

// Warnings lists problems that depend on the cluster: the user may create the missing objects
// next, so they do not make the form invalid. One human-readable message each, in form order,
// without repeats. Empty fields are skipped: Validate reports them.
//
// Warnings follow the caller (docs/design.md, "Authorization follows the caller"): an object
// in the preview's own namespace is checked as is (whoever may preview there may see that
// namespace's backup setup); one in another namespace is named found or not found only if
// the caller may get it there, and otherwise gets one neutral warning, the same whether it
// exists or not, so that the preview is no existence oracle. Addons are cluster-scoped: they
// are checked only for a caller who may get Addons.
func Warnings(p *ui.BackupConfigurationPreview, c Cluster) []string {
	if p == nil || c == nil {
		return nil
	}
	var w []string
	add := func(format string, args ...interface{}) {
		if msg := fmt.Sprintf(format, args...); !slices.Contains(w, msg) {
			w = append(w, msg)
		}
	}
	ns := p.Namespace

	if p.Name != "" && ns != "" && c.BackupConfigurationExists(ns, p.Name) {
		add("BackupConfiguration %s/%s already exists: applying this manifest will update it", ns, p.Name)
	}
	for _, r := range []struct {
		kind, resource string
		ref            ui.ObjectReference
		lookup         func(ns, name, fromNS string) (bool, string)
	}{
		{"BackupStorage", "backupstorages", p.Spec.StorageRef, c.BackupStorage},
		{"RetentionPolicy", "retentionpolicies", p.Spec.RetentionPolicy, c.RetentionPolicy},
	} {
		rns := r.ref.Namespace
		if rns == "" {
			rns = ns
		}
		if r.ref.Name == "" || rns == "" {
			continue
		}
		if rns != ns {
			if ok, why := c.MayGet(storageGroup, r.resource, rns); !ok {
				add("cannot check %s %s/%s: %s", r.kind, rns, r.ref.Name, why)
				continue
			}
		}
		switch exists, denied := r.lookup(rns, r.ref.Name, ns); {
		case !exists:
			add("%s %s/%s not found", r.kind, rns, r.ref.Name)
		case denied != "":
			add("%s %s/%s may not be used from namespace %s: %s; the KubeStash webhook would reject this BackupConfiguration", r.kind, rns, r.ref.Name, ns, denied)
		}
	}

	t := p.Spec.Target
	group := kubestash.NormalizeGroup(t.APIGroup)
	gk := t.Kind
	if group != "" {
		gk += "." + group
	}
	if t.Namespace != "" && ns != "" && t.Namespace != ns {
		add("target %s %s/%s is not in the BackupConfiguration's namespace %s: KubeStash requires the target in the same namespace", gk, t.Namespace, t.Name, ns)
	}
	if t.Kind != "" && t.Namespace != "" && t.Name != "" {
		// Whether a kind is served is discovery, open to every user; nothing else is said
		// of a target elsewhere unless the caller may get it there.
		denied := ""
		if t.Namespace != ns {
			if ok, why := c.MayGetKind(group, t.Kind, t.Namespace); !ok {
				denied = why
			}
		}
		switch st := c.Target(group, t.Kind, t.Namespace, t.Name, ns); {
		case st == TargetKindNotServed:
			add("target kind %s is not installed in the cluster", gk)
		case denied != "":
			add("cannot check target %s %s/%s: %s", gk, t.Namespace, t.Name, denied)
		case st == TargetNotChecked:
			add("existence of target %s %s/%s not checked: backupview watches only the kinds that BackupConfigurations in namespace %s back up", gk, t.Namespace, t.Name, ns)
		case st == TargetNotFound:
			add("target %s %s/%s not found", gk, t.Namespace, t.Name)
		}
	}

	for _, s := range p.Spec.Sessions {
		if s.Addon == "" {
			continue
		}
		// Addons are cluster-scoped: told of only to a caller who may get them (as the form
		// options list them), else one neutral warning.
		if ok, why := c.MayGet(kubestash.AddonsGroup, kubestash.Addons.Resource, ""); !ok {
			add("cannot check Addon %s: %s", s.Addon, why)
			continue
		}
		backup, restore, found := c.Addon(s.Addon)
		if !found {
			add("Addon %s not found", s.Addon)
			continue
		}
		for _, task := range s.Tasks {
			switch {
			case task.Name == "" || slices.Contains(backup, task.Name):
			case slices.Contains(restore, task.Name):
				add("session %s: task %s is a restore task of Addon %s; a BackupConfiguration needs one of its backup tasks: %s",
					s.Name, task.Name, s.Addon, list(backup))
			default:
				add("session %s: task %s is not a backup task of Addon %s; its backup tasks are: %s",
					s.Name, task.Name, s.Addon, list(backup))
			}
		}
	}

	// Encryption Secrets, when the server checks them at all, in any namespace (the
	// preview's own included) are named found or not only to a caller who may get Secrets
	// there; to anyone else, one neutral warning each, the same whether the Secret exists.
	for _, s := range p.Spec.Sessions {
		for _, t := range s.Tasks {
			e := t.EncryptionSecret
			if e == nil || e.Name == "" || e.Namespace == "" {
				continue
			}
			exists, checked := c.Secret(e.Namespace, e.Name)
			if !checked {
				continue
			}
			if ok, why := c.MayGet("", "secrets", e.Namespace); !ok {
				add("cannot check encryption Secret %s/%s: %s", e.Namespace, e.Name, why)
			} else if !exists {
				add("encryption Secret %s/%s not found", e.Namespace, e.Name)
			}
		}
	}
	return w
}

// storageGroup is the API group of BackupStorages and RetentionPolicies.
const storageGroup = "storage.kubestash.com"

func list(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
