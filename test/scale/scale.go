// Package scale is the shape of a generated KubeStash cluster: how many objects of each kind a
// scale has, what they are named and the objects themselves. The objects are a pure function
// of the scale, so two loads of one scale make the same cluster (docs/benchmarks.md, "The
// cluster"). The scale benchmark (cmd/backupview-scale) loads whole scales; the reliability
// tests load whole scales or parts of them.
package scale

import (
	"fmt"
	"strconv"
	"strings"
)

// Scale is the shape of the generated cluster. Every count is exact. The JSON form is what
// the load marker records (test/scale/loader), so the field names stay as they are.
type Scale struct {
	Name         string `json:"name"`
	Namespaces   int    `json:"namespaces"`
	BCs          int    `json:"backupConfigurations"`
	Sessions     int    `json:"backupSessions"`
	Repositories int    `json:"repositories"`
	Storages     int    `json:"backupStorages"`
	Policies     int    `json:"retentionPolicies"`
	// Snapshots: each BackupSession has its Snapshot in the Repository it writes to (when
	// the scale has that Repository). A marker recorded before Snapshots were generated reads
	// false, so a cluster loaded then is not taken for one that has them.
	Snapshots bool `json:"snapshots"`
}

// The presets: Default is the realistic cluster the benchmark's goals are set for, Medium a
// tenth of it (the 28k-object shape of the growth table), Small the CI smoke test (and the
// reliability load test's cluster), Tiny a quick look.
var (
	Default = Scale{Name: "default", Namespaces: 1000, BCs: 10000, Sessions: 100000, Repositories: 10000, Storages: 20, Policies: 20, Snapshots: true}
	Medium  = Scale{Name: "medium", Namespaces: 200, BCs: 2000, Sessions: 20000, Repositories: 2000, Storages: 20, Policies: 20, Snapshots: true}
	Small   = Scale{Name: "small", Namespaces: 20, BCs: 200, Sessions: 2000, Repositories: 200, Storages: 4, Policies: 4, Snapshots: true}
	Tiny    = Scale{Name: "tiny", Namespaces: 2, BCs: 10, Sessions: 40, Repositories: 10, Storages: 2, Policies: 2, Snapshots: true}
)

var presets = map[string]Scale{Default.Name: Default, Medium.Name: Medium, Small.Name: Small, Tiny.Name: Tiny}

// Syntax is what Parse takes, for flag help and errors.
const Syntax = "default, medium, small, tiny or custom:ns=..,bc=..,bs=..,repo=..,storage=..,policy=..,snap=0|1"

// Parse takes a preset name, optionally followed by overrides: "default", "small",
// "small:bs=0" or "custom:ns=100,bc=1000,bs=10000,repo=1000,storage=20,policy=20" (custom
// starts from default; snap=0 leaves the Snapshots out). A scale with overrides is named by the
// whole text.
func Parse(s string) (Scale, error) {
	name, over, _ := strings.Cut(s, ":")
	sc, ok := presets[name]
	if !ok && name != "custom" {
		return sc, fmt.Errorf("unknown scale %q (%s)", name, Syntax)
	}
	if name == "custom" {
		sc = Default
	}
	if over != "" {
		sc.Name = s
		for _, kv := range strings.Split(over, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return sc, fmt.Errorf("bad scale override %q", kv)
			}
			switch k {
			case "ns":
				sc.Namespaces = n
			case "bc":
				sc.BCs = n
			case "bs":
				sc.Sessions = n
			case "repo":
				sc.Repositories = n
			case "storage":
				sc.Storages = n
			case "policy":
				sc.Policies = n
			case "snap":
				if n > 1 {
					return sc, fmt.Errorf("bad scale override %q: snap is 0 or 1", kv)
				}
				sc.Snapshots = n == 1
			default:
				return sc, fmt.Errorf("unknown scale key %q", k)
			}
		}
	}
	if err := sc.Validate(); err != nil {
		return sc, fmt.Errorf("scale %q: %w", s, err)
	}
	return sc, nil
}

// Validate says whether the arithmetic below holds for the scale: every BackupConfiguration
// needs a namespace, a storage and a policy to point at.
func (s Scale) Validate() error {
	if s.Namespaces < 1 || s.BCs < s.Namespaces || s.Storages < 1 || s.Policies < 1 {
		return fmt.Errorf("need at least one namespace, storage and policy, and no fewer BackupConfigurations than namespaces")
	}
	return nil
}

// Derived counts. BackupConfiguration i (0 <= i < BCs) has:

// BCSessions is the number of spec.sessions of BackupConfiguration i: half have two.
func (s Scale) BCSessions(i int) int { return 1 + i%2 }

// CronJobs is one per BackupConfiguration session.
func (s Scale) CronJobs() int { return s.BCs + s.BCs/2 }

// HasTarget: half of the BackupConfigurations (both one- and two-session ones) have a target
// object that exists; the others point at a missing one.
func (s Scale) HasTarget(i int) bool { return (i/2)%2 == 0 }

// HasRepository: the first Repositories BackupConfigurations have their Repository.
func (s Scale) HasRepository(i int) bool { return i < s.Repositories }

// Targets is the number of target objects.
func (s Scale) Targets() int {
	n := 0
	for i := 0; i < s.BCs; i++ {
		if s.HasTarget(i) {
			n++
		}
	}
	return n
}

// RepositoryObjects is the number of Repositories made (Repositories beyond BCs have no
// BackupConfiguration and are not made).
func (s Scale) RepositoryObjects() int { return min(s.Repositories, s.BCs) }

// SnapshotObjects is the number of Snapshots made: one per BackupSession of each
// BackupConfiguration that has its Repository (each session writes to that one Repository).
func (s Scale) SnapshotObjects() int {
	if !s.Snapshots {
		return 0
	}
	n := 0
	for i := 0; i < s.RepositoryObjects(); i++ {
		n += s.SessionsOf(i)
	}
	return n
}

// SessionsOf is how many BackupSessions BackupConfiguration i has (spread evenly).
func (s Scale) SessionsOf(i int) int {
	n := s.Sessions / s.BCs
	if i < s.Sessions%s.BCs {
		n++
	}
	return n
}

// StorageOf and PolicyOf are the BackupStorage and RetentionPolicy BackupConfiguration i
// uses (and its Repository is stored in).
func (s Scale) StorageOf(i int) int { return i % s.Storages }
func (s Scale) PolicyOf(i int) int  { return i % s.Policies }

// Total is every object of the scale, its namespaces included. The shared namespace
// (SharedNamespace) is not counted: the reports have always printed this number, and the
// loader's count, which includes it, is one more.
func (s Scale) Total() int {
	return s.Namespaces + s.BCs + s.Sessions + s.SnapshotObjects() + s.CronJobs() + s.RepositoryObjects() + s.Storages + s.Policies + s.Targets() + len(addons)
}

// SourceObjects is what backupview holds in its informers: everything but namespaces.
func (s Scale) SourceObjects() int { return s.Total() - s.Namespaces }

// String describes the scale as the reports' "Cluster" line does; a scale without Snapshots
// reads as the reports measured before the generator made them.
func (s Scale) String() string {
	snapshots := ""
	if s.Snapshots {
		snapshots = fmt.Sprintf(" %d Snapshots,", s.SnapshotObjects())
	}
	return fmt.Sprintf("%d namespaces, %d BackupConfigurations (half with 2 sessions), %d BackupSessions (with status),%s %d CronJobs, %d Repositories, %d BackupStorages, %d RetentionPolicies, %d targets, %d Addons",
		s.Namespaces, s.BCs, s.Sessions, snapshots, s.CronJobs(), s.Repositories, s.Storages, s.Policies, s.Targets(), len(addons))
}
