package access

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/health"
)

// fakeAuthz allows what its rules name ("user get group/resource ns") and counts the calls.
type fakeAuthz struct {
	mu    sync.Mutex
	allow map[string]bool
	calls atomic.Int64
	asked []authorizer.Attributes
	err   error
}

func newFake(rules ...string) *fakeAuthz {
	f := &fakeAuthz{allow: map[string]bool{}}
	for _, r := range rules {
		f.allow[r] = true
	}
	return f
}

func (f *fakeAuthz) authorizer() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		f.calls.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.asked = append(f.asked, a)
		if f.err != nil {
			return authorizer.DecisionNoOpinion, "", f.err
		}
		for _, g := range a.GetUser().GetGroups() {
			if g == user.SystemPrivilegedGroup {
				return authorizer.DecisionAllow, "", nil
			}
		}
		if f.allow[fmt.Sprintf("%s %s %s/%s %s", a.GetUser().GetName(), a.GetVerb(), a.GetAPIGroup(), a.GetResource(), a.GetNamespace())] {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func as(name string, groups ...string) context.Context {
	return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: name, Groups: groups})
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

const sg = "storage.kubestash.com"

func TestMayGetAsksOncePerResourceAndNamespace(t *testing.T) {
	f := newFake("alice get storage.kubestash.com/backupstorages kubestash")
	c := New(f.authorizer(), Options{})
	a := c.For(as("alice", "system:authenticated"))
	for range 1000 {
		if ok, why := a.MayGet(sg, "backupstorages", "kubestash"); !ok || why != "" {
			t.Fatalf("alice may get backupstorages in kubestash: %v %q", ok, why)
		}
		if ok, why := a.MayGet(sg, "backupstorages", "prod"); ok || why != "you cannot get backupstorages in namespace prod" {
			t.Fatalf("alice may not get backupstorages in prod: %v %q", ok, why)
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d authorizer calls for 2 distinct questions", n)
	}
	// The question is "get, no name" with the user of the request.
	at := f.asked[0]
	if at.GetVerb() != "get" || at.GetName() != "" || !at.IsResourceRequest() || at.GetUser().GetName() != "alice" {
		t.Errorf("asked %+v", at)
	}
	// Another request of the same user reuses the decisions (shared cache).
	b := c.For(as("alice", "system:authenticated"))
	b.MayGet(sg, "backupstorages", "kubestash")
	b.MayGet(sg, "backupstorages", "prod")
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d authorizer calls after a second request, want 2", n)
	}
}

func TestDecisionsAreKeyedByUserAndGroups(t *testing.T) {
	f := newFake("alice get storage.kubestash.com/backupstorages prod")
	c := New(f.authorizer(), Options{})
	if ok, _ := c.For(as("alice")).MayGet(sg, "backupstorages", "prod"); !ok {
		t.Fatal("alice may")
	}
	if ok, _ := c.For(as("bob")).MayGet(sg, "backupstorages", "prod"); ok {
		t.Error("bob got alice's decision")
	}
	if ok, _ := c.For(as("bob", user.SystemPrivilegedGroup)).MayGet(sg, "backupstorages", "prod"); !ok {
		t.Error("bob in system:masters got bob's decision")
	}
	if ok, _ := c.For(context.Background()).MayGet(sg, "backupstorages", "prod"); ok {
		t.Error("no user, allowed")
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (no user: not asked)", n)
	}
}

func TestTTLAndBound(t *testing.T) {
	f := newFake("alice get storage.kubestash.com/backupstorages prod")
	clk := &clock{t: time.Unix(1000, 0)}
	c := New(f.authorizer(), Options{TTL: 10 * time.Second, MaxEntries: 100, Now: clk.now})
	a := c.For(as("alice"))
	a.MayGet(sg, "backupstorages", "prod")
	clk.t = clk.t.Add(9 * time.Second)
	a.MayGet(sg, "backupstorages", "prod")
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d calls within the TTL", n)
	}
	// A revoked binding takes effect after the TTL, even in a long request (a watch).
	delete(f.allow, "alice get storage.kubestash.com/backupstorages prod")
	clk.t = clk.t.Add(2 * time.Second)
	if ok, _ := a.MayGet(sg, "backupstorages", "prod"); ok {
		t.Error("revoked, still allowed after the TTL")
	}
	// A GET or LIST keeps the decisions it took for its whole life; a watch renews them.
	f.allow["alice get storage.kubestash.com/backupstorages prod"] = true
	clk.t = clk.t.Add(time.Minute)
	l := c.For(genericapirequest.WithRequestInfo(as("alice"), &genericapirequest.RequestInfo{Verb: "list"}))
	w := c.For(genericapirequest.WithRequestInfo(as("alice"), &genericapirequest.RequestInfo{Verb: "watch"}))
	l.MayGet(sg, "backupstorages", "prod")
	w.MayGet(sg, "backupstorages", "prod")
	delete(f.allow, "alice get storage.kubestash.com/backupstorages prod")
	clk.t = clk.t.Add(time.Minute)
	if ok, _ := l.MayGet(sg, "backupstorages", "prod"); !ok {
		t.Error("a LIST changed its mind mid-request")
	}
	if ok, _ := w.MayGet(sg, "backupstorages", "prod"); ok {
		t.Error("a watch kept a decision past the TTL")
	}
	// Bounded.
	for i := range 1000 {
		c.For(as(fmt.Sprintf("u%d", i))).MayGet(sg, "backupstorages", "prod")
	}
	if n := c.Len(); n > 100 {
		t.Errorf("cache holds %d decisions, bound 100", n)
	}
}

func TestLimit(t *testing.T) {
	f := newFake()
	for i := range 100 {
		f.allow[fmt.Sprintf("alice get /secrets ns-%d", i)] = true
	}
	a := New(f.authorizer(), Options{}).For(as("alice")).Limit(16)
	for i := range 100 {
		ok, why := a.MayGet("", "secrets", fmt.Sprintf("ns-%d", i))
		if want := i < 16; ok != want {
			t.Fatalf("question %d: %v %q", i, ok, why)
		}
		if i == 16 && why != "not checked: too many namespaces in one request (access is checked for at most 16)" {
			t.Errorf("reason %q", why)
		}
	}
	if ok, _ := a.MayGet("", "secrets", "ns-3"); !ok {
		t.Error("a question asked before the limit lost its answer")
	}
	if n := f.calls.Load(); n != 16 {
		t.Errorf("%d authorizer calls, want 16", n)
	}
}

func TestAuthorizerErrorHidesAndIsNotCached(t *testing.T) {
	f := newFake("alice get storage.kubestash.com/backupstorages prod")
	f.err = errors.New("webhook down")
	c := New(f.authorizer(), Options{})
	ok, why := c.For(as("alice")).MayGet(sg, "backupstorages", "prod")
	if ok || why != "cannot tell whether you can get backupstorages in namespace prod" {
		t.Errorf("%v %q", ok, why)
	}
	f.err = nil
	if ok, _ := c.For(as("alice")).MayGet(sg, "backupstorages", "prod"); !ok {
		t.Error("an error was cached for the next request")
	}
}

func TestMayGetKind(t *testing.T) {
	f := newFake("alice get kubedb.com/mongodbs prod", "alice get apps/statefulsets prod", "alice get /persistentvolumeclaims prod")
	c := New(f.authorizer(), Options{Resource: func(gk schema.GroupKind) (string, bool) {
		return "statefulsets", gk == schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	}})
	a := c.For(as("alice"))
	for _, k := range [][2]string{{"kubedb.com", "MongoDB"}, {"apps", "StatefulSet"}, {"core", "PersistentVolumeClaim"}, {"", "PersistentVolumeClaim"}} {
		if ok, why := a.MayGetKind(k[0], k[1], "prod"); !ok {
			t.Errorf("%v: %q", k, why)
		}
	}
	if _, why := a.MayGetKind("kubedb.com", "Postgres", "prod"); why != "you cannot get postgreses.kubedb.com in namespace prod" {
		t.Errorf("reason %q", why)
	}
}

// view is a demo BackupConfiguration's view with a storage and policy in kubestash and one
// in its own namespace.
func view() *ui.BackupConfigurationView {
	ts := metav1.NewTime(time.Unix(1795000000, 0))
	return &ui.BackupConfigurationView{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mongodb-backup", ResourceVersion: "9"},
		Summary:    ui.Summary{BackupStorage: "demo/gcs, kubestash/s3", RetentionPolicy: "demo/keep, kubestash/keep-1mo", Target: "MongoDB demo/mongodb"},
		BackupStorages: []ui.BackupStorageRef{
			{Name: "gcs", Namespace: "demo", Found: true, Provider: "gcs", Size: "1 GiB", ConnectedRepositories: 1, Phase: "Ready", CreationTimestamp: &ts},
			{Name: "s3", Namespace: "kubestash", Found: true, Provider: "s3", Size: "9 GiB", ConnectedRepositories: 7, Phase: "Ready", CreationTimestamp: &ts},
		},
		RetentionPolicies: []ui.RetentionPolicyRef{
			{Name: "keep", Namespace: "demo", Found: true, MaxRetentionPeriod: "2mo", Annotations: map[string]string{"a": "b"}},
			{Name: "keep-1mo", Namespace: "kubestash", Found: true, MaxRetentionPeriod: "1mo", Default: true, Annotations: map[string]string{"owner": "platform"}, CreationTimestamp: &ts},
		},
		Target:       ui.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb", Found: true, CreationTimestamp: &ts},
		Repositories: []ui.RepositoryRef{{Name: "repo", Namespace: "demo", Found: true, Size: "1 KiB"}},
	}
}

func TestRedact(t *testing.T) {
	f := newFake("admin get storage.kubestash.com/backupstorages kubestash", "admin get storage.kubestash.com/retentionpolicies kubestash")
	c := New(f.authorizer(), Options{})
	v := view()
	orig := view()

	// Allowed, or in system:masters: the cached view itself.
	for _, ctx := range []context.Context{as("admin"), as("root", user.SystemPrivilegedGroup)} {
		if got := c.Redact(ctx)(v); got != v {
			t.Errorf("nothing to hide, but a copy was returned")
		}
	}
	// A view without references outside its namespace is never asked about.
	own := view()
	own.BackupStorages, own.RetentionPolicies = own.BackupStorages[:1], own.RetentionPolicies[:1]
	before := f.calls.Load()
	if got := c.Redact(as("alice"))(own); got != own {
		t.Error("own-namespace view copied")
	}
	if f.calls.Load() != before {
		t.Error("authorizer asked about a view with nothing outside its namespace")
	}

	got := c.Redact(as("alice"))(v)
	if got == v {
		t.Fatal("alice sees kubestash's details")
	}
	if !reflect.DeepEqual(v, orig) {
		t.Fatalf("the cached view was modified:\n%+v", v)
	}
	want := *orig
	want.BackupStorages = []ui.BackupStorageRef{orig.BackupStorages[0],
		{Name: "s3", Namespace: "kubestash", Restricted: "you cannot get backupstorages in namespace kubestash"}}
	want.RetentionPolicies = []ui.RetentionPolicyRef{orig.RetentionPolicies[0],
		{Name: "keep-1mo", Namespace: "kubestash", Restricted: "you cannot get retentionpolicies in namespace kubestash"}}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("redacted view:\n got %+v\nwant %+v", *got, want)
	}

	// A target in another namespace.
	v.Target.Namespace = "prod"
	got = c.Redact(as("admin"))(v)
	if got == v || got.Target != (ui.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "prod", Name: "mongodb",
		Restricted: "you cannot get mongodbs.kubedb.com in namespace prod"}) {
		t.Errorf("target elsewhere: %+v", got.Target)
	}
	if &got.BackupStorages[0] != &v.BackupStorages[0] {
		t.Error("lists with nothing hidden should be shared, not copied")
	}
}

// TestOneListAsksOncePerPair: a LIST of 10,000 views over 50 namespaces, all pointing at the
// same shared storage and policy, asks the authorizer twice.
func TestOneListAsksOncePerPair(t *testing.T) {
	f := newFake()
	c := New(f.authorizer(), Options{})
	views := manyViews(10000, true)
	redact := c.Redact(as("alice"))
	for _, v := range views {
		if r := redact(v); r == v || r.BackupStorages[0].Restricted == "" {
			t.Fatal("not redacted")
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d authorizer calls for one LIST, want 2", n)
	}
}

func manyViews(n int, shared bool) []*ui.BackupConfigurationView {
	out := make([]*ui.BackupConfigurationView, n)
	for i := range out {
		v := view()
		v.Namespace = fmt.Sprintf("team-%02d", i%50)
		v.Target.Namespace = v.Namespace
		v.BackupStorages = v.BackupStorages[1:]
		v.RetentionPolicies = v.RetentionPolicies[1:]
		if !shared {
			v.BackupStorages[0].Namespace, v.RetentionPolicies[0].Namespace = v.Namespace, v.Namespace
		}
		out[i] = v
	}
	return out
}

// A caller who may not get a BackupStorage elsewhere does not learn from the health that it
// is missing: that reason goes, and the clock-free verdict is what remains; a caller who may
// get it keeps both.
func TestRedactHealthOfMissingReference(t *testing.T) {
	v := view()
	v.BackupStorages[1].Found = false
	v.Health = ui.Health{Verdict: ui.VerdictInvalid, Reasons: []ui.HealthReason{
		{Type: ui.VerdictInvalid, Object: ui.TypedObjectReference{Kind: "BackupConfiguration", Namespace: "demo", Name: "mongodb-backup"},
			Field: "spec.backends[0].storageRef", Message: health.MissingMessage("BackupStorage", v.BackupStorages[1].Namespace, v.BackupStorages[1].Name)},
		{Type: ui.ReasonSkipped, Message: "skipped"},
	}}
	f := newFake("alice get storage.kubestash.com/backupstorages " + v.BackupStorages[1].Namespace)
	c := New(f.authorizer(), Options{})
	if got := c.Redact(as("alice"))(v); got.Health.Verdict != ui.VerdictInvalid || len(got.Health.Reasons) != 2 {
		t.Errorf("allowed caller: %+v", got.Health)
	}
	got := c.Redact(as("bob"))(v)
	if got.Health.Verdict != ui.VerdictHealthy || len(got.Health.Reasons) != 1 || got.Health.Reasons[0].Type != ui.ReasonSkipped {
		t.Errorf("restricted caller learns the storage is missing: %+v", got.Health)
	}
	if v.Health.Verdict != ui.VerdictInvalid || len(v.Health.Reasons) != 2 {
		t.Errorf("cached view modified: %+v", v.Health)
	}
}

// A BackupVerifier in another namespace keeps its details, and the reason its schedule
// supports, only for a caller who may get BackupVerifiers there; the verification's sessions
// and Snapshots, in the view's namespace, stay.
func TestRedactVerifierElsewhere(t *testing.T) {
	v := view()
	v.BackupStorages, v.RetentionPolicies = v.BackupStorages[:1], v.RetentionPolicies[:1]
	last := &ui.VerificationSessionRef{Name: "v-1", Phase: "Failed"}
	v.Repositories = []ui.RepositoryRef{{Name: "repo", Namespace: "demo", Found: true, Verification: &ui.RepositoryVerification{
		Verifier: ui.ObjectReference{Namespace: "verify", Name: "mongo"}, Found: true, Type: "RestoreOnly", Schedule: "@daily", LastSession: last}}}
	v.Health = ui.Health{Verdict: ui.VerdictVerificationFailing, Reasons: []ui.HealthReason{
		{Type: ui.VerdictVerificationFailing, Object: ui.TypedObjectReference{Kind: "BackupVerificationSession", Namespace: "demo", Name: "v-1"}},
		{Type: ui.VerdictVerificationFailing, Object: ui.TypedObjectReference{Kind: "BackupVerifier", Namespace: "verify", Name: "mongo"}, Message: "schedule @daily"},
	}}
	c := New(newFake("alice get core.kubestash.com/backupverifier verify").authorizer(), Options{})
	if got := c.Redact(as("alice"))(v); got != v {
		t.Errorf("alice may get the verifier, but got a copy")
	}
	got := c.Redact(as("bob"))(v)
	want := &ui.RepositoryVerification{Verifier: v.Repositories[0].Verification.Verifier, LastSession: last,
		Restricted: "you cannot get backupverifier in namespace verify"}
	if !reflect.DeepEqual(got.Repositories[0].Verification, want) {
		t.Errorf("bob's verification %+v, want %+v", got.Repositories[0].Verification, want)
	}
	if len(got.Health.Reasons) != 1 || got.Health.Reasons[0].Object.Kind != "BackupVerificationSession" || got.Health.Verdict != ui.VerdictVerificationFailing {
		t.Errorf("bob's health %+v", got.Health)
	}
	if !v.Repositories[0].Verification.Found || len(v.Health.Reasons) != 2 {
		t.Error("the cached view was modified")
	}
}
