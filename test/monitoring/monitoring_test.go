// Package monitoring tests backupview's monitoring: the alert rules (the chart's
// files/rules.yaml, their one owner) with Prometheus's own promtool (`promtool check rules`,
// `promtool test rules` on files/rules_test.yaml), that the kustomize component's
// PrometheusRule (rendered from the chart by hack/update-deploy.sh) carries exactly the rules
// file's groups, that every metric the rules and the Grafana dashboard (files/dashboard.json)
// use is one backupview exports, that the ServiceMonitor fits the Service and the serving
// certificate, and that the kustomize component (deploy/monitoring) builds on the base.
// promtool and kubectl come from _output/bin (`make promtool control-plane`; `make test`
// builds both); a test that needs one skips without it, except under `make test`
// (BACKUPVIEW_INTEGRATION=1), where it fails.
package monitoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics/legacyregistry"
	"sigs.k8s.io/yaml"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/healthmetrics"
	"github.com/kubestash/backupview/pkg/metrics"
	"github.com/kubestash/backupview/pkg/sources"
	"github.com/kubestash/backupview/pkg/viewcache"
	"github.com/kubestash/backupview/test/harness"
)

var root = harness.RepoRoot()

// monitoring is a file of the kustomize component (rendered from the chart).
func monitoring(name string) string { return filepath.Join(root, "deploy", "monitoring", name) }

// chartFiles is the chart's files/ directory: the rules, their tests and the dashboard, each
// in one file that the chart reads (.Files.Get).
const chartFiles = "deploy/helm/backupview/files"

func chartFile(name string) string { return filepath.Join(root, chartFiles, name) }

// tool is _output/bin/NAME, or skips (fails under `make test`, which builds it) when absent.
func tool(t *testing.T, name, target string) string {
	t.Helper()
	p := filepath.Join(root, "_output", "bin", name)
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("%s is absent from _output/bin: run `make %s` (`make test` builds it)", name, target)
		if harness.Enabled() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The rules file as promtool reads it.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func rules(t *testing.T) ruleFile {
	var rf ruleFile
	readYAML(t, chartFile("rules.yaml"), &rf)
	return rf
}

func TestRulesWithPromtool(t *testing.T) {
	promtool := tool(t, "promtool", "promtool")
	t.Log(run(t, promtool, "check", "rules", chartFiles+"/rules.yaml"))
	t.Log(run(t, promtool, "test", "rules", chartFiles+"/rules_test.yaml"))
}

// Every alert docs/design.md ("Metrics") lists is there, with a summary and a description that name the
// BackupConfiguration and what to run next; and rules_test.yaml tests each alert both firing
// and not firing.
func TestEveryAlertIsDescribedAndTested(t *testing.T) {
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, chartFile("rules_test.yaml"), &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	var alerts []string
	for _, g := range rules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: rules_test.yaml tests it firing: %v, not firing: %v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: no severity or summary", r.Alert)
			}
			if r.Alert == "BackupviewMetricsAbsent" {
				continue
			}
			d := r.Annotations["description"]
			for _, want := range []string{
				"{{ $labels.namespace }}/{{ $labels.name }}",
				"kubectl get bcv -n {{ $labels.namespace }} {{ $labels.name }} -o yaml",
				"kubectl backupview describe -n {{ $labels.namespace }} {{ $labels.name }}",
			} {
				if !strings.Contains(d, want) {
					t.Errorf("%s: the description does not say %q: %s", r.Alert, want, d)
				}
			}
			if !strings.Contains(r.Annotations["summary"], "{{ $labels.namespace }}/{{ $labels.name }}") {
				t.Errorf("%s: the summary does not name the BackupConfiguration: %s", r.Alert, r.Annotations["summary"])
			}
		}
	}
	for _, want := range []string{"BackupOverdue", "BackupFailing", "BackupInvalid", "BackupNeverSucceeded", "BackupStuck", "BackupVerificationFailing"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s in rules.yaml (has %v)", want, alerts)
		}
	}
}

// The component's PrometheusRule is backupview's, carrying files/rules.yaml's groups exactly
// (both read as plain YAML values). The chart renders it (deploy/ is its rendering:
// hack/verify-deploy.sh and test/chart check that), so this is the chart's PrometheusRule too.
func TestPrometheusRuleMatchesRules(t *testing.T) {
	var rf map[string]any
	readYAML(t, chartFile("rules.yaml"), &rf)
	var pr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct{ Name, Namespace string }
		Spec       map[string]any `json:"spec"`
	}
	readYAML(t, monitoring("prometheusrule.yaml"), &pr)
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Metadata.Name != "backupview" || pr.Metadata.Namespace != "backupview" {
		t.Errorf("prometheusrule.yaml is %s %s %s/%s, want monitoring.coreos.com/v1 PrometheusRule backupview/backupview", pr.APIVersion, pr.Kind, pr.Metadata.Namespace, pr.Metadata.Name)
	}
	if rf["groups"] == nil || !reflect.DeepEqual(pr.Spec, map[string]any{"groups": rf["groups"]}) {
		gb, _ := json.MarshalIndent(pr.Spec, "", " ")
		wb, _ := json.MarshalIndent(rf["groups"], "", " ")
		t.Errorf("deploy/monitoring/prometheusrule.yaml is not files/rules.yaml's groups; run hack/update-deploy.sh\ngot:  %s\nwant groups: %s", gb, wb)
	}
}

// exported is every metric name backupview's /metrics has, with per-object series on: the
// server's own metrics and the health collector's, over a view with every series.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	exportOnce.Do(func() {
		at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		snaps := int32(3)
		v := &ui.BackupConfigurationView{
			ObjectMeta:   metav1.ObjectMeta{Namespace: "demo", Name: "mongodb-backup"},
			Target:       ui.TargetRef{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"},
			Repositories: []ui.RepositoryRef{{Name: "repo", Namespace: "demo", Found: true, Size: "1 KiB", SnapshotCount: &snaps}},
			Health: ui.Health{Verdict: "Healthy", LastSuccessfulBackupTime: &metav1.Time{Time: at},
				OverdueAfter: &metav1.Time{Time: at.Add(8 * time.Hour)}, LastSessionPhase: "Succeeded"},
		}
		snap := &viewcache.Snapshot[*ui.BackupConfigurationView]{Entries: []*viewcache.Entry[*ui.BackupConfigurationView]{{Key: "demo/mongodb-backup", Object: v}}}
		metrics.Register(oneSource{}, oneSource{})
		legacyregistry.CustomMustRegister(healthmetrics.New(fixed{snap}, healthmetrics.Options{PerObject: true}))
	})
	mfs, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

var exportOnce sync.Once

// oneSource is one synced source kind and one open watch, so that every series exists.
type oneSource struct{}

func (oneSource) Statuses() []sources.Status {
	return []sources.Status{{Resource: "backupconfigurations.core.kubestash.com", Installed: true, Synced: true, Objects: 1}}
}
func (oneSource) Watchers() int { return 1 }

type fixed struct {
	s *viewcache.Snapshot[*ui.BackupConfigurationView]
}

func (fixed) Ready() bool                                                 { return true }
func (f fixed) Current() *viewcache.Snapshot[*ui.BackupConfigurationView] { return f.s }

// metricName finds backupview's metric names in PromQL.
var metricName = regexp.MustCompile(`\bbackupview_[a-zA-Z0-9_]+`)

// The rules use only metrics backupview exports.
func TestRulesUseExportedMetrics(t *testing.T) {
	names := exported(t)
	used := 0
	for _, g := range rules(t).Groups {
		for _, r := range g.Rules {
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				used++
				if !names[m] {
					t.Errorf("%s uses %s, which backupview does not export", r.Alert, m)
				}
			}
		}
	}
	if used == 0 {
		t.Error("no backupview metric found in the rules")
	}
}

// The dashboard is Grafana JSON whose every query uses only metrics the collector exports,
// parses as PromQL (promtool, as recording rules, with its variables given values), and
// shows the verdicts, the time since the last success against the threshold, and the sizes.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(chartFile("dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard.json: uid %q, title %q, %d panels", d.UID, d.Title, len(d.Panels))
	}
	names := exported(t)
	var exprs []string
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if q.Expr == "" || q.RefID == "" {
				t.Errorf("panel %q: a query without expr or refId", p.Title)
			}
			exprs = append(exprs, q.Expr)
		}
	}
	usedCollector := map[string]bool{}
	for _, e := range exprs {
		for _, m := range metricName.FindAllString(e, -1) {
			if !names[m] || !strings.HasPrefix(m, "backupview_backupconfiguration") {
				t.Errorf("the dashboard uses %s, which the health collector does not export: %s", m, e)
			}
			usedCollector[m] = true
		}
	}
	for _, want := range []string{healthmetrics.HealthVerdictName, healthmetrics.LastSuccessName, healthmetrics.OverdueAfterName, healthmetrics.RepositorySizeName} {
		if !usedCollector[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}

	// Every query parses as PromQL: promtool checks them as recording rules.
	promtool := tool(t, "promtool", "promtool")
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rs []rule
	for i, e := range exprs {
		e = strings.NewReplacer("$namespace", ".*", "${namespace}", ".*").Replace(e)
		if strings.HasPrefix(e, "label_values(") { // Grafana's, not PromQL: its metric
			e = strings.TrimSpace(strings.SplitN(strings.TrimPrefix(e, "label_values("), ",", 2)[0])
		}
		rs = append(rs, rule{Record: fmt.Sprintf("dashboard:query%d", i), Expr: e})
	}
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rs}}})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(run(t, promtool, "check", "rules", f))
}

// The ServiceMonitor scrapes the Service's https port, verifies the serving certificate with
// the CA in its Secret for a name the certificate has, keeps the series' namespace label, and
// authenticates as Prometheus.
func TestServiceMonitorFitsTheDeployment(t *testing.T) {
	var sm struct {
		Metadata struct{ Namespace string } `json:"metadata"`
		Spec     struct {
			Selector          metav1.LabelSelector `json:"selector"`
			NamespaceSelector struct {
				MatchNames []string `json:"matchNames"`
			} `json:"namespaceSelector"`
			Endpoints []struct {
				Port, Scheme, Path, BearerTokenFile string
				HonorLabels                         bool `json:"honorLabels"`
				TLSConfig                           struct {
					CA struct {
						Secret struct{ Name, Key string } `json:"secret"`
					} `json:"ca"`
					ServerName string `json:"serverName"`
				} `json:"tlsConfig"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	readYAML(t, monitoring("servicemonitor.yaml"), &sm)
	var svc struct {
		Metadata struct {
			Namespace string
			Labels    map[string]string
		} `json:"metadata"`
		Spec struct {
			Ports []struct{ Name string } `json:"ports"`
		} `json:"spec"`
	}
	readYAML(t, filepath.Join(root, "deploy", "service.yaml"), &svc)
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s; the Service's labels are %v", k, v, svc.Metadata.Labels)
		}
	}
	if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, svc.Metadata.Namespace) {
		t.Errorf("the ServiceMonitor looks in %v, the Service is in %s", sm.Spec.NamespaceSelector.MatchNames, svc.Metadata.Namespace)
	}
	// The serving Certificate (cert-manager writes its CA into ca.crt of its Secret).
	certs, err := os.ReadFile(filepath.Join(root, "deploy", "certificates.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var secretName string
	var dnsNames []string
	for _, doc := range strings.Split(string(certs), "\n---\n") {
		var c struct {
			Kind     string `json:"kind"`
			Metadata struct{ Name string }
			Spec     struct {
				SecretName string   `json:"secretName"`
				DNSNames   []string `json:"dnsNames"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
			t.Fatal(err)
		}
		if c.Kind == "Certificate" && len(c.Spec.DNSNames) > 0 {
			secretName, dnsNames = c.Spec.SecretName, c.Spec.DNSNames
		}
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints, want 1", len(sm.Spec.Endpoints))
	}
	e := sm.Spec.Endpoints[0]
	if !slices.ContainsFunc(svc.Spec.Ports, func(p struct{ Name string }) bool { return p.Name == e.Port }) {
		t.Errorf("port %q is not one of the Service's: %v", e.Port, svc.Spec.Ports)
	}
	if e.Scheme != "https" || e.Path != "/metrics" || !e.HonorLabels || e.BearerTokenFile == "" {
		t.Errorf("endpoint: scheme %q path %q honorLabels %v bearerTokenFile %q; want https, /metrics, true and the ServiceAccount token", e.Scheme, e.Path, e.HonorLabels, e.BearerTokenFile)
	}
	if e.TLSConfig.CA.Secret.Name != secretName || e.TLSConfig.CA.Secret.Key != "ca.crt" || !slices.Contains(dnsNames, e.TLSConfig.ServerName) {
		t.Errorf("tlsConfig: CA %s/%s for %q; the serving certificate is Secret %s (ca.crt) for %v", e.TLSConfig.CA.Secret.Name, e.TLSConfig.CA.Secret.Key, e.TLSConfig.ServerName, secretName, dnsNames)
	}
}

// The component builds on the base with kubectl's kustomize, adding exactly the
// ServiceMonitor, the PrometheusRule, the metrics RBAC and the dashboard ConfigMap (with the
// dashboard JSON as it is in the repository).
func TestComponentBuildsOnTheBase(t *testing.T) {
	kubectl := tool(t, "kubectl", "control-plane")
	dir := t.TempDir()
	// kustomize takes only relative paths to other kustomizations.
	rel := func(p string) string {
		r, err := filepath.Rel(dir, filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	overlay := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\ncomponents:\n- %s\n", rel("deploy"), rel("deploy/monitoring"))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	kinds := func(out string) []string {
		var ks []string
		for _, doc := range strings.Split(out, "\n---\n") {
			var o struct {
				Kind     string `json:"kind"`
				Metadata struct{ Name string }
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatal(err)
			}
			ks = append(ks, o.Kind+"/"+o.Metadata.Name)
		}
		sort.Strings(ks)
		return ks
	}
	base := kinds(run(t, kubectl, "kustomize", filepath.Join(root, "deploy")))
	out := run(t, kubectl, "kustomize", dir)
	var added []string
	for _, k := range kinds(out) {
		if !slices.Contains(base, k) {
			added = append(added, k)
		}
	}
	want := []string{"ClusterRole/backupview:metrics-reader", "ClusterRoleBinding/backupview:metrics-reader", "ConfigMap/backupview-dashboard", "PrometheusRule/backupview", "ServiceMonitor/backupview"}
	if !reflect.DeepEqual(added, want) {
		t.Errorf("the component adds %v, want %v", added, want)
	}
	dash, err := os.ReadFile(chartFile("dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(out, "\n---\n") {
		var cm struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name, Namespace string
				Labels          map[string]string
			}
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Kind == "ConfigMap" && cm.Metadata.Name == "backupview-dashboard" {
			if cm.Data["backupview.json"] != string(dash) || cm.Metadata.Labels["grafana_dashboard"] != "1" || cm.Metadata.Namespace != "backupview" {
				t.Errorf("the dashboard ConfigMap: namespace %q labels %v, data equal to dashboard.json: %v", cm.Metadata.Namespace, cm.Metadata.Labels, cm.Data["backupview.json"] == string(dash))
			}
		}
	}
}
