package access

import (
	"context"
	"slices"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/health"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Redact is the view storage's Redact hook: for the caller of one request, the function that
// turns a cached view into what they may see.
//
// Whoever may get the view may see its own namespace's backup status, so the objects joined
// from the BackupConfiguration's namespace (sessions, repositories, CronJobs, a target there)
// are shown in full. A BackupStorage, RetentionPolicy or target in another namespace keeps
// its details only if the caller may get that resource there; otherwise only the reference
// is left, with found false and restricted saying why.
//
// The function returns the cached view itself when nothing is hidden, and otherwise a
// shallow copy with new slices for the redacted lists: it never modifies its argument and,
// in the common case, allocates nothing per view.
func (c *Checker) Redact(ctx context.Context) func(*ui.BackupConfigurationView) *ui.BackupConfigurationView {
	return c.For(ctx).Redact
}

var (
	storages  = kubestash.BackupStorages
	policies  = kubestash.RetentionPolicies
	verifiers = kubestash.BackupVerifiers
)

// Redact is Checker.Redact for this caller.
func (a *Caller) Redact(v *ui.BackupConfigurationView) *ui.BackupConfigurationView {
	ns := v.Namespace
	var hideS, hideP bool
	var targetWhy string
	locked := false
	lock := func() {
		if !locked {
			a.mu.Lock()
			locked = true
		}
	}
	for i := range v.BackupStorages {
		if r := &v.BackupStorages[i]; r.Namespace != ns {
			lock()
			if ok, _ := a.mayGet(rkey{storages.Group, storages.Resource, r.Namespace}); !ok {
				hideS = true
				break
			}
		}
	}
	for i := range v.RetentionPolicies {
		if r := &v.RetentionPolicies[i]; r.Namespace != ns {
			lock()
			if ok, _ := a.mayGet(rkey{policies.Group, policies.Resource, r.Namespace}); !ok {
				hideP = true
				break
			}
		}
	}
	if t := &v.Target; t.Kind != "" && t.Namespace != "" && t.Namespace != ns {
		lock()
		if ok, why := a.mayGet(a.kindKey(t.APIGroup, t.Kind, t.Namespace)); !ok {
			targetWhy = why
		}
	}
	hideV := false
	for i := range v.Repositories {
		if vr := v.Repositories[i].Verification; vr != nil && vr.Verifier.Namespace != ns {
			lock()
			if ok, _ := a.mayGet(rkey{verifiers.Group, verifiers.Resource, vr.Verifier.Namespace}); !ok {
				hideV = true
				break
			}
		}
	}
	if !locked {
		return v // nothing outside the view's namespace: the common case, no lock, no clock
	}
	defer a.mu.Unlock()
	if !hideS && !hideP && targetWhy == "" && !hideV {
		return v
	}

	out := *v
	if hideS {
		out.BackupStorages = a.redactStorages(v.BackupStorages, ns)
	}
	if hideP {
		out.RetentionPolicies = a.redactPolicies(v.RetentionPolicies, ns)
	}
	if targetWhy != "" {
		t := v.Target
		out.Target = ui.TargetRef{APIGroup: t.APIGroup, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, Restricted: targetWhy}
	}
	if hideV {
		out.Repositories = a.redactVerifiers(v.Repositories, ns)
		// A verifier's schedule is its own: the reason it supports goes with it.
		out.Health = health.WithoutReasons(out.Health, func(r ui.HealthReason) bool {
			if r.Object.Kind != "BackupVerifier" || r.Object.Namespace == ns {
				return false
			}
			ok, _ := a.mayGet(rkey{verifiers.Group, verifiers.Resource, r.Object.Namespace})
			return !ok
		})
	}
	if hideS || hideP {
		// The health must not tell what the redacted entries hide: that one is missing.
		out.Health = health.WithoutMissing(out.Health, func(kind, rns, _ string) bool {
			if rns == ns {
				return false
			}
			if kind == "BackupStorage" {
				ok, _ := a.mayGet(rkey{storages.Group, storages.Resource, rns})
				return !ok
			}
			ok, _ := a.mayGet(rkey{policies.Group, policies.Resource, rns})
			return !ok
		})
	}
	return &out
}

// redactStorages returns l with the entries the caller may not see reduced to their
// reference. a.mu is held.
func (a *Caller) redactStorages(l []ui.BackupStorageRef, ns string) []ui.BackupStorageRef {
	return redactList(a, l, ns, &a.storageLists, rkey{storages.Group, storages.Resource, ""},
		func(r ui.BackupStorageRef) (string, string) { return r.Namespace, r.Name },
		func(r ui.BackupStorageRef, why string) ui.BackupStorageRef {
			return ui.BackupStorageRef{Name: r.Name, Namespace: r.Namespace, Restricted: why}
		})
}

// redactVerifiers returns the repositories with the BackupVerifiers the caller may not get
// reduced to their reference; the verifications' sessions and Snapshots, in the view's
// namespace, stay. a.mu is held.
func (a *Caller) redactVerifiers(l []ui.RepositoryRef, ns string) []ui.RepositoryRef {
	out := slices.Clone(l)
	for i := range out {
		vr := out[i].Verification
		if vr == nil || vr.Verifier.Namespace == ns {
			continue
		}
		if ok, why := a.mayGet(rkey{verifiers.Group, verifiers.Resource, vr.Verifier.Namespace}); !ok {
			out[i].Verification = &ui.RepositoryVerification{Verifier: vr.Verifier, Restricted: why, LastSession: vr.LastSession,
				LastSuccessfulVerificationTime: vr.LastSuccessfulVerificationTime, LastVerifiedSnapshot: vr.LastVerifiedSnapshot}
		}
	}
	return out
}

// redactPolicies is redactStorages for RetentionPolicies.
func (a *Caller) redactPolicies(l []ui.RetentionPolicyRef, ns string) []ui.RetentionPolicyRef {
	return redactList(a, l, ns, &a.policyLists, rkey{policies.Group, policies.Resource, ""},
		func(r ui.RetentionPolicyRef) (string, string) { return r.Namespace, r.Name },
		func(r ui.RetentionPolicyRef, why string) ui.RetentionPolicyRef {
			return ui.RetentionPolicyRef{Name: r.Name, Namespace: r.Namespace, Restricted: why}
		})
}

// redactList reduces the entries of l outside namespace ns that the caller may not get (of
// resource res) to bare, keeping the reference. A one-entry list is shared, through shared,
// by every view naming the same object. a.mu is held.
func redactList[T any](a *Caller, l []T, ns string, shared *map[rkey][]T, res rkey, ref func(T) (ns, name string), bare func(T, string) T) []T {
	var one rkey
	if len(l) == 1 {
		rns, name := ref(l[0])
		one = rkey{"", rns, name}
		if out, ok := (*shared)[one]; ok {
			return out
		}
	}
	out := make([]T, len(l))
	for i, r := range l {
		if rns, _ := ref(r); rns != ns {
			if ok, why := a.mayGet(rkey{res.group, res.resource, rns}); !ok {
				r = bare(r, why)
			}
		}
		out[i] = r
	}
	if len(l) == 1 {
		if *shared == nil {
			*shared = map[rkey][]T{}
		}
		(*shared)[one] = out
	}
	return out
}
