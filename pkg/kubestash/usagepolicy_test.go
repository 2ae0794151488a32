package kubestash

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// The usagePolicy rule as KubeStash applies it (docs/design.md, "Form options"): no
// usagePolicy is Same; a usagePolicy without from, or a Selector that is absent or invalid,
// admits nothing.
func TestUsagePolicy(t *testing.T) {
	prod := map[string]string{"env": "prod"}
	for _, c := range []struct {
		name, yaml string
		own, ns    string
		labels     map[string]string
		want       bool
	}{
		{"absent is Same: own", `{spec: {}}`, "demo", "demo", nil, true},
		{"absent is Same: other", `{spec: {}}`, "kubestash", "demo", nil, false},
		{"Same: own", `{spec: {usagePolicy: {allowedNamespaces: {from: Same}}}}`, "demo", "demo", nil, true},
		{"Same: other", `{spec: {usagePolicy: {allowedNamespaces: {from: Same}}}}`, "kubestash", "demo", nil, false},
		{"All", `{spec: {usagePolicy: {allowedNamespaces: {from: All}}}}`, "kubestash", "demo", nil, true},
		{"no from admits nothing", `{spec: {usagePolicy: {}}}`, "demo", "demo", nil, false},
		{"Selector matches", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {env: prod}}}}}}`, "kubestash", "demo", prod, true},
		{"Selector does not match", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {env: prod}}}}}}`, "kubestash", "demo", map[string]string{"env": "dev"}, false},
		{"Selector expression", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchExpressions: [{key: env, operator: In, values: [prod, staging]}]}}}}}`, "kubestash", "demo", prod, true},
		{"Selector own namespace not matching", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: {env: prod}}}}}}`, "demo", "demo", nil, false},
		{"Selector absent", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector}}}}`, "kubestash", "demo", prod, false},
		{"Selector invalid operator", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchExpressions: [{key: env, operator: Near}]}}}}}`, "kubestash", "demo", prod, false},
		{"Selector wrongly typed", `{spec: {usagePolicy: {allowedNamespaces: {from: Selector, selector: {matchLabels: [env]}}}}}`, "kubestash", "demo", prod, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := parse(t, c.yaml)
			bs, rp := DecodeBackupStorage(o), DecodeRetentionPolicy(o)
			if got := bs.UsagePolicy.Allows(c.own, c.ns, c.labels); got != c.want {
				t.Errorf("BackupStorage: Allows = %v, want %v", got, c.want)
			}
			if got := rp.UsagePolicy.Allows(c.own, c.ns, c.labels); got != c.want {
				t.Errorf("RetentionPolicy: Allows = %v, want %v", got, c.want)
			}
		})
	}
}

// TestDenial: the wording of each usagePolicy refusal, shared by the options and the preview.
func TestDenial(t *testing.T) {
	sel := UsagePolicy{From: NamespacesFromSelector, Selector: labels.SelectorFromSet(labels.Set{"env": "prod"})}
	for _, c := range []struct {
		p    UsagePolicy
		ns   string
		l    map[string]string
		want string
	}{
		{UsagePolicy{From: NamespacesFromAll}, "demo", nil, ""},
		{UsagePolicy{From: NamespacesFromSame}, "kubestash", nil, ""},
		{UsagePolicy{From: NamespacesFromSame}, "demo", nil, "its usagePolicy.allowedNamespaces.from is Same: only BackupConfigurations in namespace kubestash may use it"},
		{sel, "demo", map[string]string{"env": "prod"}, ""},
		{sel, "demo", nil, "its usagePolicy.allowedNamespaces.from is Selector and the labels of namespace demo do not match the selector"},
		{UsagePolicy{}, "kubestash", nil, "its usagePolicy.allowedNamespaces.from is not set: no namespace may use it"},
	} {
		if got := c.p.Denial("kubestash", c.ns, c.l); got != c.want {
			t.Errorf("Denial(%+v, %s) = %q, want %q", c.p, c.ns, got, c.want)
		}
	}
}
