package scale

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubestash/backupview/pkg/kubestash"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Scale
		err  string
	}{
		{in: "default", want: Default},
		{in: "small", want: Small},
		{in: "medium", want: Medium},
		{in: "tiny", want: Tiny},
		{in: "custom:ns=100,bc=1000,bs=10000", want: Scale{Name: "custom:ns=100,bc=1000,bs=10000", Namespaces: 100, BCs: 1000, Sessions: 10000, Repositories: 10000, Storages: 20, Policies: 20, Snapshots: true}},
		{in: "small:bs=0,repo=0,storage=1,policy=1", want: Scale{Name: "small:bs=0,repo=0,storage=1,policy=1", Namespaces: 20, BCs: 200, Storages: 1, Policies: 1, Snapshots: true}},
		{in: "small:snap=0", want: Scale{Name: "small:snap=0", Namespaces: 20, BCs: 200, Sessions: 2000, Repositories: 200, Storages: 4, Policies: 4}},
		{in: "small:snap=2", err: `bad scale override "snap=2"`},
		{in: "custom", want: Default},
		{in: "huge", err: `unknown scale "huge"`},
		{in: "small:bc=x", err: `bad scale override "bc=x"`},
		{in: "small:bc=-1", err: `bad scale override "bc=-1"`},
		{in: "small:pods=3", err: `unknown scale key "pods"`},
		{in: "small:ns=0", err: "need at least one namespace"},
		{in: "small:ns=300", err: "no fewer BackupConfigurations than namespaces"},
		{in: "small:storage=0", err: "need at least one namespace, storage and policy"},
	} {
		got, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q): error %v, want one containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// all is every object of the scale in the loader's order, with "uid-<namespace/name>" as
// each BackupConfiguration's and Repository's uid.
func all(s Scale) []Object {
	out := append(s.NamespaceObjects(), s.SharedObjects()...)
	for i := 0; i < s.BCs; i++ {
		out = append(out, s.BackupConfiguration(i))
		refs, sessions := s.Dependents(i, "uid-"+s.Key(i))
		out = append(append(out, refs...), s.SnapshotsOf(i, "uid-"+s.Namespace(i)+"/"+RepositoryName(i))...)
		out = append(out, sessions...)
	}
	return out
}

var scales = []Scale{Tiny, Small,
	{Name: "uneven", Namespaces: 3, BCs: 7, Sessions: 23, Repositories: 4, Storages: 3, Policies: 2, Snapshots: true},
	{Name: "uneven without snapshots", Namespaces: 3, BCs: 7, Sessions: 23, Repositories: 4, Storages: 3, Policies: 2},
	{Name: "more repositories than BCs", Namespaces: 1, BCs: 3, Sessions: 0, Repositories: 9, Storages: 1, Policies: 1, Snapshots: true},
	{Name: "bare", Namespaces: 2, BCs: 2, Storages: 1, Policies: 1},
}

func key(o Object) string {
	u := o.Unstructured()
	return o.Resource.Resource + " " + u.GetNamespace() + "/" + u.GetName()
}

func TestCountsPerScale(t *testing.T) {
	for _, s := range scales {
		t.Run(s.Name, func(t *testing.T) {
			got := map[schema.GroupVersionResource]int{}
			objs := all(s)
			for _, o := range objs {
				got[o.Resource]++
			}
			want := map[schema.GroupVersionResource]int{
				namespaceResource:              s.Namespaces + 1,
				kubestash.Addons:               2,
				kubestash.BackupStorages:       s.Storages,
				kubestash.RetentionPolicies:    s.Policies,
				kubestash.BackupConfigurations: s.BCs,
				kubestash.BackupSessions:       s.Sessions,
				kubestash.Repositories:         min(s.Repositories, s.BCs),
				kubestash.Snapshots:            s.SnapshotObjects(),
				kubestash.CronJobs:             s.CronJobs(),
			}
			targets := 0
			for i := 0; i < s.BCs; i++ {
				if s.HasTarget(i) {
					_, _, gvr := TargetKind(i)
					want[gvr]++
					targets++
				}
			}
			if targets != s.Targets() {
				t.Errorf("Targets() = %d, HasTarget holds for %d", s.Targets(), targets)
			}
			for gvr, n := range want {
				if got[gvr] != n {
					t.Errorf("%s: %d objects, want %d", gvr.Resource, got[gvr], n)
				}
			}
			for gvr := range got {
				if _, ok := want[gvr]; !ok {
					t.Errorf("%d objects of an unexpected kind %s", got[gvr], gvr)
				}
			}
			// Total leaves the shared namespace out (see Total).
			if len(objs) != s.Total()+1 {
				t.Errorf("%d objects, Total() = %d", len(objs), s.Total())
			}
			if src := len(objs) - s.Namespaces - 1; src != s.SourceObjects() {
				t.Errorf("%d source objects, SourceObjects() = %d", src, s.SourceObjects())
			}
			sessions, written := 0, 0
			for i := 0; i < s.BCs; i++ {
				sessions += s.SessionsOf(i)
				if s.HasRepository(i) {
					written += s.SessionsOf(i)
				}
			}
			if sessions != s.Sessions {
				t.Errorf("SessionsOf sums to %d, want %d", sessions, s.Sessions)
			}
			// One Snapshot per BackupSession per Repository it writes to.
			if s.Snapshots && got[kubestash.Snapshots] != written || !s.Snapshots && got[kubestash.Snapshots] != 0 {
				t.Errorf("%d Snapshots for %d BackupSessions writing to a Repository (Snapshots %v)", got[kubestash.Snapshots], written, s.Snapshots)
			}
		})
	}
	// The documented sizes (docs/benchmarks.md), and those before Snapshots (snap=0), which
	// the earlier results were measured at.
	for _, c := range []struct {
		scale       string
		total, snap int
	}{{"small", 4830, 2000}, {"small:snap=0", 2830, 0}, {"default", 241042, 100000}, {"default:snap=0", 141042, 0}} {
		if s, _ := Parse(c.scale); s.Total() != c.total || s.SnapshotObjects() != c.snap {
			t.Errorf("Total of %s: %d (%d Snapshots); docs/benchmarks.md says %d (%d)", c.scale, s.Total(), s.SnapshotObjects(), c.total, c.snap)
		}
	}
	// Medium is the 28k shape measured as custom:ns=200,bc=2000,bs=20000 (28,243 objects with the
	// shared namespace, as the loader counts them), 48,242 with its Snapshots.
	if c, _ := Parse("custom:ns=200,bc=2000,bs=20000"); Medium.Total() != 48242 || Medium.Total() != c.Total() {
		t.Errorf("Total: medium %d, want 48242 (custom:ns=200,bc=2000,bs=20000: %d)", Medium.Total(), c.Total())
	}
}

func TestNamesUniqueAndDeterministic(t *testing.T) {
	for _, s := range scales {
		seen := map[string]bool{}
		for _, o := range all(s) {
			if k := key(o); seen[k] {
				t.Errorf("%s: %s made twice", s.Name, k)
			} else {
				seen[k] = true
			}
		}
		if !reflect.DeepEqual(all(s), all(s)) {
			t.Errorf("%s: two generations differ", s.Name)
		}
	}
}

// TestReferencesConsistent: every reference in the generated objects points at an object
// of the scale, or at nothing exactly where the scale says so (targets and Repositories of
// the BackupConfigurations HasTarget or HasRepository leave out).
func TestReferencesConsistent(t *testing.T) {
	for _, s := range scales {
		t.Run(s.Name, func(t *testing.T) {
			objs := all(s)
			byKey := map[string]*unstructured.Unstructured{}
			statuses := map[string]map[string]interface{}{}
			for _, o := range objs {
				byKey[key(o)], statuses[key(o)] = o.Unstructured(), o.Status
			}
			exists := func(gvr schema.GroupVersionResource, ns, name string) bool {
				return byKey[gvr.Resource+" "+ns+"/"+name] != nil
			}
			str := func(u *unstructured.Unstructured, path ...string) string {
				v, _, _ := unstructured.NestedString(u.Object, path...)
				return v
			}
			bcIndex := map[string]int{}
			for i := 0; i < s.BCs; i++ {
				bcIndex[s.Key(i)] = i
			}
			for _, o := range objs {
				u := o.Unstructured()
				ns := u.GetNamespace()
				if ns != "" && !exists(namespaceResource, "", ns) {
					t.Errorf("%s: namespace %s is not made", key(o), ns)
				}
				switch o.Resource {
				case kubestash.BackupConfigurations:
					i := bcIndex[ns+"/"+u.GetName()]
					backends, _, _ := unstructured.NestedSlice(u.Object, "spec", "backends")
					for _, b := range backends {
						bm := b.(map[string]interface{})
						for _, ref := range []struct {
							field string
							gvr   schema.GroupVersionResource
						}{{"storageRef", kubestash.BackupStorages}, {"retentionPolicy", kubestash.RetentionPolicies}} {
							r := bm[ref.field].(map[string]interface{})
							if !exists(ref.gvr, r["namespace"].(string), r["name"].(string)) {
								t.Errorf("%s: %s %v is not made", key(o), ref.field, r)
							}
						}
					}
					target := &unstructured.Unstructured{Object: u.Object["spec"].(map[string]interface{})["target"].(map[string]interface{})}
					kind, _, gvr := TargetKind(i)
					if str(target, "kind") != kind || exists(gvr, str(target, "namespace"), str(target, "name")) != s.HasTarget(i) {
						t.Errorf("%s: target %v: made %v, HasTarget %v", key(o), target.Object, !s.HasTarget(i), s.HasTarget(i))
					}
					sessions, _, _ := unstructured.NestedSlice(u.Object, "spec", "sessions")
					if len(sessions) != s.BCSessions(i) {
						t.Errorf("%s: %d sessions, BCSessions %d", key(o), len(sessions), s.BCSessions(i))
					}
					for j, ss := range sessions {
						sm := ss.(map[string]interface{})
						if sm["name"] != SessionName(j) || !exists(kubestash.CronJobs, ns, CronJobName(i, j)) {
							t.Errorf("%s: session %d %v has no CronJob %s", key(o), j, sm["name"], CronJobName(i, j))
						}
						for _, r := range sm["repositories"].([]interface{}) {
							name := r.(map[string]interface{})["name"].(string)
							if exists(kubestash.Repositories, ns, name) != s.HasRepository(i) {
								t.Errorf("%s: repository %s made %v, HasRepository %v", key(o), name, !s.HasRepository(i), s.HasRepository(i))
							}
						}
						addon := sm["addon"].(map[string]interface{})["name"].(string)
						if !exists(kubestash.Addons, "", addon) {
							t.Errorf("%s: addon %s is not made", key(o), addon)
						}
					}
				case kubestash.BackupSessions, kubestash.CronJobs:
					owners := u.GetOwnerReferences()
					if len(owners) != 1 || owners[0].Kind != "BackupConfiguration" || !exists(kubestash.BackupConfigurations, ns, owners[0].Name) ||
						string(owners[0].UID) != "uid-"+ns+"/"+owners[0].Name || owners[0].Controller == nil || !*owners[0].Controller {
						t.Errorf("%s: owner %+v is not its BackupConfiguration", key(o), owners)
						continue
					}
					if o.Resource != kubestash.BackupSessions {
						continue
					}
					i := bcIndex[ns+"/"+owners[0].Name]
					if inv := str(u, "spec", "invoker", "name"); inv != owners[0].Name || str(u, "spec", "invoker", "kind") != "BackupConfiguration" {
						t.Errorf("%s: invoker %s, owner %s", key(o), inv, owners[0].Name)
					}
					if sess := str(u, "spec", "session"); sess != SessionName(0) && (s.BCSessions(i) < 2 || sess != SessionName(1)) {
						t.Errorf("%s: session %q is not one of %s's", key(o), sess, owners[0].Name)
					}
					if u.GetLabels()["kubestash.com/invoker-name"] != owners[0].Name {
						t.Errorf("%s: invoker label %v", key(o), u.GetLabels())
					}
				case kubestash.Snapshots:
					// In its Repository's namespace, owned by it, naming the BackupSession it
					// records, which names it back.
					repo, bs := str(u, "spec", "repository"), str(u, "spec", "backupSession")
					owners := u.GetOwnerReferences()
					if !exists(kubestash.Repositories, ns, repo) || len(owners) != 1 || owners[0].Kind != "Repository" || owners[0].Name != repo ||
						string(owners[0].UID) != "uid-"+ns+"/"+repo || u.GetLabels()["kubestash.com/repo-name"] != repo {
						t.Errorf("%s: repository %s, owners %+v, labels %v", key(o), repo, owners, u.GetLabels())
					}
					session := byKey[kubestash.BackupSessions.Resource+" "+ns+"/"+bs]
					if session == nil || str(session, "spec", "session") != str(u, "spec", "session") {
						t.Errorf("%s: BackupSession %s is not made, or of another session", key(o), bs)
						continue
					}
					recorded := statuses[kubestash.BackupSessions.Resource+" "+ns+"/"+bs]["snapshots"].([]interface{})[0].(map[string]interface{})
					if recorded["name"] != u.GetName() || recorded["phase"] != o.Status["phase"] {
						t.Errorf("%s (%v): its BackupSession records %v", key(o), o.Status["phase"], recorded)
					}
				case kubestash.Repositories:
					if !exists(kubestash.BackupStorages, str(u, "spec", "storageRef", "namespace"), str(u, "spec", "storageRef", "name")) {
						t.Errorf("%s: storage %s is not made", key(o), str(u, "spec", "storageRef", "name"))
					}
				case kubestash.BackupStorages:
					repos, _ := o.Status["repositories"].([]interface{})
					for _, r := range repos {
						rm := r.(map[string]interface{})
						repo := byKey[kubestash.Repositories.Resource+" "+rm["namespace"].(string)+"/"+rm["name"].(string)]
						if repo == nil || str(repo, "spec", "storageRef", "name") != u.GetName() {
							t.Errorf("%s: lists repository %v, which is not made or not stored there", key(o), rm)
						}
					}
				}
			}
			// Every Repository is listed by its storage.
			listed := 0
			for _, o := range objs {
				if o.Resource == kubestash.BackupStorages {
					repos, _ := o.Status["repositories"].([]interface{})
					listed += len(repos)
				}
			}
			if listed != s.RepositoryObjects() {
				t.Errorf("storages list %d repositories, %d made", listed, s.RepositoryObjects())
			}
		})
	}
}

func TestBackupSessionNames(t *testing.T) {
	s := Small
	for _, i := range []int{0, 1, 7, 199} {
		n := s.SessionsOf(i)
		_, sessions := s.Dependents(i, "u")
		if len(sessions) != n {
			t.Fatalf("BC %d: %d sessions, SessionsOf %d", i, len(sessions), n)
		}
		for k, o := range sessions {
			if got := o.Unstructured().GetName(); got != s.BackupSessionName(i, k) {
				t.Errorf("BC %d session %d: named %s, BackupSessionName %s", i, k, got, s.BackupSessionName(i, k))
			}
		}
		// The newest was triggered at Base, by the BackupConfiguration's last session in turn.
		newest := s.BackupSessionName(i, n-1)
		want := fmt.Sprintf("%s-%s-%d", BCName(i), SessionName((n-1)%s.BCSessions(i)), Base.Unix())
		if newest != want {
			t.Errorf("BC %d: newest session %s, want %s", i, newest, want)
		}
	}
}

// TestNamespaceBlocks: BackupConfigurations fill the namespaces in contiguous, even blocks.
func TestNamespaceBlocks(t *testing.T) {
	for _, s := range scales {
		per := map[string]int{}
		last := ""
		for i := 0; i < s.BCs; i++ {
			ns := s.Namespace(i)
			if ns < last {
				t.Errorf("%s: BC %d in %s after %s", s.Name, i, ns, last)
			}
			last = ns
			per[ns]++
		}
		if len(per) != s.Namespaces {
			t.Errorf("%s: BackupConfigurations in %d namespaces, want %d", s.Name, len(per), s.Namespaces)
		}
		for ns, n := range per {
			if n < s.BCs/s.Namespaces || n > s.BCs/s.Namespaces+1 {
				t.Errorf("%s: %d BackupConfigurations in %s", s.Name, n, ns)
			}
		}
	}
}

// TestSnapshotsDecode: the generated Snapshots read as the server reads them (kubestash.
// DecodeSnapshot), in their BackupSession's phase, and a succeeded one carries restic stats
// of a few hundred bytes (what backupview must drop).
func TestSnapshotsDecode(t *testing.T) {
	s := Small
	for _, c := range []struct {
		i, k  int
		phase string
	}{{0, 0, "Succeeded"}, {1, 9, "Succeeded"}, {3, 9, "Failed"}, {7, 9, "Running"}, {5, 2, "Succeeded"}} {
		o := s.Snapshot(c.i, c.k, "repo-uid")
		full := o.Unstructured().DeepCopy()
		full.Object["status"] = o.Status
		data, err := json.Marshal(full.Object)
		if err != nil {
			t.Fatal(err)
		}
		d := kubestash.DecodeSnapshot(data)
		j, _, bs := s.backupSession(c.i, c.k)
		if d.Name != s.SnapshotName(c.i, c.k) || d.Namespace != s.Namespace(c.i) || d.Repository != RepositoryName(c.i) || d.BackupSession != bs ||
			d.Session != SessionName(j) || d.Type != "FullBackup" || d.Phase != c.phase || len(d.Components) != 1 || d.Components[0].Phase != c.phase {
			t.Errorf("snapshot %d/%d: %+v", c.i, c.k, d)
		}
		if succeeded := c.phase == "Succeeded"; (d.SnapshotTime != nil) != succeeded || (d.Size != "") != succeeded || (d.Integrity != nil) != succeeded {
			t.Errorf("snapshot %d/%d (%s): time %v, size %q, integrity %v", c.i, c.k, c.phase, d.SnapshotTime, d.Size, d.Integrity)
		}
		if want := map[bool]string{true: "Verified", false: "NotVerified"}[c.i%10 == 5 && c.phase == "Succeeded"]; d.VerificationStatus != want {
			t.Errorf("snapshot %d/%d: verification %q, want %q", c.i, c.k, d.VerificationStatus, want)
		}
		if c.phase == "Succeeded" {
			for _, comp := range o.Status["components"].(map[string]interface{}) {
				stats, _ := json.Marshal(comp.(map[string]interface{})["resticStats"])
				if len(stats) < 200 || len(stats) > 1000 {
					t.Errorf("snapshot %d/%d: restic stats of %d bytes, want a few hundred", c.i, c.k, len(stats))
				}
			}
		}
	}
}
