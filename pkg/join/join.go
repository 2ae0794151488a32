// Package join builds one BackupConfigurationView from a BackupConfiguration and the objects
// it links to, read from caches through Lookup. It is a pure function of what Lookup returns:
// no API calls, no clock, no state kept between builds. Every list in the view has a total
// order that does not depend on the order Lookup returns objects in, so replicas that see the
// same sources serve identical views.
package join

import (
	"cmp"
	"crypto/sha1"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/health"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// Lookup reads the joined objects from caches. The slices it returns may come in any order.
type Lookup interface {
	BackupSessions(bcKey string) []*kubestash.BackupSession
	// CronJobs are the CronJobs in namespace owned by the BackupConfiguration with UID bcUID:
	// a CronJob joins only within its BackupConfiguration's namespace.
	CronJobs(namespace, bcUID string) []*kubestash.CronJob
	Repository(ns, name string) *kubestash.Repository
	BackupStorage(ns, name string) *kubestash.BackupStorage
	RetentionPolicy(ns, name string) *kubestash.RetentionPolicy
	Target(t kubestash.TypedRef) (obj *kubestash.Object, installed bool)
	// Snapshots are the Snapshots of the Repository ns/repository (unordered).
	Snapshots(ns, repository string) (snapshots []*kubestash.Snapshot, synced bool)
	BackupVerifier(ns, name string) *kubestash.BackupVerifier
	// VerificationSessions are the BackupVerificationSessions the BackupConfiguration
	// namespace/name invoked (unordered).
	VerificationSessions(bcKey string) (sessions []*kubestash.BackupVerificationSession, synced bool)
}

// Options shape the views.
type Options struct {
	// SnapshotsPerRepository is how many of a Repository's newest Snapshots a view shows
	// (0: DefaultSnapshotsPerRepository).
	SnapshotsPerRepository int
}

// DefaultSnapshotsPerRepository is SnapshotsPerRepository's default.
const DefaultSnapshotsPerRepository = 10

// ViewUID derives the view's UID from the BackupConfiguration's: stable, and distinct from it
// so that clients keying caches by UID never confuse the two objects.
func ViewUID(bcUID types.UID) types.UID { return DerivedUID("backupconfigurationview", bcUID) }

// DerivedUID is the UID of a served object of kind (lower case) made from the source object
// with UID uid: a name-based (version 5 layout) UUID, stable across replicas and restarts.
func DerivedUID(kind string, uid types.UID) types.UID {
	if uid == "" {
		return ""
	}
	h := sha1.Sum([]byte("ui.kubestash.com/" + kind + "/" + string(uid)))
	h[6] = (h[6] & 0x0f) | 0x50 // UUID version 5 layout
	h[8] = (h[8] & 0x3f) | 0x80
	return types.UID(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

// Build joins bc with its related objects. It returns the view (without resourceVersion) and
// the highest resourceVersion among the source objects it read.
func Build(bc *kubestash.BackupConfiguration, l Lookup, o Options) (*ui.BackupConfigurationView, uint64) {
	b := builder{l: l, bc: bc, snapshots: cmp.Or(o.SnapshotsPerRepository, DefaultSnapshotsPerRepository)}
	b.see(bc.ResourceVersion)
	v := &ui.BackupConfigurationView{
		ObjectMeta: metav1.ObjectMeta{
			Name:              bc.Name,
			Namespace:         bc.Namespace,
			UID:               ViewUID(bc.UID),
			Labels:            bc.Labels,
			Annotations:       bc.Annotations,
			CreationTimestamp: bc.CreationTimestamp,
		},
		Basic: ui.Basic{UID: bc.UID, Phase: bc.Phase, Paused: bc.Paused, Conditions: conditions(bc.Conditions)},
	}
	v.Summary = summary(bc)
	v.Sessions = sessions(bc)
	var runs []*kubestash.BackupSession
	v.BackupSessions, runs = b.sessions()
	v.RetentionPolicies = b.policies()
	v.BackupStorages = b.storages()
	v.Repositories = b.repositories()
	v.Target = b.target()
	v.CronJobs = b.cronJobs()
	v.Health = health.Build(bc, runs, v)
	return v, b.rv
}

type builder struct {
	l         Lookup
	bc        *kubestash.BackupConfiguration
	rv        uint64
	snapshots int // per repository
	// verifications are the BackupConfiguration's BackupVerificationSessions, newest first,
	// read (verificationsRead) for the first Repository that has a verifier.
	verifications     []*kubestash.BackupVerificationSession
	verificationsRead bool
}

func (b *builder) see(rv string) {
	if n, err := strconv.ParseUint(rv, 10, 64); err == nil && n > b.rv {
		b.rv = n
	}
}

// ts points at a source object's creation time (nil when unset): like its other pointers, a
// view shares it with the cached object, never changed in place, rather than copying it
// (one allocation per joined object, docs/benchmarks.md).
func ts(t *metav1.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	return t
}

// conditions keeps the BackupConfiguration's own order: it is part of one object (the same on
// every replica at a resourceVersion), and its writer's order is what kubectl shows there.
func conditions(cs []kubestash.Condition) []ui.Condition {
	if len(cs) == 0 {
		return nil
	}
	out := make([]ui.Condition, len(cs))
	for i, c := range cs {
		out[i] = ui.Condition{Type: c.Type, Status: c.Status, Severity: c.Severity, Reason: c.Reason, Message: c.Message,
			ObservedGeneration: c.ObservedGeneration, LastTransitionTime: c.LastTransitionTime}
	}
	return out
}

func nsName(ns, name string) string { return ns + "/" + name }

// PrintTarget prints a reference as "<Kind> <namespace>/<name>", like the console.
func PrintTarget(t *kubestash.TypedRef, defNS string) string {
	if t == nil || (t.Kind == "" && t.Name == "") {
		return ""
	}
	return t.Kind + " " + cmp.Or(t.Namespace, defNS) + "/" + t.Name
}

func summary(bc *kubestash.BackupConfiguration) ui.Summary {
	var sched, repos, tasks, storages, policies []string
	for _, s := range bc.Sessions {
		if s.Schedule != "" {
			sched = append(sched, s.Schedule)
		}
		repos = append(repos, s.Repositories...)
		tasks = append(tasks, s.Tasks...)
	}
	for _, be := range bc.Backends {
		if be.StorageRef != nil {
			storages = append(storages, nsName(cmp.Or(be.StorageRef.Namespace, bc.Namespace), be.StorageRef.Name))
		}
		if be.RetentionPolicy != nil {
			policies = append(policies, nsName(cmp.Or(be.RetentionPolicy.Namespace, bc.Namespace), be.RetentionPolicy.Name))
		}
	}
	return ui.Summary{
		Schedule:        strings.Join(sched, ", "),
		Repository:      strings.Join(repos, ", "),
		BackupStorage:   strings.Join(storages, ", "),
		Target:          PrintTarget(bc.Target, bc.Namespace),
		Task:            strings.Join(tasks, ", "),
		RetentionPolicy: strings.Join(policies, ", "),
	}
}

// sessions are the BackupConfiguration's sessions with the next run KubeStash reports for
// each (an unparsable nextSchedule reads as none).
func sessions(bc *kubestash.BackupConfiguration) []ui.Session {
	if len(bc.Sessions) == 0 {
		return nil
	}
	out := make([]ui.Session, len(bc.Sessions))
	for i, s := range bc.Sessions {
		out[i] = ui.Session{Name: s.Name, Schedule: s.Schedule}
		if n := s.NextSchedule; n != "" {
			if t, err := time.Parse(time.RFC3339, n); err == nil {
				out[i].NextSchedule = &metav1.Time{Time: t}
			}
		}
	}
	return out
}

// sessions returns the BackupSessions newest first, as the view shows them and as the source
// objects (for health, which reads fields the view does not show).
func (b *builder) sessions() ([]ui.BackupSessionRef, []*kubestash.BackupSession) {
	src := b.l.BackupSessions(nsName(b.bc.Namespace, b.bc.Name))
	if len(src) == 0 {
		return nil, nil
	}
	type keyed struct {
		created  time.Time
		nameTime int64
		src      *kubestash.BackupSession
		ref      ui.BackupSessionRef
	}
	ks := make([]keyed, 0, len(src))
	for _, s := range src {
		b.see(s.ResourceVersion)
		ks = append(ks, keyed{created: s.CreationTimestamp.Time, nameTime: nameTime(s.Name), src: s, ref: ui.BackupSessionRef{
			Name: s.Name, Namespace: s.Namespace, InvokerKind: s.InvokerKind(), InvokerName: s.InvokerName,
			Session: s.Session, TotalSnapshots: s.TotalSnapshots, Phase: s.Phase, Duration: s.Duration,
			CreationTimestamp: ts(&s.CreationTimestamp),
		}})
	}
	// Newest first. Creation times have one-second resolution, so ties are broken by the
	// trigger time KubeStash puts at the end of the name (<bc>-<session>-<unix seconds>),
	// then by name (unique in the namespace), then namespace: a total order.
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(b.created.Compare(a.created), cmp.Compare(b.nameTime, a.nameTime),
			strings.Compare(b.ref.Name, a.ref.Name), strings.Compare(a.ref.Namespace, b.ref.Namespace))
	})
	out := make([]ui.BackupSessionRef, len(ks))
	runs := make([]*kubestash.BackupSession, len(ks))
	for i := range ks {
		out[i], runs[i] = ks[i].ref, ks[i].src
	}
	return out, runs
}

// nameTime is the unix time at the end of a BackupSession name, or 0.
func nameTime(name string) int64 {
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// refs returns the distinct namespace/name references, by namespace then name.
func refs(bc *kubestash.BackupConfiguration, pick func(kubestash.Backend) *kubestash.Ref) [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, be := range bc.Backends {
		r := pick(be)
		if r == nil || r.Name == "" {
			continue
		}
		k := [2]string{cmp.Or(r.Namespace, bc.Namespace), r.Name}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	return out
}

func (b *builder) policies() []ui.RetentionPolicyRef {
	var out []ui.RetentionPolicyRef
	for _, k := range refs(b.bc, func(be kubestash.Backend) *kubestash.Ref { return be.RetentionPolicy }) {
		r := ui.RetentionPolicyRef{Namespace: k[0], Name: k[1]}
		if p := b.l.RetentionPolicy(k[0], k[1]); p != nil {
			b.see(p.ResourceVersion)
			r.Found, r.Annotations, r.MaxRetentionPeriod, r.Default, r.CreationTimestamp = true, p.Annotations, p.MaxRetentionPeriod, p.Default, ts(&p.CreationTimestamp)
		}
		out = append(out, r)
	}
	return out
}

func (b *builder) storages() []ui.BackupStorageRef {
	var out []ui.BackupStorageRef
	for _, k := range refs(b.bc, func(be kubestash.Backend) *kubestash.Ref { return be.StorageRef }) {
		r := ui.BackupStorageRef{Namespace: k[0], Name: k[1]}
		if s := b.l.BackupStorage(k[0], k[1]); s != nil {
			b.see(s.ResourceVersion)
			r.Found, r.Provider, r.Size, r.ConnectedRepositories, r.Phase, r.CreationTimestamp = true, s.Provider, s.TotalSize, s.Repositories, s.Phase, ts(&s.CreationTimestamp)
		}
		out = append(out, r)
	}
	return out
}

func (b *builder) repositories() []ui.RepositoryRef {
	var names []string
	seen := map[string]bool{}
	for _, s := range b.bc.Sessions {
		for _, n := range s.Repositories {
			if n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	slices.Sort(names) // distinct: a total order
	var out []ui.RepositoryRef
	for _, n := range names {
		r := ui.RepositoryRef{Namespace: b.bc.Namespace, Name: n}
		if repo := b.l.Repository(b.bc.Namespace, n); repo != nil {
			b.see(repo.ResourceVersion)
			r.Found, r.Size, r.SnapshotCount, r.Integrity, r.Phase = true, repo.Size, repo.SnapshotCount, repo.Integrity, repo.Phase
			r.Target, r.LastSuccessfulBackupTime, r.CreationTimestamp = PrintTarget(repo.AppRef, repo.Namespace), repo.LastBackupTime, ts(&repo.CreationTimestamp)
		}
		var verified *ui.VerifiedSnapshotRef
		r.Snapshots, r.SnapshotsTotal, verified = b.snapshotsOf(b.bc.Namespace, n)
		if v := b.bc.Verifier(n); v != nil {
			r.Verification = b.verification(n, *v, verified)
		}
		out = append(out, r)
	}
	return out
}

// snapshotsOf is the Repository's newest Snapshots, newest first by snapshot time (one without
// a time last, then by name), at most b.snapshots, how many there are, and the newest Verified
// one.
func (b *builder) snapshotsOf(ns, repo string) ([]ui.SnapshotRef, int32, *ui.VerifiedSnapshotRef) {
	l, _ := b.l.Snapshots(ns, repo)
	if len(l) == 0 {
		return nil, 0, nil
	}
	l = slices.Clone(l)
	slices.SortFunc(l, kubestash.NewestSnapshotFirst)
	total := int32(len(l))
	var verified *ui.VerifiedSnapshotRef
	if i := slices.IndexFunc(l, func(s *kubestash.Snapshot) bool { return s.VerificationStatus == kubestash.SnapshotVerified }); i >= 0 {
		b.see(l[i].ResourceVersion)
		verified = &ui.VerifiedSnapshotRef{Name: l[i].Name, SnapshotTime: l[i].SnapshotTime}
	}
	out := make([]ui.SnapshotRef, 0, min(len(l), b.snapshots))
	for _, s := range l[:min(len(l), b.snapshots)] {
		b.see(s.ResourceVersion)
		r := ui.SnapshotRef{Name: s.Name, SnapshotTime: s.SnapshotTime, Phase: s.Phase, Size: s.Size, Integrity: s.Integrity,
			Type: s.Type, VerificationStatus: s.VerificationStatus, BackupSession: s.BackupSession}
		for _, c := range s.Components {
			if c.Phase == kubestash.SnapshotFailed {
				r.FailedComponents = append(r.FailedComponents, ui.SnapshotComponentError{Name: c.Name, Error: c.Error})
			}
		}
		out = append(out, r)
	}
	return out, total, verified
}

// verification is the Repository's verification by the BackupVerifier v: the verifier, the
// newest of the BackupConfiguration's BackupVerificationSessions for the Repository (by
// creation, then name descending) and the end of the newest Succeeded one.
func (b *builder) verification(repo string, v kubestash.Ref, verified *ui.VerifiedSnapshotRef) *ui.RepositoryVerification {
	out := &ui.RepositoryVerification{Verifier: ui.ObjectReference{Namespace: v.Namespace, Name: v.Name}, LastVerifiedSnapshot: verified}
	if bv := b.l.BackupVerifier(v.Namespace, v.Name); bv != nil {
		b.see(bv.ResourceVersion)
		out.Found, out.Type, out.Schedule = true, bv.Type, bv.Schedule
	}
	if !b.verificationsRead {
		b.verificationsRead = true
		l, _ := b.l.VerificationSessions(nsName(b.bc.Namespace, b.bc.Name))
		b.verifications = slices.Clone(l)
		slices.SortFunc(b.verifications, func(x, y *kubestash.BackupVerificationSession) int {
			// Within a second, by name descending: KubeStash's names end in the run's Unix time.
			return cmp.Or(y.CreationTimestamp.Compare(x.CreationTimestamp.Time), cmp.Compare(y.Name, x.Name))
		})
	}
	var lastSuccess time.Time
	for _, s := range b.verifications { // newest first
		if s.Repository != repo {
			continue
		}
		b.see(s.ResourceVersion)
		if out.LastSession == nil {
			out.LastSession = &ui.VerificationSessionRef{Name: s.Name, Phase: s.Phase, CreationTimestamp: ts(&s.CreationTimestamp),
				Duration: s.Duration, Snapshot: s.Snapshot, Message: s.Message}
		}
		if s.Phase == kubestash.VerificationSucceeded && !s.CreationTimestamp.IsZero() {
			end := s.CreationTimestamp.Time
			if d, err := time.ParseDuration(s.Duration); err == nil && d > 0 {
				end = end.Add(d)
			}
			if end.After(lastSuccess) {
				lastSuccess = end
			}
		}
	}
	if !lastSuccess.IsZero() {
		out.LastSuccessfulVerificationTime = &metav1.Time{Time: lastSuccess}
	}
	return out
}

func (b *builder) target() ui.TargetRef {
	t := b.bc.Target
	if t == nil {
		return ui.TargetRef{}
	}
	r := ui.TargetRef{APIGroup: t.APIGroup, Kind: t.Kind, Namespace: cmp.Or(t.Namespace, b.bc.Namespace), Name: t.Name}
	if t.Kind == "" || t.Name == "" {
		return r
	}
	ref := *t
	ref.Namespace = r.Namespace
	if o, _ := b.l.Target(ref); o != nil {
		// The target's resourceVersion is not folded in: the view shows only its existence and
		// creation time, which its later (status) updates never change, so those must not
		// move the view's version either (docs/design.md, "resourceVersions").
		r.Found, r.CreationTimestamp = true, ts(&o.CreationTimestamp)
	}
	return r
}

func (b *builder) cronJobs() []ui.CronJobRef {
	src := b.l.CronJobs(b.bc.Namespace, string(b.bc.UID))
	if len(src) == 0 {
		return nil
	}
	idx := newSessionIndex(b.bc)
	out := make([]ui.CronJobRef, 0, len(src))
	for _, c := range src {
		b.see(c.ResourceVersion)
		out = append(out, ui.CronJobRef{
			Name: c.Name, Namespace: c.Namespace, Annotations: c.Annotations, Session: idx.session(c.Name),
			Schedule: c.Schedule, Suspend: c.Suspend, Active: c.Active, LastScheduleTime: c.LastScheduleTime,
			CreationTimestamp: ts(&c.CreationTimestamp),
		})
	}
	slices.SortFunc(out, func(a, b ui.CronJobRef) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

// CronJobSession maps a CronJob to the session it triggers. The name is
// trigger-<bc>-<session>, but KubeStash shortens names over 52 characters keeping head and
// tail, so a session also matches by suffix; the longest matching session name wins.
func CronJobSession(bc *kubestash.BackupConfiguration, name string) string {
	return newSessionIndex(bc).session(name)
}

// sessionIndex answers CronJobSession in time proportional to the CronJob name's length, so
// that joining n CronJobs to n sessions is not n².
type sessionIndex struct {
	prefix string          // "trigger-<bc>-"
	names  map[string]bool // the non-empty session names
}

func newSessionIndex(bc *kubestash.BackupConfiguration) sessionIndex {
	x := sessionIndex{prefix: "trigger-" + bc.Name + "-", names: make(map[string]bool, len(bc.Sessions))}
	for _, s := range bc.Sessions {
		if s.Name != "" {
			x.names[s.Name] = true
		}
	}
	return x
}

func (x sessionIndex) session(name string) string {
	if s, ok := strings.CutPrefix(name, x.prefix); ok && x.names[s] {
		return s
	}
	// The longest session name that is a suffix after a "-": the one after the first such "-".
	for i := 0; i < len(name); i++ {
		if name[i] == '-' && x.names[name[i+1:]] {
			return name[i+1:]
		}
	}
	return ""
}
