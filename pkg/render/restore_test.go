package render

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	"github.com/kubestash/backupview/pkg/kubestash"
)

// validRestore is the restore form of docs/design.md ("Restore preview"): a fresh copy each call.
func validRestore() *ui.RestoreSessionPreview {
	return &ui.RestoreSessionPreview{
		ObjectMeta: metav1.ObjectMeta{Name: "mongodb-restore", Namespace: "demo"},
		Spec: ui.RestorePreviewSpec{
			Repository: ui.ObjectReference{Name: "mongodb-repo"},
			Snapshot:   SnapshotLatest,
			Components: []string{"dump"},
			Target:     ui.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Name: "mongodb"},
			Addon: ui.RestoreAddon{Name: "mongodb-addon", Tasks: []ui.RestoreTask{{
				Name: "logical-backup-restore", Params: raw(`{"args":"--drop"}`),
			}}},
			EncryptionSecret: &ui.ObjectReference{Name: "encrypt-secret"},
			RestoreTimeout:   &metav1.Duration{Duration: 30 * time.Minute},
		},
	}
}

const wantRestoreYAML = `apiVersion: core.kubestash.com/v1alpha1
kind: RestoreSession
metadata:
  name: mongodb-restore
  namespace: demo
spec:
  addon:
    name: mongodb-addon
    tasks:
    - name: logical-backup-restore
      params:
        args: --drop
  dataSource:
    components:
    - dump
    encryptionSecret:
      name: encrypt-secret
      namespace: demo
    namespace: demo
    repository: mongodb-repo
    snapshot: latest
  restoreTimeout: 30m0s
  target:
    apiGroup: kubedb.com
    kind: MongoDB
    name: mongodb
    namespace: demo
`

func TestRenderRestore(t *testing.T) {
	m, errs := RenderRestore(validRestore())
	if len(errs) > 0 {
		t.Fatal(errString(errs))
	}
	if m.YAML != wantRestoreYAML {
		t.Errorf("got:\n%s\nwant:\n%s", m.YAML, wantRestoreYAML)
	}
	var back map[string]interface{}
	if err := yaml.Unmarshal([]byte(m.YAML), &back); err != nil {
		t.Fatal(err)
	}

	// A point in time replaces snapshot; no target and no repository namespace are fine.
	p := validRestore()
	p.Spec.Snapshot = ""
	p.Spec.PITR = &ui.PointInTime{TargetTime: ptime("2026-12-07T10:00:00+01:00"), Exclusive: true}
	p.Spec.Target = ui.TypedObjectReference{}
	p.Spec.Repository.Namespace = "backups"
	m, errs = RenderRestore(p)
	if len(errs) > 0 {
		t.Fatal(errString(errs))
	}
	ds := m.Object["spec"].(map[string]interface{})["dataSource"].(map[string]interface{})
	want := map[string]interface{}{"targetTime": "2026-12-07T09:00:00Z", "exclusive": true}
	if !reflect.DeepEqual(ds["pitr"], want) || ds["snapshot"] != nil || ds["namespace"] != "backups" {
		t.Errorf("dataSource: %v", ds)
	}
	if _, has := m.Object["spec"].(map[string]interface{})["target"]; has {
		t.Errorf("a form without target rendered one: %v", m.Object["spec"])
	}
}

func ptime(s string) *metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &metav1.Time{Time: t}
}

// TestRestoreManifestMatchesCRD: every rendered variant passes the upstream RestoreSession
// schema as strict field validation reads it.
func TestRestoreManifestMatchesCRD(t *testing.T) {
	schema := restoreCRDSchema(t)
	variants := map[string]func(*ui.RestoreSessionPreview){
		"latest":  func(*ui.RestoreSessionPreview) {},
		"by name": func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot = "mongodb-repo-full-backup-1733565600" },
		"pitr": func(p *ui.RestoreSessionPreview) {
			p.Spec.Snapshot, p.Spec.PITR = "", &ui.PointInTime{TargetTime: ptime("2026-12-07T10:00:00Z")}
		},
		"minimal": func(p *ui.RestoreSessionPreview) {
			p.Spec.Target, p.Spec.Components, p.Spec.EncryptionSecret, p.Spec.RestoreTimeout = ui.TypedObjectReference{}, nil, nil, nil
		},
		"labelled": func(p *ui.RestoreSessionPreview) {
			p.Spec.Labels, p.Spec.Annotations = map[string]string{"a": "b"}, map[string]string{"c": "d"}
		},
		"params text": func(p *ui.RestoreSessionPreview) {
			p.Spec.Addon.Tasks = append(p.Spec.Addon.Tasks, ui.RestoreTask{Name: "manifest-restore", ParamsText: "n: 5\nlist: [1, 2.5]\n"})
		},
	}
	for name, mutate := range variants {
		p := validRestore()
		mutate(p)
		m, errs := RenderRestore(p)
		if len(errs) > 0 {
			t.Fatalf("%s: %s", name, errString(errs))
		}
		if e := schemaErrors("", m.Object, schema); len(e) > 0 {
			t.Errorf("%s: %s\n%s", name, strings.Join(e, "\n"), m.YAML)
		}
	}
}

func restoreCRDSchema(t *testing.T) map[string]interface{} {
	t.Helper()
	s, skip := loadRestoreCRD()
	if s == nil {
		t.Skip(skip)
	}
	return s
}

// loadRestoreCRD returns the upstream RestoreSession v1alpha1 schema, or nil and why not.
func loadRestoreCRD() (map[string]interface{}, string) {
	dir := os.Getenv("BACKUPVIEW_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	file := filepath.Join(dir, "kubestash-crds", "core.kubestash.com_restoresessions.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Sprintf("skipping the CRD schema check: %v (set BACKUPVIEW_SHARED to the shared folder)", err)
	}
	var obj struct {
		Spec struct {
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema map[string]interface{} `json:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Sprintf("cannot parse %s: %v", file, err)
	}
	for _, v := range obj.Spec.Versions {
		if v.Name == "v1alpha1" {
			return v.Schema.OpenAPIV3Schema, ""
		}
	}
	return nil, "no v1alpha1 schema in " + file
}

// TestRestoreValidation: each rule reports its own path and nothing else.
func TestRestoreValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*ui.RestoreSessionPreview)
		path   string
		typ    field.ErrorType
	}{
		{"no name", func(p *ui.RestoreSessionPreview) { p.Name = "" }, "metadata.name", field.ErrorTypeRequired},
		{"bad name", func(p *ui.RestoreSessionPreview) { p.Name = "Mongo" }, "metadata.name", field.ErrorTypeInvalid},
		{"no snapshot nor pitr", func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot = "" }, "spec.snapshot", field.ErrorTypeRequired},
		{"both snapshot and pitr", func(p *ui.RestoreSessionPreview) {
			p.Spec.PITR = &ui.PointInTime{TargetTime: ptime("2026-12-07T10:00:00Z")}
		}, "spec.pitr", field.ErrorTypeForbidden},
		{"latest without repository", func(p *ui.RestoreSessionPreview) { p.Spec.Repository.Name = "" }, "spec.repository.name", field.ErrorTypeRequired},
		{"pitr without repository", func(p *ui.RestoreSessionPreview) {
			p.Spec.Snapshot, p.Spec.Repository.Name = "", ""
			p.Spec.PITR = &ui.PointInTime{TargetTime: ptime("2026-12-07T10:00:00Z")}
		}, "spec.repository.name", field.ErrorTypeRequired},
		{"pitr without time", func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot, p.Spec.PITR = "", &ui.PointInTime{} }, "spec.pitr.targetTime", field.ErrorTypeRequired},
		{"bad snapshot name", func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot = "Snap_1" }, "spec.snapshot", field.ErrorTypeInvalid},
		{"repository namespace only", func(p *ui.RestoreSessionPreview) {
			p.Spec.Snapshot, p.Spec.Repository = "snap-1", ui.ObjectReference{Namespace: "demo"}
		}, "spec.repository.name", field.ErrorTypeRequired},
		{"bad repository", func(p *ui.RestoreSessionPreview) { p.Spec.Repository.Name = "Repo" }, "spec.repository.name", field.ErrorTypeInvalid},
		{"empty component", func(p *ui.RestoreSessionPreview) { p.Spec.Components = []string{"dump", ""} }, "spec.components[1]", field.ErrorTypeRequired},
		{"bad component", func(p *ui.RestoreSessionPreview) { p.Spec.Components = []string{"a/b"} }, "spec.components[0]", field.ErrorTypeInvalid},
		{"duplicate component", func(p *ui.RestoreSessionPreview) { p.Spec.Components = []string{"dump", "dump"} }, "spec.components[1]", field.ErrorTypeDuplicate},
		{"too many components", func(p *ui.RestoreSessionPreview) {
			p.Spec.Components = nil
			for i := range MaxComponents + 1 {
				p.Spec.Components = append(p.Spec.Components, fmt.Sprint("c", i))
			}
		}, "spec.components", field.ErrorTypeTooMany},
		{"target without name", func(p *ui.RestoreSessionPreview) { p.Spec.Target.Name = "" }, "spec.target.name", field.ErrorTypeRequired},
		{"target without kind", func(p *ui.RestoreSessionPreview) { p.Spec.Target.Kind = "" }, "spec.target.kind", field.ErrorTypeRequired},
		{"no addon", func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Name = "" }, "spec.addon.name", field.ErrorTypeRequired},
		{"no tasks", func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Tasks = nil }, "spec.addon.tasks", field.ErrorTypeRequired},
		{"task without name", func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Tasks[0].Name = "" }, "spec.addon.tasks[0].name", field.ErrorTypeRequired},
		{"duplicate task", func(p *ui.RestoreSessionPreview) {
			p.Spec.Addon.Tasks = append(p.Spec.Addon.Tasks, ui.RestoreTask{Name: "logical-backup-restore"})
		}, "spec.addon.tasks[1].name", field.ErrorTypeDuplicate},
		{"params and text", func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Tasks[0].ParamsText = "a: b" }, "spec.addon.tasks[0].paramsText", field.ErrorTypeForbidden},
		{"params a list", func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Tasks[0].Params = raw(`[1]`) }, "spec.addon.tasks[0].params", field.ErrorTypeInvalid},
		{"anchors", func(p *ui.RestoreSessionPreview) {
			p.Spec.Addon.Tasks[0].Params, p.Spec.Addon.Tasks[0].ParamsText = nil, "a: &x 1\nb: *x\n"
		}, "spec.addon.tasks[0].paramsText", field.ErrorTypeInvalid},
		{"secret without name", func(p *ui.RestoreSessionPreview) { p.Spec.EncryptionSecret = &ui.ObjectReference{Namespace: "demo"} }, "spec.encryptionSecret.name", field.ErrorTypeRequired},
		{"zero timeout", func(p *ui.RestoreSessionPreview) { p.Spec.RestoreTimeout = &metav1.Duration{} }, "spec.restoreTimeout", field.ErrorTypeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validRestore()
			tc.mutate(p)
			onlyAt(t, ValidateRestore(p), tc.path, tc.typ)
			if m, errs := RenderRestore(p); m != nil || len(errs) == 0 {
				t.Error("rendered an invalid form")
			}
		})
	}
}

// TestRestoreValidationNamesEveryField: one answer lists every bad field.
func TestRestoreValidationNamesEveryField(t *testing.T) {
	p := &ui.RestoreSessionPreview{Spec: ui.RestorePreviewSpec{
		Snapshot:   SnapshotLatest,
		Components: []string{""},
		Addon:      ui.RestoreAddon{Tasks: []ui.RestoreTask{{ParamsText: "[1]"}}},
	}}
	var got []string
	for _, e := range ValidateRestore(p) {
		got = append(got, e.Field)
	}
	want := []string{"metadata.name", "metadata.namespace", "spec.repository.name", "spec.components[0]",
		"spec.addon.name", "spec.addon.tasks[0].name", "spec.addon.tasks[0].paramsText"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	if errs := ValidateRestore(nil); len(errs) == 0 {
		t.Error("a nil form is valid")
	}
}

// fakeRestore is fakeCluster with repositories and snapshots (newest first per repository).
type fakeRestore struct {
	*fakeCluster
	repos     map[string]*kubestash.TypedRef // "ns/name"
	snapshots map[string][]SnapshotFact      // "ns/repository"; nil: not read
}

func newFakeRestore() *fakeRestore {
	return &fakeRestore{
		fakeCluster: newFakeCluster(),
		repos: map[string]*kubestash.TypedRef{
			"demo/mongodb-repo": {APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "demo", Name: "mongodb"},
			"prod/prod-repo":    {APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "prod", Name: "mongodb"},
		},
		snapshots: map[string][]SnapshotFact{
			"demo/mongodb-repo": {
				{Name: "snap-3", Repository: "mongodb-repo", Time: ptime("2026-12-07T12:00:00Z"), Phase: "Succeeded", Size: "3 MiB", VerificationStatus: "Verified", Components: []string{"dump"}},
				{Name: "snap-2", Repository: "mongodb-repo", Time: ptime("2026-12-07T10:00:00Z"), Phase: "Failed", Size: "1 MiB", Components: []string{"dump"}},
				{Name: "snap-1", Repository: "mongodb-repo", Time: ptime("2026-12-07T08:00:00Z"), Phase: "Succeeded", VerificationStatus: "VerificationFailed", Components: []string{"dump", "manifest"}},
			},
			"prod/prod-repo": {{Name: "prod-snap", Repository: "prod-repo", Time: ptime("2026-12-07T09:00:00Z"), Phase: "Succeeded", Components: []string{"dump"}}},
		},
	}
}

func (f *fakeRestore) Repository(ns, name string) (*kubestash.TypedRef, bool) {
	r, ok := f.repos[ns+"/"+name]
	return r, ok
}
func (f *fakeRestore) Snapshots(ns, repo string) ([]SnapshotFact, bool) {
	if f.snapshots == nil {
		return nil, false
	}
	return f.snapshots[ns+"/"+repo], true
}
func (f *fakeRestore) Snapshot(ns, name string) (SnapshotFact, bool, bool) {
	if f.snapshots == nil {
		return SnapshotFact{}, false, false
	}
	for key, l := range f.snapshots {
		for _, s := range l {
			if strings.HasPrefix(key, ns+"/") && s.Name == name {
				return s, true, true
			}
		}
	}
	return SnapshotFact{}, false, true
}

func TestRestoreWarnings(t *testing.T) {
	pitr := func(at string, exclusive bool) func(*ui.RestoreSessionPreview) {
		return func(p *ui.RestoreSessionPreview) {
			p.Spec.Snapshot, p.Spec.PITR = "", &ui.PointInTime{TargetTime: ptime(at), Exclusive: exclusive}
		}
	}
	for _, tc := range []struct {
		name     string
		mutate   func(*ui.RestoreSessionPreview)
		cluster  func(*fakeRestore)
		want     []string
		resolved string
	}{
		{name: "latest resolves to the newest", resolved: "snap-3",
			want: []string{"target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data"}},
		{name: "by name, failed", mutate: func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot = "snap-2" }, resolved: "snap-2",
			want: []string{"Snapshot demo/snap-2 is Failed, not Succeeded: restoring it may fail or restore incomplete data"}},
		{name: "by name, failed verification, component missing", mutate: func(p *ui.RestoreSessionPreview) {
			p.Spec.Snapshot, p.Spec.Components = "snap-3", []string{"dump", "wal"}
		}, resolved: "snap-3", want: []string{"component wal is not in Snapshot demo/snap-3; its components are: dump"}},
		{name: "verification failed", mutate: func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot = "snap-1" }, resolved: "snap-1",
			want: []string{"Snapshot demo/snap-1 failed verification"}},
		{name: "snapshot not found", mutate: func(p *ui.RestoreSessionPreview) { p.Spec.Snapshot = "snap-9" },
			want: []string{"Snapshot demo/snap-9 not found"}},
		{name: "pitr at a snapshot's time", mutate: pitr("2026-12-07T10:00:00Z", false), resolved: "snap-2",
			want: []string{"Snapshot demo/snap-2 is Failed, not Succeeded: restoring it may fail or restore incomplete data"}},
		{name: "pitr exclusive", mutate: pitr("2026-12-07T10:00:00Z", true), resolved: "snap-1",
			want: []string{"Snapshot demo/snap-1 failed verification"}},
		{name: "pitr before every snapshot", mutate: pitr("2026-12-07T08:00:00Z", true),
			want: []string{"Repository demo/mongodb-repo has no snapshot before 2026-12-07T08:00:00Z: there is nothing to restore to that time"}},
		{name: "no snapshots", cluster: func(f *fakeRestore) { f.snapshots["demo/mongodb-repo"] = nil },
			want: []string{"Repository demo/mongodb-repo has no snapshots: there is nothing to restore"}},
		{name: "snapshots not read", cluster: func(f *fakeRestore) { f.snapshots = nil },
			want: []string{"which snapshot of Repository demo/mongodb-repo is the latest not checked: this server has not listed the Snapshots (their CRD is not installed, or not synced yet)"}},
		{name: "repository not found", cluster: func(f *fakeRestore) { delete(f.repos, "demo/mongodb-repo") }, resolved: "snap-3",
			want: []string{"Repository demo/mongodb-repo not found"}},
		{name: "target kind differs", mutate: func(p *ui.RestoreSessionPreview) {
			p.Spec.Target = ui.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"}
		}, resolved: "snap-3", want: []string{
			"target kind PersistentVolumeClaim differs from MongoDB.kubedb.com, the kind Repository demo/mongodb-repo backs up",
			"target PersistentVolumeClaim demo/data does not exist yet: KubeStash restores into it once it exists"}},
		{name: "target not watched", cluster: func(f *fakeRestore) { f.backedUp = map[string]bool{} }, resolved: "snap-3",
			want: []string{"existence of target MongoDB.kubedb.com demo/mongodb not checked: backupview watches only the kinds that BackupConfigurations in namespace demo back up"}},
		{name: "a backup task", mutate: func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Tasks[0].Name = "logical-backup" }, resolved: "snap-3",
			want: []string{"target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data",
				"task logical-backup is a backup task of Addon mongodb-addon; a RestoreSession needs one of its restore tasks: logical-backup-restore, manifest-restore"}},
		{name: "an unknown task", mutate: func(p *ui.RestoreSessionPreview) { p.Spec.Addon.Tasks[0].Name = "restore-all" }, resolved: "snap-3",
			want: []string{"target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data",
				"task restore-all is not a restore task of Addon mongodb-addon; its restore tasks are: logical-backup-restore, manifest-restore"}},
		{name: "addon not found", cluster: func(f *fakeRestore) { f.addons = nil }, resolved: "snap-3",
			want: []string{"target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data", "Addon mongodb-addon not found"}},
		{name: "secrets not watched", cluster: func(f *fakeRestore) { f.secrets = nil }, resolved: "snap-3",
			want: []string{"target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data",
				"encryption Secret demo/encrypt-secret not checked: this server does not watch Secrets (--check-encryption-secrets)"}},
		{name: "secret not found", cluster: func(f *fakeRestore) { f.secrets = map[string]bool{} }, resolved: "snap-3",
			want: []string{"target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data", "encryption Secret demo/encrypt-secret not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRestore()
			f.secrets = map[string]bool{"demo/encrypt-secret": true}
			if tc.cluster != nil {
				tc.cluster(f)
			}
			p := validRestore()
			if tc.mutate != nil {
				tc.mutate(p)
			}
			if errs := ValidateRestore(p); len(errs) > 0 {
				t.Fatal(errString(errs))
			}
			got, snap := RestoreWarnings(p, f)
			// The example's target exists: most cases leave that warning out of want.
			const overwrite = "target MongoDB.kubedb.com demo/mongodb exists: the restore overwrites its data"
			if !slices.Contains(tc.want, overwrite) {
				got = slices.DeleteFunc(got, func(s string) bool { return s == overwrite })
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			name := ""
			if snap != nil {
				name = snap.Name
			}
			if name != tc.resolved {
				t.Errorf("resolved %q, want %q", name, tc.resolved)
			}
		})
	}
}

func TestRestoreResolvedSnapshotFields(t *testing.T) {
	_, snap := RestoreWarnings(validRestore(), newFakeRestore())
	want := &ui.ResolvedSnapshot{Name: "snap-3", SnapshotTime: ptime("2026-12-07T12:00:00Z"), Size: "3 MiB", Phase: "Succeeded", VerificationStatus: "Verified", Components: []string{"dump"}}
	if !reflect.DeepEqual(snap, want) {
		t.Errorf("got %+v, want %+v", snap, want)
	}
}

// TestRestoreWarningsFollowTheCaller: a caller who may not get repositories, snapshots, the
// target's kind or Secrets in another namespace learns nothing about them there: the
// warnings and the resolved snapshot are the same whether the objects exist or not.
func TestRestoreWarningsFollowTheCaller(t *testing.T) {
	form := func(repo, snapshot, secret string) *ui.RestoreSessionPreview {
		p := validRestore()
		p.Spec.Repository = ui.ObjectReference{Namespace: "prod", Name: repo}
		p.Spec.Snapshot = snapshot
		p.Spec.Target = ui.TypedObjectReference{APIGroup: "kubedb.com", Kind: "MongoDB", Namespace: "prod", Name: "mongodb"}
		p.Spec.EncryptionSecret = &ui.ObjectReference{Namespace: "prod", Name: secret}
		return p
	}
	answer := func(p *ui.RestoreSessionPreview, deny bool) string {
		f := newFakeRestore()
		f.targets["kubedb.com/MongoDB/prod/mongodb"] = true
		f.secrets = map[string]bool{"prod/real-secret": true}
		f.denyAll = deny
		w, snap := RestoreWarnings(p, f)
		return fmt.Sprintf("%q %+v", w, snap)
	}
	// Existing and missing objects, by each way of choosing the snapshot.
	pairs := [][2]*ui.RestoreSessionPreview{
		{form("prod-repo", SnapshotLatest, "real-secret"), form("no-repo", SnapshotLatest, "no-secret")},
		{form("prod-repo", "prod-snap", "real-secret"), form("prod-repo", "no-snap", "no-secret")},
	}
	pitrOf := func(p *ui.RestoreSessionPreview, at string) *ui.RestoreSessionPreview {
		p.Spec.Snapshot, p.Spec.PITR = "", &ui.PointInTime{TargetTime: ptime(at)}
		return p
	}
	pairs = append(pairs, [2]*ui.RestoreSessionPreview{
		pitrOf(form("prod-repo", "", "real-secret"), "2026-12-07T10:00:00Z"),
		pitrOf(form("prod-repo", "", "real-secret"), "2026-12-07T08:00:00Z"),
	})
	for i, pair := range pairs {
		exists, missing := answer(pair[0], true), answer(pair[1], true)
		// The names differ in the messages; replace them to compare what is said about them.
		norm := strings.NewReplacer("no-repo", "R", "prod-repo", "R", "no-snap", "S", "prod-snap", "S", "no-secret", "X", "real-secret", "X").Replace
		if norm(exists) != norm(missing) {
			t.Errorf("pair %d: a denied caller tells existing from missing:\n%s\n%s", i, exists, missing)
		}
		if strings.Contains(exists, "Name:") || strings.Contains(exists, "not found") || strings.Contains(exists, "exists") {
			t.Errorf("pair %d: a denied caller learns something: %s", i, exists)
		}
		// The same forms for a caller who may get them there: the answers differ (the test
		// would pass trivially otherwise).
		if norm(answer(pair[0], false)) == norm(answer(pair[1], false)) {
			t.Errorf("pair %d: an allowed caller gets the same answer for existing and missing objects", i)
		}
	}
}

// FuzzRestorePreview feeds arbitrary JSON restore forms through ValidateRestore, RenderRestore
// and RestoreWarnings. Nothing may panic; RenderRestore succeeds exactly when ValidateRestore
// finds nothing; a rendered manifest matches the RestoreSession CRD schema (when the shared
// folder is there) and renders again to the same bytes.
//
//	go test ./pkg/render -run '^$' -fuzz FuzzRestorePreview -fuzztime 60s -fuzzminimizetime 5s
func FuzzRestorePreview(f *testing.F) {
	for _, mut := range []func(*ui.RestoreSessionPreview){
		func(*ui.RestoreSessionPreview) {},
		func(p *ui.RestoreSessionPreview) {
			p.Spec.Snapshot, p.Spec.PITR = "", &ui.PointInTime{TargetTime: ptime("2026-12-07T10:00:00Z"), Exclusive: true}
		},
		func(p *ui.RestoreSessionPreview) {
			p.Spec.Addon.Tasks[0].Params, p.Spec.Addon.Tasks[0].ParamsText = nil, "a: [1, 2.5e3, true, null]\n"
		},
	} {
		p := validRestore()
		mut(p)
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	schema, _ := loadRestoreCRD() // nil without the shared folder: the schema check is skipped
	f.Fuzz(func(t *testing.T, data []byte) {
		var p ui.RestoreSessionPreview
		if json.Unmarshal(data, &p) != nil {
			return
		}
		errs := ValidateRestore(&p)
		m, rerrs := RenderRestore(&p)
		if (len(errs) == 0) != (m != nil) || len(rerrs) != len(errs) {
			t.Fatalf("Validate %v, Render %v %v", errs, m != nil, rerrs)
		}
		RestoreWarnings(&p, newFakeRestore())
		if m == nil {
			return
		}
		if schema != nil {
			if e := schemaErrors("", m.Object, schema); len(e) > 0 {
				t.Fatalf("%s\n%s", strings.Join(e, "\n"), m.YAML)
			}
		}
		again, _ := RenderRestore(&p)
		if string(again.JSON) != string(m.JSON) {
			t.Fatal("two renderings differ")
		}
	})
}
