package sources

import (
	"os"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// The default form target kinds are exactly kinds the shipped server RBAC lets backupview list
// and watch: a default the RBAC does not cover would be a kind it can never read.
func TestDefaultFormTargetKindsAreInTheServerRBAC(t *testing.T) {
	b, err := os.ReadFile("../../deploy/rbac-server.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules []rbacv1.PolicyRule
	for _, doc := range strings.Split(string(b), "\n---") {
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatal(err)
		}
		if r.Kind == "ClusterRole" && r.Name == "backupview:server" {
			rules = r.Rules
		}
	}
	if len(rules) == 0 {
		t.Fatal("no backupview:server ClusterRole in deploy/rbac-server.yaml")
	}
	for _, k := range DefaultFormTargetKinds {
		gk := schema.ParseGroupKind(k)
		plural, _ := meta.UnsafeGuessKindToResource(gk.WithVersion("v1"))
		covered := false
		for _, r := range rules {
			if slices.Contains(r.APIGroups, gk.Group) && slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "watch") &&
				(slices.Contains(r.Resources, "*") || slices.Contains(r.Resources, plural.Resource)) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("default form target kind %s (%s) is not granted list and watch in deploy/rbac-server.yaml", k, plural.Resource)
		}
	}
}
