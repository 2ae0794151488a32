package access

import (
	"testing"

	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// BenchmarkRedactList is the LIST path's cost of redaction: one op is one request's Redact
// over 10,000 views whose storage and policy are in the shared namespace kubestash.
//   - allowed: the caller may get them there (or is an admin): every view is returned as
//     cached, no allocation per view;
//   - restricted: the caller may not: every view is a shallow copy with two new slices;
//   - own-namespace: no reference leaves the view's namespace; the authorizer is never asked.
func BenchmarkRedactList(b *testing.B) {
	f := newFake("admin get storage.kubestash.com/backupstorages kubestash", "admin get storage.kubestash.com/retentionpolicies kubestash")
	c := New(f.authorizer(), Options{})
	for _, bc := range []struct {
		name   string
		user   string
		shared bool
	}{
		{"allowed", "admin", true},
		{"restricted", "alice", true},
		{"own-namespace", "alice", false},
	} {
		views := manyViews(10000, bc.shared)
		ctx := genericapirequest.WithRequestInfo(as(bc.user, "system:authenticated"), &genericapirequest.RequestInfo{Verb: "list", Resource: "backupconfigurationviews"})
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink *ui.BackupConfigurationView
			for b.Loop() {
				redact := c.Redact(ctx)
				for _, v := range views {
					sink = redact(v)
				}
			}
			_ = sink
		})
	}
}
