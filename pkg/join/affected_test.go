package join

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// referrers is an in-memory Referrers: each lookup answers from a map keyed by what it was
// asked, so a lookup of the wrong kind of reference answers nothing.
type referrers map[string][]string

func (r referrers) answer(q string) []string { return append([]string(nil), r[q]...) }

func (r referrers) BackupConfigurationsUsing(res schema.GroupVersionResource, ns, name string) []string {
	return r.answer("using " + res.Resource + " " + ns + "/" + name)
}
func (r referrers) BackupConfigurationsBackingUp(t kubestash.TypedRef) []string {
	return r.answer("target " + t.APIGroup + "/" + t.Kind + " " + t.Namespace + "/" + t.Name)
}
func (r referrers) BackupConfigurationsBackingUpKind(gk schema.GroupKind) []string {
	return r.answer("kind " + gk.Group + "/" + gk.Kind)
}
func (r referrers) BackupConfigurationsWithUID(ns string, uid types.UID) []string {
	return r.answer("uid " + ns + " " + string(uid))
}

func TestAffected(t *testing.T) {
	r := referrers{
		"using repositories prod/r1":        {"prod/b", "prod/a"},
		"using backupstorages kubestash/s3": {"demo/c", "prod/a"},
		"using retentionpolicies prod/keep": {"prod/a"},
		"uid prod uid-a":                    {"prod/a"},
		"target example.com/Widget demo/w1": {"demo/w"},
		"target example.com/Widget demo/w2": {"demo/v"},
		"kind example.com/Widget":           {"demo/v", "demo/w"},
		"target /Secret demo/enc":           {"demo/s"},
		"using repositories demo/r1":        {"demo/c"},
		"using backupstorages prod/unused":  nil,
		"target example.com/Gadget demo/w1": {"demo/g"},
		"kind example.com/Gadget":           {"demo/g"},
		"using backupverifier demo/check":   {"demo/c", "prod/a"},
	}
	m := func(ns, name string) kubestash.Meta { return kubestash.Meta{Namespace: ns, Name: name} }
	bcOwner := func(name, uid string) *metav1.OwnerReference {
		return &metav1.OwnerReference{APIVersion: "core.kubestash.com/v1alpha1", Kind: "BackupConfiguration", Name: name, UID: types.UID(uid)}
	}
	invoker := kubestash.InvokerOf("core.kubestash.com", "BackupConfiguration")
	bcKind := schema.GroupKind{Group: "core.kubestash.com", Kind: "BackupConfiguration"}
	widgets := schema.GroupKind{Group: "example.com", Kind: "Widget"}
	cases := []struct {
		name     string
		gk       schema.GroupKind
		old, obj interface{}
		want     string
	}{
		{"BackupConfiguration: its own view", bcKind, nil, &kubestash.BackupConfiguration{Meta: m("prod", "a")}, "[prod/a]"},
		{"BackupConfiguration updated: once", bcKind, &kubestash.BackupConfiguration{Meta: m("prod", "a")}, &kubestash.BackupConfiguration{Meta: m("prod", "a")}, "[prod/a]"},
		{"session by invoker", schema.GroupKind{}, nil, &kubestash.BackupSession{Meta: m("prod", "a-1"), Invoker: invoker, InvokerName: "a"}, "[prod/a]"},
		{"session by controller owner", schema.GroupKind{}, nil, &kubestash.BackupSession{Meta: m("prod", "b-1"), Controller: bcOwner("b", "uid-b")}, "[prod/b]"},
		{"session of no BackupConfiguration", schema.GroupKind{}, nil, &kubestash.BackupSession{Meta: m("prod", "x")}, "[]"},
		{"session moved to another invoker: both", schema.GroupKind{},
			&kubestash.BackupSession{Meta: m("prod", "s"), Invoker: invoker, InvokerName: "b"},
			&kubestash.BackupSession{Meta: m("prod", "s"), Invoker: invoker, InvokerName: "a"}, "[prod/a prod/b]"},
		{"repository: its users, sorted", schema.GroupKind{}, nil, &kubestash.Repository{Meta: m("prod", "r1")}, "[prod/a prod/b]"},
		{"storage", schema.GroupKind{}, nil, &kubestash.BackupStorage{Meta: m("kubestash", "s3")}, "[demo/c prod/a]"},
		{"storage no one uses", schema.GroupKind{}, nil, &kubestash.BackupStorage{Meta: m("prod", "unused")}, "[]"},
		{"retention policy", schema.GroupKind{}, nil, &kubestash.RetentionPolicy{Meta: m("prod", "keep")}, "[prod/a]"},
		{"addon: none", schema.GroupKind{}, nil, &kubestash.Addon{Meta: m("", "postgres-addon")}, "[]"},
		{"namespace: none", schema.GroupKind{Kind: "Namespace"}, nil, &kubestash.Namespace{Meta: m("", "prod")}, "[]"},
		{"cronjob by controller UID in its namespace", schema.GroupKind{}, nil, &kubestash.CronJob{Meta: m("prod", "trigger-a-full"), Controller: bcOwner("a", "uid-a")}, "[prod/a]"},
		{"cronjob owned from another namespace", schema.GroupKind{}, nil, &kubestash.CronJob{Meta: m("demo", "trigger-a-full"), Controller: bcOwner("a", "uid-a")}, "[]"},
		{"cronjob without a controller", schema.GroupKind{}, nil, &kubestash.CronJob{Meta: m("prod", "trigger-a-full")}, "[]"},
		{"snapshot: its repository's users in its namespace", schema.GroupKind{}, nil, &kubestash.Snapshot{Meta: m("demo", "s"), Repository: "r1"}, "[demo/c]"},
		{"snapshot without repository", schema.GroupKind{}, nil, &kubestash.Snapshot{Meta: m("demo", "s")}, "[]"},
		{"verifier: the BackupConfigurations naming it", schema.GroupKind{}, nil, &kubestash.BackupVerifier{Meta: m("demo", "check")}, "[demo/c prod/a]"},
		{"verification session: its invoker", schema.GroupKind{}, nil, &kubestash.BackupVerificationSession{Meta: m("prod", "v-1"), Invoker: "a"}, "[prod/a]"},
		{"verification session of no BackupConfiguration", schema.GroupKind{}, nil, &kubestash.BackupVerificationSession{Meta: m("prod", "v-2")}, "[]"},
		{"target: by the Change's kind", widgets, nil, &kubestash.Object{Meta: m("demo", "w1")}, "[demo/w]"},
		{"same name, another kind", schema.GroupKind{Group: "example.com", Kind: "Gadget"}, nil, &kubestash.Object{Meta: m("demo", "w1")}, "[demo/g]"},
		{"target updated: once", widgets, &kubestash.Object{Meta: m("demo", "w1")}, &kubestash.Object{Meta: m("demo", "w1")}, "[demo/w]"},
		{"target deleted (last state)", widgets, nil, &kubestash.Object{Meta: m("demo", "w2")}, "[demo/v]"},
		{"a Secret a BackupConfiguration backs up", schema.GroupKind{Kind: "Secret"}, nil, &kubestash.Object{Meta: m("demo", "enc")}, "[demo/s]"},
		{"target kind synced: every view backing it up", widgets, nil, nil, "[demo/v demo/w]"},
		{"an object of no known type", widgets, nil, "w1", "[]"},
	}
	for _, tc := range cases {
		if got := fmt.Sprint(Affected(r, tc.gk, tc.old, tc.obj)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
