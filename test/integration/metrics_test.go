package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/healthmetrics"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
)

// scraper gets backupview's /metrics as Prometheus does: straight to the server's port (as
// to a pod), verifying its serving certificate, with a ServiceAccount's bearer token.
type scraper struct {
	url   string
	token string
	hc    *http.Client
}

func newScraper(t *testing.T, token string) *scraper {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(dir, "pki", "backupview-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &scraper{url: fmt.Sprintf("https://127.0.0.1:%d/metrics", c.Ports.Server), token: token,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// get returns the status and body of one scrape.
func (s *scraper) get() (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, s.url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	r, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r.StatusCode, b, err
}

// scrape parses one scrape with Prometheus's text parser.
func (s *scraper) scrape() (map[string]*dto.MetricFamily, error) {
	code, body, err := s.get()
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %d %.300s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(string(body)))
}

// bcSeries are one BackupConfiguration's series of a scrape: metric name plus its extra
// label's value ("verdict=Paused", or "" for none) -> value; and the target labels it carries.
type bcSeries struct {
	values map[string]float64
	target map[string]string
}

func seriesOf(mfs map[string]*dto.MetricFamily, ns, name string) bcSeries {
	s := bcSeries{values: map[string]float64{}, target: map[string]string{}}
	for fam, mf := range mfs {
		if !strings.HasPrefix(fam, healthmetrics.Prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			ls := map[string]string{}
			extra := ""
			for _, lp := range m.GetLabel() {
				ls[lp.GetName()] = lp.GetValue()
				switch lp.GetName() {
				case "verdict", "phase", "repository":
					extra = lp.GetName() + "=" + lp.GetValue()
				}
			}
			if ls["namespace"] != ns || ls["name"] != name {
				continue
			}
			for _, k := range []string{"target_group", "target_kind", "target_namespace", "target_name"} {
				s.target[k] = ls[k]
			}
			key := strings.TrimPrefix(fam, healthmetrics.Prefix)
			if extra != "" {
				key += "{" + extra + "}"
			}
			s.values[key] = m.GetGauge().GetValue()
		}
	}
	return s
}

// prometheusToken sets up what deploy/monitoring/rbac.yaml expects, Prometheus's
// ServiceAccount monitoring/prometheus-k8s, applies that file, and returns a token of the
// ServiceAccount; and one of another ServiceAccount, which the file does not bind.
func prometheusToken(t *testing.T) (prometheus, other string) {
	t.Helper()
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if out, err := kubectl("apply", "-f", filepath.Join(root, "deploy", "monitoring", "rbac.yaml")); err != nil {
		t.Fatalf("kubectl apply -f deploy/monitoring/rbac.yaml: %v\n%s", err, out)
	}
	token := func(name string) string {
		if _, err := kube.CoreV1().ServiceAccounts("monitoring").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		tr, err := kube.CoreV1().ServiceAccounts("monitoring").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	return token("prometheus-k8s"), token("grafana")
}

// TestMetrics scrapes /metrics as Prometheus's ServiceAccount with deploy/monitoring's RBAC,
// parses it with Prometheus's text parser, and checks every demo BackupConfiguration's
// series against its view and the demo's documented verdicts; then pauses one and sees its
// series follow.
func TestMetrics(t *testing.T) {
	need(t)
	ctx := context.Background()
	promToken, otherToken := prometheusToken(t)

	// Without the binding: 403 (backupview asked kube-apiserver, which said no).
	if code, body, err := newScraper(t, otherToken).get(); err != nil || code != http.StatusForbidden {
		t.Errorf("/metrics as a ServiceAccount without deploy/monitoring/rbac.yaml's binding: %d %v %.200s, want 403", code, err, body)
	}
	prom := newScraper(t, promToken)
	var mfs map[string]*dto.MetricFamily
	// The binding may take a moment to reach kube-apiserver's authorizer cache.
	if err := harness.Eventually(30*time.Second, func() (err error) { mfs, err = prom.scrape(); return err }); err != nil {
		t.Fatalf("/metrics as monitoring/prometheus-k8s: %v", err)
	}
	l, err := bv.UiV1alpha1().BackupConfigurationViews("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]*v1alpha1.BackupConfigurationView{}
	for i := range l.Items {
		views[l.Items[i].Namespace+"/"+l.Items[i].Name] = &l.Items[i]
	}
	for _, key := range samples {
		ns, name, _ := strings.Cut(key, "/")
		v := views[key]
		if v == nil {
			t.Fatalf("no view %s", key)
		}
		s := seriesOf(mfs, ns, name)
		t.Logf("%s: %v %v", key, s.target, s.values)
		checkSeries(t, key, s, v, verdicts[key][0])
	}
	// Fixed facts of the demo (hack/demo/samples.yaml), beyond agreeing with the views.
	mongo := seriesOf(mfs, "demo", "mongodb-backup")
	for k, want := range map[string]float64{
		"repository_size_bytes{repository=mongodb-repo}": 9263, // 9.046 KiB
		"repository_snapshots{repository=mongodb-repo}":  4,
		"last_session_phase{phase=Succeeded}":            1,
		"paused":                                         0,
	} {
		if got, ok := mongo.values[k]; !ok || got != want {
			t.Errorf("demo/mongodb-backup %s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if tg := mongo.target; tg["target_group"] != "kubedb.com" || tg["target_kind"] != "MongoDB" || tg["target_namespace"] != "demo" || tg["target_name"] != "mongodb" {
		t.Errorf("demo/mongodb-backup target labels %v", tg)
	}
	if orders := seriesOf(mfs, "prod", "orders-db-backup"); hasPrefix(orders.values, "repository_") {
		t.Errorf("prod/orders-db-backup's Repository does not exist, yet it has series %v", orders.values)
	}
	// The counts per verdict add up to the views.
	total := 0.0
	for _, m := range mfs[healthmetrics.CountName].GetMetric() {
		total += m.GetGauge().GetValue()
	}
	if int(total) != len(l.Items) {
		t.Errorf("%s adds up to %v, there are %d views", healthmetrics.CountName, total, len(l.Items))
	}

	// A change: pause demo/mongodb-backup; its series follow on the next scrape.
	pause := func(paused bool) {
		t.Helper()
		patch := fmt.Sprintf(`{"spec":{"paused":%t}}`, paused)
		if _, err := dyn.Resource(kubestash.BackupConfigurations).Namespace("demo").Patch(ctx, "mongodb-backup", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, ok func(bcSeries) error) {
		t.Helper()
		if err := harness.Eventually(15*time.Second, func() error {
			mfs, err := prom.scrape()
			if err != nil {
				return err
			}
			return ok(seriesOf(mfs, "demo", "mongodb-backup"))
		}); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	pause(true)
	t.Cleanup(func() {
		pause(false)
		waitFor("resumed", func(s bcSeries) error {
			if s.values["paused"] != 0 || s.values["health_verdict{verdict=Healthy}"] != 1 {
				return fmt.Errorf("%v", s.values)
			}
			return nil
		})
	})
	waitFor("paused", func(s bcSeries) error {
		if s.values["paused"] != 1 || s.values["health_verdict{verdict=Paused}"] != 1 || s.values["health_verdict{verdict=Healthy}"] != 0 {
			return fmt.Errorf("paused %v, Paused %v, Healthy %v", s.values["paused"], s.values["health_verdict{verdict=Paused}"], s.values["health_verdict{verdict=Healthy}"])
		}
		if _, ok := s.values["overdue_after_timestamp_seconds"]; ok {
			return fmt.Errorf("a paused BackupConfiguration still has an overdue threshold")
		}
		return nil
	})
}

// checkSeries: one BackupConfiguration's series say what its view says, with verdict now.
func checkSeries(t *testing.T, key string, s bcSeries, v *v1alpha1.BackupConfigurationView, verdict string) {
	t.Helper()
	for _, vd := range healthmetrics.Verdicts {
		want := 0.0
		if vd == verdict {
			want = 1
		}
		if got, ok := s.values["health_verdict{verdict="+vd+"}"]; !ok || got != want {
			t.Errorf("%s: health_verdict{verdict=%s} = %v (present %v), want %v", key, vd, got, ok, want)
		}
	}
	paused := 0.0
	if v.Basic.Paused {
		paused = 1
	}
	if got := s.values["paused"]; got != paused {
		t.Errorf("%s: paused %v, want %v", key, got, paused)
	}
	stamp := func(name string, want *metav1.Time) {
		got, ok := s.values[name]
		switch {
		case want == nil && ok:
			t.Errorf("%s: %s = %v, but the view has none", key, name, got)
		case want != nil && (!ok || math.Abs(got-float64(want.Unix())) >= 1): // the view's JSON has whole seconds
			t.Errorf("%s: %s = %v (present %v), want %d (%s)", key, name, got, ok, want.Unix(), want.UTC().Format(time.RFC3339))
		}
	}
	stamp("last_success_timestamp_seconds", v.Health.LastSuccessfulBackupTime)
	stamp("overdue_after_timestamp_seconds", v.Health.OverdueAfter)
	for _, p := range healthmetrics.SessionPhases {
		want := 0.0
		if p == v.Health.LastSessionPhase {
			want = 1
		}
		if got := s.values["last_session_phase{phase="+p+"}"]; got != want {
			t.Errorf("%s: last_session_phase{phase=%s} = %v, want %v (newest session %q)", key, p, got, want, v.Health.LastSessionPhase)
		}
	}
	for _, r := range v.Repositories {
		size, sized := healthmetrics.ParseSize(r.Size)
		got, ok := s.values["repository_size_bytes{repository="+r.Name+"}"]
		if ok != (r.Found && sized) || ok && got != size {
			t.Errorf("%s: repository %s size %v (present %v), view %q found %v", key, r.Name, got, ok, r.Size, r.Found)
		}
		got, ok = s.values["repository_snapshots{repository="+r.Name+"}"]
		if ok != (r.Found && r.SnapshotCount != nil) || ok && got != float64(*r.SnapshotCount) {
			t.Errorf("%s: repository %s snapshots %v (present %v), view %v found %v", key, r.Name, got, ok, r.SnapshotCount, r.Found)
		}
	}
	if s.target["target_kind"] != v.Target.Kind || s.target["target_name"] != v.Target.Name || s.target["target_namespace"] != v.Target.Namespace {
		t.Errorf("%s: target labels %v, view target %+v", key, s.target, v.Target)
	}
}

func hasPrefix(m map[string]float64, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
