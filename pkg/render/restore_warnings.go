package render

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// RestoreFacts answers the questions RestoreWarnings asks about the cluster (from informer
// caches). Addon, Target and Secret are Facts' questions, with the same meaning.
type RestoreFacts interface {
	// Repository reports whether the Repository exists and, when it does, the target it backs
	// up (spec.appRef; nil when not set).
	Repository(ns, name string) (appRef *kubestash.TypedRef, found bool)
	// Snapshots lists the repository's snapshots newest first (by snapshot time); checked is
	// false when the server does not know the repository's snapshots.
	Snapshots(ns, repository string) (snapshots []SnapshotFact, checked bool)
	// Snapshot returns the Snapshot ns/name; checked is false when the server does not know.
	Snapshot(ns, name string) (snapshot SnapshotFact, found, checked bool)
	Addon(name string) (backupTasks, restoreTasks []string, found bool)
	Target(apiGroup, kind, ns, name, fromNS string) TargetState
	Secret(ns, name string) (exists, checked bool)
}

// SnapshotFact is what the restore preview knows of a Snapshot.
type SnapshotFact struct {
	Name string
	// Repository is spec.repository.
	Repository         string
	Time               *metav1.Time
	Phase              string
	Size               string
	VerificationStatus string
	// Components are the names in status.components; nil when not known.
	Components []string
}

// RestoreCluster is the cluster as one caller of the restore preview may see it.
type RestoreCluster interface {
	RestoreFacts
	Access
}

// RestoreForCaller joins the cluster's facts with one caller's access.
func RestoreForCaller(f RestoreFacts, a Access) RestoreCluster {
	return struct {
		RestoreFacts
		Access
	}{f, a}
}

// RestoreWarnings lists the restore form's problems that depend on the cluster, in form order
// without repeats, and the snapshot the choice resolves to now when it is known and the caller
// may see it. Empty or invalid fields are skipped: ValidateRestore reports them.
//
// It follows the caller as Warnings does (docs/design.md, "Authorization follows the
// caller"): the preview's own namespace is checked as is; the Repository, its Snapshots, a
// target or a Secret in another namespace only when the caller may get them there, and
// otherwise one neutral warning, the same whether they exist or not.
func RestoreWarnings(p *ui.RestoreSessionPreview, c RestoreCluster) (warnings []string, resolved *ui.ResolvedSnapshot) {
	if p == nil || c == nil {
		return nil, nil
	}
	var w []string
	add := func(format string, args ...interface{}) {
		if msg := fmt.Sprintf(format, args...); !slices.Contains(w, msg) {
			w = append(w, msg)
		}
	}
	ns, s := p.Namespace, p.Spec
	repoNS := orNS(s.Repository.Namespace, ns)
	repo := s.Repository.Name

	// The repository, and what it backs up.
	var appRef *kubestash.TypedRef
	if repo != "" {
		ok, why := true, ""
		if repoNS != ns {
			ok, why = c.MayGet(kubestash.StorageGroup, kubestash.Repositories.Resource, repoNS)
		}
		if !ok {
			add("cannot check Repository %s/%s: %s", repoNS, repo, why)
		} else if ref, found := c.Repository(repoNS, repo); !found {
			add("Repository %s/%s not found", repoNS, repo)
		} else {
			appRef = ref
		}
	}

	// The snapshot, resolved in the repository's namespace.
	snap, mayResolve := (*SnapshotFact)(nil), true
	if repoNS != ns {
		if ok, why := c.MayGet(kubestash.StorageGroup, snapshotsResource, repoNS); !ok {
			mayResolve = false
			add("cannot check the snapshots of namespace %s: %s", repoNS, why)
		}
	}
	if mayResolve {
		snap = resolveSnapshot(p, repoNS, c, add)
	}
	if snap != nil {
		if snap.Phase != kubestash.SnapshotSucceeded {
			add("Snapshot %s/%s is %s, not Succeeded: restoring it may fail or restore incomplete data", repoNS, snap.Name, orNS(snap.Phase, "not finished"))
		}
		if snap.VerificationStatus == kubestash.SnapshotVerificationFailed {
			add("Snapshot %s/%s failed verification", repoNS, snap.Name)
		}
		if snap.Components != nil {
			for _, comp := range s.Components {
				if comp != "" && !slices.Contains(snap.Components, comp) {
					add("component %s is not in Snapshot %s/%s; its components are: %s", comp, repoNS, snap.Name, list(snap.Components))
				}
			}
		}
		resolved = &ui.ResolvedSnapshot{
			Name: snap.Name, SnapshotTime: snap.Time, Size: snap.Size, Phase: snap.Phase,
			VerificationStatus: snap.VerificationStatus, Components: snap.Components,
		}
	}

	// The target: the same kind as the repository backs up, and whether it exists.
	t := s.Target
	if t.Kind != "" && t.Name != "" {
		group := kubestash.NormalizeGroup(t.APIGroup)
		gk := gkString(group, t.Kind)
		tns := orNS(t.Namespace, ns)
		if appRef != nil && appRef.Kind != "" && (appRef.Kind != t.Kind || kubestash.NormalizeGroup(appRef.APIGroup) != group) {
			add("target kind %s differs from %s, the kind Repository %s/%s backs up", gk, gkString(appRef.APIGroup, appRef.Kind), repoNS, repo)
		}
		denied := ""
		if tns != ns {
			if ok, why := c.MayGetKind(group, t.Kind, tns); !ok {
				denied = why
			}
		}
		switch st := c.Target(group, t.Kind, tns, t.Name, ns); {
		case st == TargetKindNotServed:
			add("target kind %s is not installed in the cluster", gk)
		case denied != "":
			add("cannot check target %s %s/%s: %s", gk, tns, t.Name, denied)
		case st == TargetNotChecked:
			add("existence of target %s %s/%s not checked: backupview watches only the kinds that BackupConfigurations in namespace %s back up", gk, tns, t.Name, ns)
		case st == TargetNotFound:
			add("target %s %s/%s does not exist yet: KubeStash restores into it once it exists", gk, tns, t.Name)
		case st == TargetFound:
			add("target %s %s/%s exists: the restore overwrites its data", gk, tns, t.Name)
		}
	}

	// The Addon and its restore tasks, for a caller who may get Addons (cluster-scoped).
	if a := s.Addon.Name; a != "" {
		if ok, why := c.MayGet(kubestash.AddonsGroup, kubestash.Addons.Resource, ""); !ok {
			add("cannot check Addon %s: %s", a, why)
		} else if backup, restore, found := c.Addon(a); !found {
			add("Addon %s not found", a)
		} else {
			for _, task := range s.Addon.Tasks {
				switch {
				case task.Name == "" || slices.Contains(restore, task.Name):
				case slices.Contains(backup, task.Name):
					add("task %s is a backup task of Addon %s; a RestoreSession needs one of its restore tasks: %s", task.Name, a, list(restore))
				default:
					add("task %s is not a restore task of Addon %s; its restore tasks are: %s", task.Name, a, list(restore))
				}
			}
		}
	}

	// The encryption Secret: named found or not only to a caller who may get Secrets there
	// (the preview's own namespace included), as in Warnings.
	if e := s.EncryptionSecret; e != nil && e.Name != "" {
		sns := orNS(e.Namespace, ns)
		exists, checked := c.Secret(sns, e.Name)
		switch {
		case !checked:
			add("encryption Secret %s/%s not checked: this server does not watch Secrets (--check-encryption-secrets)", sns, e.Name)
		default:
			if ok, why := c.MayGet("", "secrets", sns); !ok {
				add("cannot check encryption Secret %s/%s: %s", sns, e.Name, why)
			} else if !exists {
				add("encryption Secret %s/%s not found", sns, e.Name)
			}
		}
	}
	return w, resolved
}

// snapshotsResource is the resource of storage.kubestash.com Snapshots.
const snapshotsResource = "snapshots"

// resolveSnapshot finds the snapshot the form's choice means now, or nil with a warning.
func resolveSnapshot(p *ui.RestoreSessionPreview, ns string, c RestoreFacts, add func(string, ...interface{})) *SnapshotFact {
	s := p.Spec
	repo := s.Repository.Name
	notRead := "this server has not listed the Snapshots (their CRD is not installed, or not synced yet)"
	switch {
	case s.Snapshot != "" && s.Snapshot != SnapshotLatest:
		snap, found, checked := c.Snapshot(ns, s.Snapshot)
		switch {
		case !checked:
			add("Snapshot %s/%s not checked: %s", ns, s.Snapshot, notRead)
		case !found:
			add("Snapshot %s/%s not found", ns, s.Snapshot)
		default:
			if repo != "" && snap.Repository != "" && snap.Repository != repo {
				add("Snapshot %s/%s belongs to Repository %s, not %s", ns, s.Snapshot, snap.Repository, repo)
			}
			return &snap
		}
	case repo == "":
		// ValidateRestore requires the repository for latest and pitr.
	case s.Snapshot == SnapshotLatest:
		snaps, checked := c.Snapshots(ns, repo)
		switch {
		case !checked:
			add("which snapshot of Repository %s/%s is the latest not checked: %s", ns, repo, notRead)
		case len(snaps) == 0:
			add("Repository %s/%s has no snapshots: there is nothing to restore", ns, repo)
		default:
			return &snaps[0]
		}
	case s.PITR != nil && s.PITR.TargetTime != nil:
		at := s.PITR.TargetTime.UTC().Format(time.RFC3339)
		snaps, checked := c.Snapshots(ns, repo)
		if !checked {
			add("which snapshot of Repository %s/%s a restore to %s uses not checked: %s", ns, repo, at, notRead)
			return nil
		}
		for i, snap := range snaps {
			if snap.Time == nil {
				continue
			}
			if snap.Time.Before(s.PITR.TargetTime) || (!s.PITR.Exclusive && snap.Time.Equal(s.PITR.TargetTime)) {
				return &snaps[i]
			}
		}
		before := "at or before"
		if s.PITR.Exclusive {
			before = "before"
		}
		add("Repository %s/%s has no snapshot %s %s: there is nothing to restore to that time", ns, repo, before, at)
	}
	return nil
}
