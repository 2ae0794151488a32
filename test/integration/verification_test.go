package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
)

// TestVerificationInTheView: a namespace user sees the demo's mongodb-repo verification (its
// BackupVerifier, the newest BackupVerificationSession, the last success and the newest
// Verified Snapshot) with the view's health Healthy; a newer verification that Failed appears
// live (watch), makes the view VerificationFailing with a reason naming it and its message,
// and shows in the metrics; deleting it restores the verdict.
func TestVerificationInTheView(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	verification := func(v *v1alpha1.BackupConfigurationView) *v1alpha1.RepositoryVerification {
		for _, r := range v.Repositories {
			if r.Name == "mongodb-repo" {
				return r.Verification
			}
		}
		return nil
	}
	kc := namespaceEditor(t, "vera")
	out, err := kubectlAs(kc, "get", "bcv", "-n", "demo", "mongodb-backup", "-o", "json")
	if err != nil {
		t.Fatal(err, out)
	}
	var v v1alpha1.BackupConfigurationView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	got := verification(&v)
	if got == nil || !got.Found || got.Verifier != (v1alpha1.ObjectReference{Namespace: "demo", Name: "mongodb-verifier"}) ||
		got.Type != "RestoreOnly" || got.Schedule != "0 5 * * *" {
		t.Fatalf("mongodb-repo's verification: %+v", got)
	}
	if s := got.LastSession; s == nil || s.Name != "mongodb-backup-verify-1795755600" || s.Phase != "Succeeded" || s.Duration != "1m12s" ||
		s.Snapshot != "mongodb-repo-mongodb-backup-full-backup-1795752000" {
		t.Errorf("last session: %+v", s)
	}
	if got.LastSuccessfulVerificationTime == nil || got.LastVerifiedSnapshot == nil || got.LastVerifiedSnapshot.Name != "mongodb-repo-mongodb-backup-full-backup-1795752000" {
		t.Errorf("last success %v, last verified snapshot %+v", got.LastSuccessfulVerificationTime, got.LastVerifiedSnapshot)
	}
	if v.Health.Verdict != v1alpha1.VerdictHealthy {
		t.Errorf("verdict %s with a passed newest verification: %+v", v.Health.Verdict, v.Health.Reasons)
	}

	w, err := bv.UiV1alpha1().BackupConfigurationViews("demo").Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=mongodb-backup", ResourceVersion: v.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const name = "mongodb-backup-verify-1795842000"
	sessions := dyn.Resource(kubestash.BackupVerificationSessions).Namespace("demo")
	created, err := sessions.Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "core.kubestash.com/v1alpha1", "kind": "BackupVerificationSession",
		"metadata": map[string]interface{}{"name": name, "namespace": "demo"},
		"spec": map[string]interface{}{"invoker": map[string]interface{}{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": "mongodb-backup"},
			"session": "full-backup", "repository": "mongodb-repo", "snapshot": "mongodb-repo-mongodb-backup-full-backup-1795752000"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sessions.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	created.Object["status"] = map[string]interface{}{"phase": "Failed", "duration": "40s", "conditions": []interface{}{
		map[string]interface{}{"type": "BackupVerified", "status": "False", "reason": "QueryFailed", "message": "query returned 0 documents",
			"lastTransitionTime": "2026-11-28T05:00:40Z"}}}
	if _, err := sessions.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, 10*time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		if s := verification(v).LastSession; s == nil || s.Name != name || s.Phase != "Failed" {
			return false
		}
		for _, r := range v.Health.Reasons {
			if r.Type == v1alpha1.VerdictVerificationFailing && r.Object.Kind == "BackupVerificationSession" && r.Object.Name == name &&
				strings.Contains(r.Message, "query returned 0 documents") && v.Health.Verdict == v1alpha1.VerdictVerificationFailing {
				return true
			}
		}
		t.Errorf("the failed verification is in the view without its verdict: %+v", v.Health)
		return true
	})

	promToken, _ := prometheusToken(t)
	prom := newScraper(t, promToken)
	if err := harness.Eventually(30*time.Second, func() error {
		mfs, err := prom.scrape()
		if err != nil {
			return err
		}
		s := seriesOf(mfs, "demo", "mongodb-backup")
		if s.values["health_verdict{verdict=VerificationFailing}"] != 1 {
			return fmt.Errorf("VerificationFailing series: %v", s.values)
		}
		if at := s.values["repository_last_verification_timestamp_seconds{repository=mongodb-repo}"]; at < float64(time.Now().Add(-time.Hour).Unix()) {
			return fmt.Errorf("last verification: %v, want the demo's load time", at)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := sessions.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, 10*time.Second, func(v *v1alpha1.BackupConfigurationView) bool {
		s := verification(v).LastSession
		return s != nil && s.Name == "mongodb-backup-verify-1795755600" && v.Health.Verdict == v1alpha1.VerdictHealthy
	})
}
