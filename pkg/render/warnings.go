package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// Cluster answers the questions Warnings asks about the cluster (from informer caches).
type Cluster interface {
	BackupStorageExists(ns, name string) bool
	RetentionPolicyExists(ns, name string) bool
	// Addon returns the names of the cluster-scoped Addon's spec.backupTasks and spec.restoreTasks.
	Addon(name string) (backupTasks, restoreTasks []string, found bool)
	// Target reports whether the kind is served (apiGroup "" is the core group) and the object exists.
	Target(apiGroup, kind, ns, name string) (kindInstalled, found bool)
	BackupConfigurationExists(ns, name string) bool
}

// Warnings lists problems that depend on the cluster: the user may create the missing objects
// next, so they do not make the form invalid. One human-readable message each, in form order,
// without repeats. Empty fields are skipped: Validate reports them.
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
		kind   string
		ref    ui.ObjectReference
		exists func(ns, name string) bool
	}{
		{"BackupStorage", p.Spec.StorageRef, c.BackupStorageExists},
		{"RetentionPolicy", p.Spec.RetentionPolicy, c.RetentionPolicyExists},
	} {
		rns := r.ref.Namespace
		if rns == "" {
			rns = ns
		}
		if r.ref.Name != "" && rns != "" && !r.exists(rns, r.ref.Name) {
			add("%s %s/%s not found", r.kind, rns, r.ref.Name)
		}
	}

	t := p.Spec.Target
	group := t.APIGroup
	if group == "core" {
		group = ""
	}
	gk := t.Kind
	if group != "" {
		gk += "." + group
	}
	if t.Namespace != "" && ns != "" && t.Namespace != ns {
		add("target %s %s/%s is not in the BackupConfiguration's namespace %s: KubeStash requires the target in the same namespace", gk, t.Namespace, t.Name, ns)
	}
	if t.Kind != "" && t.Namespace != "" && t.Name != "" {
		switch installed, found := c.Target(group, t.Kind, t.Namespace, t.Name); {
		case !installed:
			add("target kind %s is not installed in the cluster", gk)
		case !found:
			add("target %s %s/%s not found", gk, t.Namespace, t.Name)
		}
	}

	for _, s := range p.Spec.Sessions {
		if s.Addon == "" {
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
	return w
}

func list(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
