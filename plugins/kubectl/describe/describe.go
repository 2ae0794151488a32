// Package describe renders a BackupConfigurationView as the console's detail page in the
// terminal (docs/design.md, "kubectl plugin"): the health verdict and its reasons first, then
// the Basic, Sessions, Backup Sessions, Retention Policies, Target, Repository, BackupStorage
// and CronJobs panels, each an aligned table with the console's columns. It reads only the
// view; the clock is a parameter, so the same view and instant always print the same text.
package describe

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// NoData is what the console shows for a target that is not found.
const NoData = "No data available"

// none fills an empty cell, as kubectl does.
const none = "<none>"

// Views writes every view, in order, separated by a blank line.
func Views(w io.Writer, views []v1alpha1.BackupConfigurationView, now time.Time) error {
	for i := range views {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := View(w, &views[i], now); err != nil {
			return err
		}
	}
	return nil
}

// View writes one view's detail page as seen at now (docs/design.md, "Health").
func View(w io.Writer, v *v1alpha1.BackupConfigurationView, now time.Time) error {
	p := &page{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0), now: now}
	p.health(v)
	p.basic(v)
	p.sessions(v)
	p.backupSessions(v)
	p.retentionPolicies(v)
	p.target(v)
	p.repositories(v)
	p.snapshots(v)
	p.verification(v)
	p.backupStorages(v)
	p.cronJobs(v)
	return p.tw.Flush()
}

// page writes through one tabwriter; every block of aligned lines (a panel's fields, a
// table) is flushed on its own, so that one block's widths never leak into another's.
type page struct {
	tw  *tabwriter.Writer
	now time.Time
}

// line writes one line of cells at an indentation level (two spaces each).
func (p *page) line(indent int, cells ...string) {
	fmt.Fprintf(p.tw, "%s%s\n", strings.Repeat("  ", indent), strings.Join(cells, "\t"))
}

// block ends the current block of aligned lines.
func (p *page) block() { _ = p.tw.Flush() }

// title starts a panel, after a blank line.
func (p *page) title(name string) {
	p.block()
	p.line(0, "")
	p.line(0, name+":")
}

// table writes a header and rows at an indentation level as one block, or <none> without rows.
func (p *page) table(indent int, header []string, rows [][]string) {
	p.block()
	if len(rows) == 0 {
		p.line(indent, none)
		return
	}
	p.line(indent, header...)
	for _, r := range rows {
		p.line(indent, r...)
	}
	p.block()
}

func (p *page) health(v *v1alpha1.BackupConfigurationView) {
	h := &v.Health
	p.line(0, "Health:", h.VerdictAt(p.now))
	p.block()
	p.line(1, "Reasons:")
	rows := make([][]string, 0, len(h.Reasons))
	for _, r := range h.Reasons {
		rows = append(rows, []string{r.Type, p.holds(r.After), object(r.Object), cell(r.Field), oneLine(r.Message)})
	}
	p.table(2, []string{"TYPE", "HOLDS", "OBJECT", "FIELD", "MESSAGE"}, rows)
	p.line(1, "Last Session:", cell(h.LastSessionPhase))
	p.line(1, "Last Success:", p.instant(h.LastSuccessfulBackupTime))
	if next, ok := v.NextRun(p.now); ok {
		p.line(1, "Next Run:", p.instant(&metav1.Time{Time: next}))
	} else {
		p.line(1, "Next Run:", none)
	}
	p.line(1, "Overdue After:", p.instant(h.OverdueAfter))
}

func (p *page) basic(v *v1alpha1.BackupConfigurationView) {
	p.title("Basic")
	p.line(1, "Name:", v.Name)
	p.line(1, "Namespace:", v.Namespace)
	p.pairs("Labels:", v.Labels)
	p.pairs("Annotations:", v.Annotations)
	p.line(1, "UID:", cell(string(v.Basic.UID)))
	p.line(1, "Phase:", cell(v.Basic.Phase))
	p.line(1, "Paused:", strconv.FormatBool(v.Basic.Paused))
	p.line(1, "Age:", p.age(&v.CreationTimestamp))
	if len(v.Basic.Conditions) == 0 {
		p.line(1, "Conditions:", none)
		return
	}
	p.line(1, "Conditions:")
	rows := make([][]string, 0, len(v.Basic.Conditions))
	for _, c := range v.Basic.Conditions {
		rows = append(rows, []string{c.Type, c.Status, cell(c.Reason), cell(c.Message), p.age(c.LastTransitionTime)})
	}
	p.table(2, []string{"TYPE", "STATUS", "REASON", "MESSAGE", "AGE"}, rows)
}

// pairs writes a map as kubectl describe does: the first key on the title's line, the others
// below it, sorted.
func (p *page) pairs(title string, m map[string]string) {
	if len(m) == 0 {
		p.line(1, title, none)
		return
	}
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i == 0 {
			p.line(1, title, k+"="+m[k])
		} else {
			p.line(1, "", k+"="+m[k])
		}
	}
}

func (p *page) sessions(v *v1alpha1.BackupConfigurationView) {
	p.title("Sessions")
	rows := make([][]string, 0, len(v.Sessions))
	for _, s := range v.Sessions {
		rows = append(rows, []string{s.Name, cell(s.Schedule), p.instant(s.NextSchedule)})
	}
	p.table(1, []string{"NAME", "SCHEDULE", "NEXT SCHEDULE"}, rows)
}

func (p *page) backupSessions(v *v1alpha1.BackupConfigurationView) {
	p.title("Backup Sessions")
	rows := make([][]string, 0, len(v.BackupSessions))
	for _, s := range v.BackupSessions { // newest first, as the view orders them
		rows = append(rows, []string{s.Name, s.Namespace, cell(s.InvokerKind), cell(s.InvokerName), cell(s.Session),
			count(s.TotalSnapshots), cell(s.Phase), cell(s.Duration), p.age(s.CreationTimestamp)})
	}
	p.table(1, []string{"NAME", "NAMESPACE", "INVOKER KIND", "INVOKER NAME", "SESSION", "TOTAL SNAPSHOTS", "PHASE", "DURATION", "AGE"}, rows)
}

func (p *page) retentionPolicies(v *v1alpha1.BackupConfigurationView) {
	p.title("Retention Policies")
	rows := make([][]string, 0, len(v.RetentionPolicies))
	var notes []string
	for _, r := range v.RetentionPolicies {
		if miss := missing(r.Found, r.Restricted); miss != "" {
			rows = append(rows, []string{r.Name, r.Namespace, miss})
			if r.Restricted != "" {
				notes = append(notes, r.Namespace+"/"+r.Name+": "+r.Restricted)
			}
			continue
		}
		rows = append(rows, []string{r.Name, r.Namespace, pairsCell(r.Annotations), p.age(r.CreationTimestamp), cell(r.MaxRetentionPeriod), strconv.FormatBool(r.Default)})
	}
	p.table(1, []string{"NAME", "NAMESPACE", "ANNOTATIONS", "AGE", "MAX RETENTION PERIOD", "DEFAULT"}, rows)
	p.notes(notes)
}

func (p *page) target(v *v1alpha1.BackupConfigurationView) {
	p.title("Target")
	t := v.Target
	ref := t.Kind + " " + t.Namespace + "/" + t.Name
	switch {
	case t.Restricted != "":
		p.line(1, fmt.Sprintf("%s (%s: %s)", NoData, ref, t.Restricted))
	case !t.Found:
		p.line(1, fmt.Sprintf("%s (%s not found)", NoData, ref))
	default:
		p.table(1, []string{"API GROUP", "KIND", "NAMESPACE", "NAME", "AGE"},
			[][]string{{cell(t.APIGroup), t.Kind, t.Namespace, t.Name, p.age(t.CreationTimestamp)}})
	}
}

func (p *page) repositories(v *v1alpha1.BackupConfigurationView) {
	p.title("Repository")
	rows := make([][]string, 0, len(v.Repositories))
	for _, r := range v.Repositories {
		if !r.Found {
			rows = append(rows, []string{r.Name, r.Namespace, "<not found>"})
			continue
		}
		integrity := none
		if r.Integrity != nil {
			integrity = strings.ToUpper(strconv.FormatBool(*r.Integrity)) // the console's TRUE / FALSE
		}
		rows = append(rows, []string{r.Name, r.Namespace, cell(r.Size), count(r.SnapshotCount), cell(r.Target),
			p.ago(r.LastSuccessfulBackupTime), integrity, p.age(r.CreationTimestamp)})
	}
	p.table(1, []string{"NAME", "NAMESPACE", "SIZE", "SNAPSHOT COUNT", "TARGET", "LAST-SUCCESSFUL-BACKUP", "INTEGRITY", "AGE"}, rows)
}

// snapshots is every repository's newest Snapshots, newest first, and how many of all.
func (p *page) snapshots(v *v1alpha1.BackupConfigurationView) {
	p.title("Snapshots")
	var rows [][]string
	var notes []string
	for _, r := range v.Repositories {
		rows = append(rows, SnapshotRows(r, p.now)...)
		if n := int32(len(r.Snapshots)); n < r.SnapshotsTotal {
			notes = append(notes, fmt.Sprintf("%s: the newest %d of %d", r.Name, n, r.SnapshotsTotal))
		}
		for _, s := range r.Snapshots {
			for _, c := range s.FailedComponents {
				notes = append(notes, fmt.Sprintf("%s: component %s failed: %s", s.Name, c.Name, cell(c.Error)))
			}
		}
	}
	p.table(1, SnapshotHeader, rows)
	p.notes(notes)
}

// SnapshotHeader is the header of SnapshotRows.
var SnapshotHeader = []string{"REPOSITORY", "NAME", "SNAPSHOT-TIME", "PHASE", "SIZE", "INTEGRITY", "VERIFICATION", "BACKUPSESSION"}

// SnapshotRows are a repository's Snapshots as table rows, seen at now.
func SnapshotRows(r v1alpha1.RepositoryRef, now time.Time) [][]string {
	p := &page{now: now}
	rows := make([][]string, 0, len(r.Snapshots))
	for _, s := range r.Snapshots {
		integrity := none
		if s.Integrity != nil {
			integrity = strings.ToUpper(strconv.FormatBool(*s.Integrity))
		}
		rows = append(rows, []string{r.Name, s.Name, p.ago(s.SnapshotTime), cell(s.Phase), cell(s.Size), integrity, cell(s.VerificationStatus), cell(s.BackupSession)})
	}
	return rows
}

// verification is, for every repository with a BackupVerifier, the verifier, its newest
// verification and the newest verified Snapshot; no panel when none has one.
func (p *page) verification(v *v1alpha1.BackupConfigurationView) {
	var rows [][]string
	var notes []string
	for _, r := range v.Repositories {
		vr := r.Verification
		if vr == nil {
			continue
		}
		verifier := vr.Verifier.Namespace + "/" + vr.Verifier.Name
		if miss := missing(vr.Found, vr.Restricted); miss != "" {
			verifier += " " + miss
			if vr.Restricted != "" {
				notes = append(notes, verifier+": "+vr.Restricted)
			}
		}
		last, phase, snapshot := none, none, none
		if s := vr.LastSession; s != nil {
			last, phase = s.Name+" ("+p.ago(s.CreationTimestamp)+")", cell(s.Phase)
			if s.Message != "" {
				notes = append(notes, s.Name+": "+oneLine(s.Message))
			}
		}
		if s := vr.LastVerifiedSnapshot; s != nil {
			snapshot = s.Name
		}
		rows = append(rows, []string{r.Name, verifier, cell(vr.Type), cell(vr.Schedule), last, phase, p.ago(vr.LastSuccessfulVerificationTime), snapshot})
	}
	if len(rows) == 0 {
		return
	}
	p.title("Verification")
	p.table(1, []string{"REPOSITORY", "VERIFIER", "TYPE", "SCHEDULE", "LAST VERIFICATION", "PHASE", "LAST SUCCESS", "LAST VERIFIED SNAPSHOT"}, rows)
	p.notes(notes)
}

func (p *page) backupStorages(v *v1alpha1.BackupConfigurationView) {
	p.title("BackupStorage")
	rows := make([][]string, 0, len(v.BackupStorages))
	var notes []string
	for _, s := range v.BackupStorages {
		if miss := missing(s.Found, s.Restricted); miss != "" {
			rows = append(rows, []string{s.Name, s.Namespace, miss})
			if s.Restricted != "" {
				notes = append(notes, s.Namespace+"/"+s.Name+": "+s.Restricted)
			}
			continue
		}
		rows = append(rows, []string{s.Name, s.Namespace, cell(s.Provider), cell(s.Size), strconv.Itoa(int(s.ConnectedRepositories)), cell(s.Phase), p.age(s.CreationTimestamp)})
	}
	p.table(1, []string{"NAME", "NAMESPACE", "PROVIDER", "SIZE", "NO. OF CONNECTED REPOSITORIES", "STATUS", "AGE"}, rows)
	p.notes(notes)
}

func (p *page) cronJobs(v *v1alpha1.BackupConfigurationView) {
	p.title("CronJobs")
	rows := make([][]string, 0, len(v.CronJobs))
	for _, c := range v.CronJobs {
		rows = append(rows, []string{c.Name, c.Namespace, pairsCell(c.Annotations), cell(c.Schedule), strconv.FormatBool(c.Suspend),
			strconv.Itoa(int(c.Active)), p.ago(c.LastScheduleTime), p.age(c.CreationTimestamp)})
	}
	p.table(1, []string{"NAME", "NAMESPACE", "ANNOTATIONS", "SCHEDULE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"}, rows)
}

// notes writes, below a panel, why entries show only their reference.
func (p *page) notes(notes []string) {
	p.block()
	for _, n := range notes {
		p.line(1, "("+n+")")
	}
}

// missing is the cell shown after the reference of an entry with no details.
func missing(found bool, restricted string) string {
	switch {
	case restricted != "":
		return "<restricted>"
	case !found:
		return "<not found>"
	}
	return ""
}

// holds says from when a health reason holds: always, since an instant, or from one to come.
func (p *page) holds(after *metav1.Time) string {
	if after == nil {
		return "always"
	}
	if after.After(p.now) {
		return "in " + duration.HumanDuration(after.Sub(p.now))
	}
	return "since " + duration.HumanDuration(p.now.Sub(after.Time))
}

// age is the time since t, as kubectl's AGE.
func (p *page) age(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	// A time slightly ahead of the local clock (skew) reads as now.
	return duration.HumanDuration(max(p.now.Sub(t.Time), 0))
}

// ago is an age for an event ("5m ago"), as the console's Last-Successful-Backup.
func (p *page) ago(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return p.age(t) + " ago"
}

// instant is an absolute time in UTC with how far it is from now.
func (p *page) instant(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	at := t.UTC().Format(time.RFC3339)
	if t.After(p.now) {
		return fmt.Sprintf("%s (in %s)", at, duration.HumanDuration(t.Sub(p.now)))
	}
	return fmt.Sprintf("%s (%s ago)", at, duration.HumanDuration(p.now.Sub(t.Time)))
}

func object(o v1alpha1.TypedObjectReference) string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

func count(n *int32) string {
	if n == nil {
		return none
	}
	return strconv.Itoa(int(*n))
}

func cell(s string) string {
	if s == "" {
		return none
	}
	return oneLine(s)
}

// pairsCell is a map in one cell: k=v pairs, sorted, comma-separated.
func pairsCell(m map[string]string) string {
	if len(m) == 0 {
		return none
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return oneLine(strings.Join(parts, ","))
}

// oneLine keeps a cell on its line: tabs and newlines would break the table.
func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ").Replace(s)
}
