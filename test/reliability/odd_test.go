package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

const oddNS = "odd"

func deep(n int) interface{} {
	var v interface{} = "bottom"
	for i := 0; i < n; i++ {
		v = obj{"d": v}
	}
	return v
}

func validSession(name, schedule string) obj {
	return obj{"name": name, "scheduler": obj{"schedule": schedule},
		"repositories": list{obj{"name": "odd-repo", "backend": "b", "directory": "odd/x"}},
		"addon":        obj{"name": "mongodb-addon", "tasks": list{obj{"name": "logical-backup"}}}}
}

// oddBCs are BackupConfigurations a real cluster may hold: written by an older KubeStash, by
// hand, or by a buggy tool. The loose CRDs of the shared cluster store them as they are.
func oddBCs() map[string]obj {
	long := strings.Repeat("x", 10000)
	return map[string]obj{
		"no-spec":       {},
		"no-sessions":   {"spec": obj{"target": obj{"apiGroup": "kubedb.com", "kind": "MongoDB", "name": "m"}, "backends": list{obj{"name": "b", "storageRef": obj{"name": "odd-storage"}}}}},
		"null-sessions": {"spec": obj{"sessions": nil, "backends": nil, "target": nil, "paused": nil}, "status": nil},
		"empty-target":  {"spec": obj{"target": obj{}, "sessions": list{validSession("full", "0 3 * * *")}}},
		"string-target": {"spec": obj{"target": "MongoDB demo/mongodb", "sessions": "full-backup", "backends": "default"}},
		"partial-target": {"spec": obj{"target": obj{"kind": "MongoDB"}, "sessions": list{obj{"name": "only-name"}},
			"backends": list{obj{"storageRef": obj{"namespace": "kubestash"}}}}},
		"target-no-kind": {"spec": obj{"target": obj{"name": "orphan", "namespace": "elsewhere"}}},
		"target-core":    {"spec": obj{"target": obj{"apiGroup": "core", "kind": "PersistentVolumeClaim", "name": "data"}}},
		"junk-sessions": {"spec": obj{"sessions": list{nil, 1, "x", list{}, obj{},
			obj{"name": 42, "scheduler": "0 * * * *", "addon": obj{"name": list{"a"}, "tasks": "x"}, "repositories": obj{"name": "r"}},
			obj{"name": "weird", "scheduler": obj{"schedule": 5}, "addon": obj{"tasks": list{nil, 3, obj{"name": 7}, obj{}}}, "repositories": list{nil, "r", obj{"name": true}}},
			validSession("good", "0 3 * * *")}}},
		"sessions-map": {"spec": obj{"sessions": obj{"full": obj{"name": "full"}}, "backends": obj{"b": 1}}},
		"params-any-shape": {"spec": obj{"sessions": list{obj{"name": "s", "scheduler": obj{"schedule": "@hourly"}, "addon": obj{"name": "a", "tasks": list{
			obj{"name": "list", "params": list{1, "two", nil}},
			obj{"name": "string", "params": "--db=x"},
			obj{"name": "number", "params": 3.14},
			obj{"name": "null", "params": nil},
			obj{"name": "bool", "params": true},
			obj{"name": "deep", "params": deep(60)},
			obj{"name": "long", "params": obj{"args": long}},
		}}}}}},
		"camelcase-tasks": {"spec": obj{"sessions": list{obj{"name": "FullBackup", "scheduler": obj{"schedule": "0 1 * * *"},
			"addon": obj{"name": "MongoDBAddon", "tasks": list{obj{"name": "LogicalBackup"}, obj{"name": "ManifestBackup"}}}}}}},
		"old-status": {"spec": obj{"sessions": list{validSession("full", "0 2 * * *")}},
			"status": obj{"phase": 3, "conditions": "Ready", "sessions": obj{"full": obj{"nextSchedule": "tomorrow"}}, "targetFound": "yes", "backends": 5}},
		"older-status": {"spec": obj{"sessions": list{validSession("full", "0 2 * * *")}},
			"status": obj{"phase": "Current", "conditions": list{nil, "Ready", obj{"type": 1, "status": true, "lastTransitionTime": 12345, "observedGeneration": "1", "severity": obj{}},
				obj{"type": "Ready", "status": "True", "lastTransitionTime": "not a time"}},
				"sessions": list{obj{"name": "full", "nextSchedule": "2026-99-99T00:00:00Z"}, "junk", nil, obj{"nextSchedule": 7}, obj{"name": "full", "nextSchedule": "2026-12-01T00:00:00Z"}}}},
		"backends-junk": {"spec": obj{"backends": list{nil, "x", obj{"storageRef": "s3"}, obj{"storageRef": obj{"name": 5}},
			obj{"retentionPolicy": obj{"namespace": list{"a"}}}, obj{"storageRef": obj{"name": "odd-storage"}, "retentionPolicy": obj{"name": "odd-policy"}}}}},
		"odd-schedules": {"spec": obj{"sessions": list{
			validSession("a", "not a cron"), validSession("b", ""), validSession("c", "@every 0s"), validSession("d", "@every -1h"),
			validSession("e", "0 0 30 2 *"), validSession("f", "* * * * * *"), validSession("g", "TZ=UTC 0 * * * *"),
			validSession("h", long), validSession("i", "@every 1ns"), validSession("j", "*/0 * * * *"), validSession("k", "０ * * * *"),
			validSession("l", "0 0 29 2 *"), validSession("m", "59 23 31 12 *"), validSession("n", "* * * * *")}}},
		"paused-string": {"spec": obj{"paused": "true", "sessions": list{validSession("full", "0 4 * * *")}}},
		"unicode":       {"spec": obj{"target": obj{"apiGroup": "kubedb.com", "kind": "MongoDB", "name": "数据库"}, "sessions": list{validSession("完整", "0 5 * * *")}}},
		"deep-unknown":  {"spec": obj{"extra": deep(80), "sessions": list{validSession("full", "0 6 * * *")}}, "status": obj{"extra": deep(80)}},
		"odd-refs": {"spec": obj{"target": obj{"apiGroup": "kubedb.com", "kind": "MongoDB", "name": "m"},
			"backends": list{obj{"name": "b", "storageRef": obj{"name": "odd-storage"}, "retentionPolicy": obj{"name": "odd-policy"}}},
			"sessions": list{validSession("full", "0 */4 * * *")}}},
	}
}

// oddJoined are the objects the odd BackupConfigurations join with, odd themselves.
func oddJoined() []item {
	bs := func(name string, rest obj) item {
		return item{gvr: gvrBS, obj: u("core.kubestash.com/v1alpha1", "BackupSession", oddNS, name, rest)}
	}
	return []item{
		bs("odd-refs-full-1795752000", obj{"spec": obj{"invoker": obj{"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": "odd-refs"}, "session": "full"},
			"status": obj{"phase": list{"x"}, "duration": 5, "totalSnapshots": "three"}}),
		bs("odd-refs-full-x", obj{"spec": obj{"invoker": obj{"kind": "BackupConfiguration", "name": "odd-refs"}, "session": 3}, "status": "done"}),
		bs("odd-refs-full-1795755600", obj{"spec": obj{"invoker": obj{"kind": "BackupConfiguration", "name": "odd-refs"}}, "status": obj{"phase": "Succeeded", "duration": "forever", "totalSnapshots": 1.5}}),
		bs("no-spec-session", nil),
		bs("string-invoker", obj{"spec": obj{"invoker": "BackupConfiguration/odd-refs"}}),
		bs("lowercase-invoker", obj{"spec": obj{"invoker": obj{"kind": "backupconfiguration", "name": "odd-refs"}}}),
		{gvr: gvrRepo, obj: u("storage.kubestash.com/v1alpha1", "Repository", oddNS, "odd-repo", obj{
			"spec":   obj{"appRef": "MongoDB odd/m", "storageRef": 5},
			"status": obj{"size": 12, "snapshotCount": "4", "integrity": "yes", "lastBackupTime": "yesterday", "phase": obj{}}})},
		{gvr: gvrStorage, obj: u("storage.kubestash.com/v1alpha1", "BackupStorage", oddNS, "odd-storage", obj{
			"spec": obj{"storage": "s3"}, "status": obj{"repositories": obj{"a": 1}, "totalSize": obj{"v": 1}, "phase": 1}})},
		{gvr: gvrPolicy, obj: u("storage.kubestash.com/v1alpha1", "RetentionPolicy", oddNS, "odd-policy", obj{
			"spec": obj{"maxRetentionPeriod": 30, "default": "yes"}})},
		{gvr: gvrAddon, obj: u("addons.kubestash.com/v1alpha1", "Addon", "", "odd-addon", obj{
			"spec": obj{"backupTasks": obj{"x": 1}, "restoreTasks": list{1, nil, obj{"name": 5}}}})},
	}
}

// TestOddSourceObjects (promise 4): BackupConfigurations (and joined objects) with missing
// or unexpected fields never crash backupview and never give a 500: GET, LIST, WATCH, Table
// and field selectors all answer, and each view shows what it can.
func TestOddSourceObjects(t *testing.T) {
	need(t)
	c := shared(t)
	bvPID := pidOf(c, "backupview")
	ctx := context.Background()
	// Setup (a failure here ends the test): the odd objects.
	items := []item{{gvr: gvrNS, obj: u("v1", "Namespace", "", oddNS, nil)}}
	if err := createAll(ctx, c.Dyn, items, 1); err != nil {
		t.Fatal(err)
	}
	items = oddJoined()
	bcs := oddBCs()
	for name, rest := range bcs {
		status, _ := rest["status"].(obj)
		o := u("core.kubestash.com/v1alpha1", "BackupConfiguration", oddNS, name, rest)
		delete(o.Object, "status")
		items = append(items, item{gvr: gvrBC, obj: o, status: status})
	}
	for i := range items {
		if st, ok := items[i].obj.Object["status"].(obj); ok && items[i].gvr != gvrBC {
			items[i].status = st
		}
	}
	if err := createAll(ctx, c.Dyn, items, 4); err != nil {
		t.Fatal(err)
	}

	s := newSteps(t)
	// What each view shows is checked on the views this step lists: that step needs it.
	var views map[string]*v1alpha1.BackupConfigurationView
	s.run("every view appears and LIST is complete", func(t *testing.T) {
		if err := waitUntil(10*time.Second, func() error {
			l, err := c.BV.UiV1alpha1().BackupConfigurationViews(oddNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			views = map[string]*v1alpha1.BackupConfigurationView{}
			for i := range l.Items {
				views[l.Items[i].Name] = &l.Items[i]
			}
			if len(views) != len(bcs) {
				return fmt.Errorf("%d of %d views", len(views), len(bcs))
			}
			// odd-refs joins six sessions, a repository, a storage and a policy.
			if v := views["odd-refs"]; v == nil || len(v.BackupSessions) < 3 {
				return fmt.Errorf("odd-refs not joined yet")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})

	// GET, Table (kubectl -o wide), YAML, WATCH, field selectors: no 500s.
	kas := kasHTTP(t, c, "admin")
	s.run("GET and kubectl get -o yaml answer for every view", func(t *testing.T) {
		for name := range bcs {
			if _, err := c.BV.UiV1alpha1().BackupConfigurationViews(oddNS).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("GET %s: %v", name, err)
			}
			if out, err := c.KubectlStdout("", "get", "bcv", "-n", oddNS, name, "-o", "yaml"); err != nil {
				t.Errorf("kubectl get -o yaml %s: %v\n%s", name, err, out)
			}
		}
	})
	s.run("kubectl get -o wide lists every view", func(t *testing.T) {
		out, err := c.KubectlStdout("", "get", "bcv", "-n", oddNS, "-o", "wide")
		if err != nil {
			t.Fatalf("kubectl get -o wide: %v\n%s", err, out)
		}
		for name := range bcs {
			if !strings.Contains(out, name+" ") {
				t.Errorf("-o wide lacks %s", name)
			}
		}
	})
	s.run("field selectors answer 200", func(t *testing.T) {
		for _, sel := range []string{"target.kind=MongoDB", "basic.phase=", "basic.phase=Current", "basic.paused=false", "target.name=数据库", "metadata.name=no-spec"} {
			r := kas.get(fmt.Sprintf("/apis/ui.kubestash.com/v1alpha1/namespaces/%s/backupconfigurationviews?fieldSelector=%s", oddNS, url.QueryEscape(sel)))
			if r.code != 200 {
				t.Errorf("field selector %s: %d %s", sel, r.code, short(r.body))
			}
		}
	})
	s.run("a Table answers 200", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, kas.base+"/apis/ui.kubestash.com/v1alpha1/namespaces/"+oddNS+"/backupconfigurationviews", nil)
		req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if r, err := kas.hc.Do(req); err != nil || r.StatusCode != 200 {
			t.Errorf("Table: %v %v", err, r)
		} else {
			r.Body.Close()
		}
	})
	s.run("a WATCH with initial events delivers every view", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if code, n, err := kas.initialEvents(wctx, "/apis/ui.kubestash.com/v1alpha1/namespaces/"+oddNS+"/backupconfigurationviews"); err != nil || code != 200 || n != len(bcs) {
			t.Errorf("WATCH with initial events: %d, %d events (want %d), %v", code, n, len(bcs), err)
		}
	})

	// What each view can show, it shows.
	checks := map[string]func(v *v1alpha1.BackupConfigurationView) error{
		"empty-target": func(v *v1alpha1.BackupConfigurationView) error {
			if v.Summary.Target != "" || v.Target.Found || v.Summary.Schedule != "0 3 * * *" {
				return fmt.Errorf("target %+v summary %+v", v.Target, v.Summary)
			}
			return nil
		},
		"junk-sessions": func(v *v1alpha1.BackupConfigurationView) error {
			if !strings.Contains(v.Summary.Schedule, "0 3 * * *") || !strings.Contains(v.Summary.Task, "logical-backup") {
				return fmt.Errorf("the valid session is not shown: %+v", v.Summary)
			}
			return nil
		},
		"camelcase-tasks": func(v *v1alpha1.BackupConfigurationView) error {
			if v.Summary.Task != "LogicalBackup, ManifestBackup" {
				return fmt.Errorf("tasks %q", v.Summary.Task)
			}
			return nil
		},
		"partial-target": func(v *v1alpha1.BackupConfigurationView) error {
			if v.Target.Kind != "MongoDB" || v.Target.Found || v.Target.Namespace != oddNS {
				return fmt.Errorf("target %+v", v.Target)
			}
			return nil
		},
		"target-core": func(v *v1alpha1.BackupConfigurationView) error {
			if v.Summary.Target != "PersistentVolumeClaim odd/data" || v.Target.Found {
				return fmt.Errorf("target %+v %q", v.Target, v.Summary.Target)
			}
			return nil
		},
		"older-status": func(v *v1alpha1.BackupConfigurationView) error {
			if v.Basic.Phase != "Current" || v.Health.NextScheduleTime == nil {
				return fmt.Errorf("phase %q, next schedule %v (the valid nextSchedule is shown)", v.Basic.Phase, v.Health.NextScheduleTime)
			}
			return nil
		},
		"backends-junk": func(v *v1alpha1.BackupConfigurationView) error {
			found := false
			for _, s := range v.BackupStorages {
				found = found || (s.Name == "odd-storage" && s.Found)
			}
			if !found {
				return fmt.Errorf("the valid backend's storage is not shown: %+v", v.BackupStorages)
			}
			return nil
		},
		"odd-refs": func(v *v1alpha1.BackupConfigurationView) error {
			if len(v.Repositories) != 1 || !v.Repositories[0].Found || len(v.BackupStorages) != 1 || !v.BackupStorages[0].Found ||
				len(v.RetentionPolicies) != 1 || !v.RetentionPolicies[0].Found {
				return fmt.Errorf("joined objects not found: repos %+v storages %+v policies %+v", v.Repositories, v.BackupStorages, v.RetentionPolicies)
			}
			return nil
		},
		"paused-string": func(v *v1alpha1.BackupConfigurationView) error {
			if v.Summary.Schedule != "0 4 * * *" {
				return fmt.Errorf("summary %+v", v.Summary)
			}
			return nil
		},
		"odd-schedules": func(v *v1alpha1.BackupConfigurationView) error {
			if !strings.Contains(v.Summary.Schedule, "not a cron") || v.Health.OverdueAfter == nil {
				return fmt.Errorf("schedules %q, overdueAfter %v (the valid ones give one)", v.Summary.Schedule, v.Health.OverdueAfter)
			}
			return nil
		},
	}
	s.run("each view shows what it can", func(t *testing.T) {
		s.after(t, "every view appears and LIST is complete")
		names := make([]string, 0, len(checks))
		for name := range checks {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				if err := checks[name](views[name]); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			})
		}
	})

	// Still the same, healthy process.
	s.run("readyz is 200 after the odd objects", func(t *testing.T) {
		if r := bvDirect(t, c, c.Ports.Server).get("/readyz"); r.code != 200 {
			t.Errorf("/readyz after odd objects: %d %s", r.code, short(r.body))
		}
	})
	s.run("backupview was not restarted", func(t *testing.T) {
		if pidOf(c, "backupview") != bvPID || !alive(bvPID) {
			t.Error("backupview restarted or exited")
		}
	})
	s.run("backupview logged no panic", func(t *testing.T) {
		if p := serverLogHasPanic(c); p != "" {
			t.Errorf("backupview logged a panic: %s", p)
		}
	})
}
