package join

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubestash/backupview/pkg/kubestash"
)

// shuffled is a Lookup that returns its lists in a different order on every call, as caches
// of different replicas may.
type shuffled struct {
	*fake
	rng *rand.Rand
}

func (s shuffled) BackupSessions(k string) []*kubestash.BackupSession {
	return shuffle(s.rng, s.fake.BackupSessions(k))
}

func (s shuffled) CronJobs(ns, uid string) []*kubestash.CronJob {
	return shuffle(s.rng, s.fake.CronJobs(ns, uid))
}

func (s shuffled) Snapshots(ns, repo string) ([]*kubestash.Snapshot, bool) {
	l, ok := s.fake.Snapshots(ns, repo)
	return shuffle(s.rng, l), ok
}

func (s shuffled) VerificationSessions(k string) ([]*kubestash.BackupVerificationSession, bool) {
	l, ok := s.fake.VerificationSessions(k)
	return shuffle(s.rng, l), ok
}

func shuffle[T any](rng *rand.Rand, in []T) []T {
	out := append([]T(nil), in...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// orderFixture has ties at every level of the session order (creation time, then the trigger
// time in the name, then the name) and several CronJobs, storages and policies.
func orderFixture() (*kubestash.BackupConfiguration, *fake) {
	b := bc()
	b.Sessions = append(b.Sessions, kubestash.Session{Name: "a", Schedule: "0 0 29 2 *", Repositories: []string{"z-repo", "a-repo", "s3-repo"}})
	b.Backends = append(b.Backends,
		kubestash.Backend{Name: "x", StorageRef: &kubestash.Ref{Namespace: "a-b", Name: "x"}, RetentionPolicy: &kubestash.Ref{Namespace: "a", Name: "x"}},
		kubestash.Backend{Name: "y", StorageRef: &kubestash.Ref{Namespace: "a", Name: "x"}, RetentionPolicy: &kubestash.Ref{Namespace: "a-b", Name: "x"}})
	l := lookup()
	s := func(name string, created time.Time, phase string) *kubestash.BackupSession {
		return &kubestash.BackupSession{Meta: meta("prod", name, "60", created), Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: "pg", Phase: phase, Duration: "1s"}
	}
	l.sessions["prod/pg"] = append(l.sessions["prod/pg"],
		s("pg-full-backup-1795759200", t0, "Succeeded"),
		s("pg-full-backup-1795752729", t0, "Failed"),
		s("pg-manifest-backup-1795759200", t0, "Running"), // same time, same trigger time: by name
		s("pg-a-1795759200", t0, "Succeeded"),
		s("pg-nonumber", t0, "Pending"),
		s("pg-other", t0, "Failed"),
		s("pg-old-1", t0.Add(-time.Hour), "Succeeded"),
		s("pg-no-creation-time", time.Time{}, "Pending"),
		s("pg-no-creation-time-2", time.Time{}, "Pending"),
	)
	key := "prod/bc-uid"
	for _, n := range []string{"trigger-pg-a", "trigger-pg-x", "b", "a", "trigger-pg-full-backup-old"} {
		l.crons[key] = append(l.crons[key], &kubestash.CronJob{Meta: meta("prod", n, "61", t0), Schedule: "@daily"})
	}
	l.storages["a/x"] = &kubestash.BackupStorage{Meta: meta("a", "x", "62", t0), Provider: "s3"}
	l.policies["a-b/x"] = &kubestash.RetentionPolicy{Meta: meta("a-b", "x", "63", t0)}
	snap := func(name string, at time.Time) *kubestash.Snapshot {
		s := &kubestash.Snapshot{Meta: meta("prod", name, "64", t0), Repository: "s3-repo", Phase: "Succeeded"}
		if !at.IsZero() {
			s.SnapshotTime = &metav1.Time{Time: at}
		}
		return s
	}
	l.snaps = map[string][]*kubestash.Snapshot{"prod/s3-repo": {snap("s-b", t0), snap("s-a", t0), snap("s-old", t0.Add(-time.Hour)), snap("s-untimed", time.Time{})}}
	return b, l
}

// Every list in a view has a total order: the view is the same whatever order Lookup returns
// its lists in.
func TestViewDoesNotDependOnLookupOrder(t *testing.T) {
	b, l := orderFixture()
	want, wantRV := Build(b, l, Options{})
	if len(want.BackupSessions) != 12 || len(want.CronJobs) != 7 {
		t.Fatalf("fixture: %d sessions, %d cronjobs", len(want.BackupSessions), len(want.CronJobs))
	}
	for seed := int64(0); seed < 200; seed++ {
		got, rv := Build(b, shuffled{l, rand.New(rand.NewSource(seed))}, Options{})
		if !reflect.DeepEqual(got, want) || rv != wantRV {
			t.Fatalf("seed %d: the view depends on the order of Lookup's lists:\n got %s\nwant %s", seed, order(got.BackupSessions), order(want.BackupSessions))
		}
	}
	// The order itself: newest first, ties by the name's trigger time, then name.
	if got := order(want.BackupSessions); got != "pg-manifest-backup-1795759200,pg-full-backup-1795759200,pg-a-1795759200,pg-full-backup-1795752729,"+
		"pg-other,pg-nonumber,pg-full-2,pg-old-1,pg-full-1,pg-manifest-1,pg-no-creation-time-2,pg-no-creation-time" {
		t.Errorf("session order = %s", got)
	}
	var names []string
	for _, c := range want.CronJobs {
		names = append(names, c.Name+"="+c.Session)
	}
	if got := strings.Join(names, ","); got != "a=,b=,trigger-pg-a=a,trigger-pg-full-backup=full-backup,trigger-pg-full-backup-old=,trigger-pg-manifest-backup=manifest-backup,trigger-pg-x=" {
		t.Errorf("cronJob order = %s", got)
	}
	// By namespace, then name: "a/x" before "a-b/x" ("a-b/x" < "a/x" as strings).
	var refs []string
	for _, s := range want.BackupStorages {
		refs = append(refs, s.Namespace+"/"+s.Name)
	}
	for _, p := range want.RetentionPolicies {
		refs = append(refs, p.Namespace+"/"+p.Name)
	}
	for _, r := range want.Repositories {
		refs = append(refs, r.Name)
	}
	if got := strings.Join(refs, ","); got != "a/x,a-b/x,kubestash/s3,prod/gcs,a/x,a-b/x,prod/keep,prod/missing,a-repo,gcs-repo,s3-repo,z-repo" {
		t.Errorf("storages, policies, repositories = %s", got)
	}
}

// The storages and policies lists (not the summary, which follows spec order) do not depend
// on the order of spec.backends either.
func TestRefListsDoNotDependOnBackendOrder(t *testing.T) {
	b, l := orderFixture()
	want, _ := Build(b, l, Options{})
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 50; i++ {
		b2, _ := orderFixture()
		b2.Backends = shuffle(rng, b2.Backends)
		got, _ := Build(b2, l, Options{})
		if !reflect.DeepEqual(got.BackupStorages, want.BackupStorages) || !reflect.DeepEqual(got.RetentionPolicies, want.RetentionPolicies) {
			t.Fatalf("storages %+v\npolicies %+v", got.BackupStorages, got.RetentionPolicies)
		}
	}
}

func order(ss any) string {
	var names []string
	v := reflect.ValueOf(ss)
	for i := 0; i < v.Len(); i++ {
		names = append(names, v.Index(i).FieldByName("Name").String())
	}
	return strings.Join(names, ",")
}

// The indexed CronJob-to-session mapping answers exactly what the definition (exact trigger
// name, else the longest session name that is a "-"-suffix) gives.
func TestSessionIndexMatchesDefinition(t *testing.T) {
	def := func(bc *kubestash.BackupConfiguration, name string) string {
		best := ""
		for _, s := range bc.Sessions {
			if s.Name == "" {
				continue
			}
			if name == "trigger-"+bc.Name+"-"+s.Name {
				return s.Name
			}
			if strings.HasSuffix(name, "-"+s.Name) && len(s.Name) > len(best) {
				best = s.Name
			}
		}
		return best
	}
	rng := rand.New(rand.NewSource(3))
	parts := []string{"a", "b", "full", "backup", "x-y", "-", ""}
	word := func() string {
		var w []string
		for k := rng.Intn(4); k >= 0; k-- {
			w = append(w, parts[rng.Intn(len(parts))])
		}
		return strings.Join(w, "-")
	}
	for i := 0; i < 20000; i++ {
		b := &kubestash.BackupConfiguration{Meta: kubestash.Meta{Name: word()}}
		for k := rng.Intn(5); k > 0; k-- {
			b.Sessions = append(b.Sessions, kubestash.Session{Name: word()})
		}
		name := word()
		if rng.Intn(2) == 0 {
			name = "trigger-" + b.Name + "-" + word()
		}
		if got, want := CronJobSession(b, name), def(b, name); got != want {
			t.Fatalf("bc %q sessions %+v: CronJobSession(%q) = %q, want %q", b.Name, b.Sessions, name, got, want)
		}
	}
}

// The overdue threshold uses the schedule's period-wide longest gap, the same from any start.
func TestOverdueUsesPeriodWideInterval(t *testing.T) {
	for spec, interval := range map[string]time.Duration{
		"* * * 1 *":   335*24*time.Hour + time.Minute, // every minute of January: 31 January to 1 January
		"0 0 29 2 *":  2921 * 24 * time.Hour,          // 2096-02-29 to 2104-02-29
		"0 9 * * 1-5": 72 * time.Hour,
	} {
		for _, last := range []time.Time{t0, time.Date(2028, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2099, 3, 1, 0, 0, 0, 0, time.UTC)} {
			b := bc()
			b.Sessions = []kubestash.Session{{Name: "s", Schedule: spec}, {Name: "never", Schedule: "0 0 30 2 *"}, {Name: "bad", Schedule: "not a cron"}}
			l := &fake{repos: map[string]*kubestash.Repository{}}
			b.Sessions[0].Repositories = []string{"r"}
			l.repos["prod/r"] = &kubestash.Repository{Meta: meta("prod", "r", "1", t0), LastBackupTime: &metav1.Time{Time: last}}
			v, _ := Build(b, l, Options{})
			if o := v.Health.OverdueAfter; o == nil || !o.Time.Equal(last.Add(2*interval)) {
				t.Errorf("%q, last success %v: overdueAfter %v, want %v", spec, last, o, last.Add(2*interval))
			}
		}
	}
}

// manySessions is a BackupConfiguration with n spec.sessions of distinct schedules (daily,
// weekly, monthly and yearly ones, which are the slow kind for a walk over firings), one
// shared BackupStorage, and for each session a repository, a BackupSession and its trigger
// CronJob.
func manySessions(n int) (*kubestash.BackupConfiguration, *fake) {
	b := bc()
	b.Backends = []kubestash.Backend{{Name: "shared", StorageRef: &kubestash.Ref{Namespace: "kubestash", Name: "s3"}}}
	b.Sessions = nil
	l := lookup()
	l.sessions["prod/pg"], l.crons["prod/bc-uid"] = nil, nil
	months := []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		m, h, k := i%60, (i/60)%24, i/1440
		var spec string
		switch i % 4 {
		case 0:
			spec = fmt.Sprintf("%d %d * * %d-%d", m, h, k%7, 6)
		case 1:
			spec = fmt.Sprintf("%d %d %d * *", m, h, 1+k%28)
		case 2:
			spec = fmt.Sprintf("%d %d %d %s,%s *", m, h, 1+(i/7)%31, months[k%12], months[(k+5)%12])
		default:
			spec = fmt.Sprintf("%d %d %d * %d", m, h, 1+(i/3)%31, k%7) // day of month OR weekday
		}
		if seen[spec] {
			panic("duplicate schedule " + spec)
		}
		seen[spec] = true
		name := fmt.Sprintf("session-%04d", i)
		repo := "repo-" + name
		b.Sessions = append(b.Sessions, kubestash.Session{Name: name, Schedule: spec, Addon: "postgres-addon", Tasks: []string{"logical-backup"}, Repositories: []string{repo},
			NextSchedule: t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)})
		created := t0.Add(-time.Duration(i%100) * time.Minute)
		l.repos["prod/"+repo] = &kubestash.Repository{Meta: meta("prod", repo, "70", t0), LastBackupTime: &metav1.Time{Time: created}}
		l.sessions["prod/pg"] = append(l.sessions["prod/pg"], &kubestash.BackupSession{
			Meta:    meta("prod", fmt.Sprintf("pg-%s-%d", name, created.Unix()), fmt.Sprint(100+i), created),
			Invoker: kubestash.InvokerOf("", "BackupConfiguration"), InvokerName: "pg", Session: name, Phase: "Succeeded", Duration: "1m"})
		l.crons["prod/bc-uid"] = append(l.crons["prod/bc-uid"], &kubestash.CronJob{Meta: meta("prod", "trigger-pg-"+name, "90", t0), Schedule: spec})
	}
	return b, l
}

// A view of 5,000 sessions with distinct schedules builds in bounded time (it took a minute
// when each schedule's interval walked 4,096 firings); the bound is generous for slow, shared
// or -race machines, and BenchmarkBuild5000Sessions measures it.
func TestBuild5000SessionsInBoundedTime(t *testing.T) {
	b, l := manySessions(5000)
	start := time.Now()
	v, _ := Build(b, l, Options{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Build took %v", d)
	}
	if len(v.BackupSessions) != 5000 || len(v.CronJobs) != 5000 || len(v.Repositories) != 5000 || len(v.BackupStorages) != 1 || v.Health.OverdueAfter == nil {
		t.Errorf("view: %d sessions, %d cronjobs, %d repositories, %d storages, overdue %v",
			len(v.BackupSessions), len(v.CronJobs), len(v.Repositories), len(v.BackupStorages), v.Health.OverdueAfter)
	}
	for _, c := range v.CronJobs {
		if c.Session == "" {
			t.Fatalf("cronjob %s has no session", c.Name)
		}
	}
}
