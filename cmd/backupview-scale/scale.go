package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Scale is the shape of the generated cluster. Every count is exact; the objects are a pure
// function of the scale, so two runs with the same scale produce the same cluster.
type Scale struct {
	Name         string `json:"name"`
	Namespaces   int    `json:"namespaces"`
	BCs          int    `json:"backupConfigurations"`
	Sessions     int    `json:"backupSessions"`
	Repositories int    `json:"repositories"`
	Storages     int    `json:"backupStorages"`
	Policies     int    `json:"retentionPolicies"`
}

// Presets: default is the realistic cluster; small is the CI smoke test.
var presets = map[string]Scale{
	"default": {Name: "default", Namespaces: 1000, BCs: 10000, Sessions: 100000, Repositories: 10000, Storages: 20, Policies: 20},
	"small":   {Name: "small", Namespaces: 20, BCs: 200, Sessions: 2000, Repositories: 200, Storages: 4, Policies: 4},
	"tiny":    {Name: "tiny", Namespaces: 2, BCs: 10, Sessions: 40, Repositories: 10, Storages: 2, Policies: 2},
}

// ParseScale takes a preset name, optionally followed by overrides:
// "default", "small", or "custom:ns=100,bc=1000,bs=10000,repo=1000,storage=20,policy=20".
func ParseScale(s string) (Scale, error) {
	name, over, _ := strings.Cut(s, ":")
	sc, ok := presets[name]
	if !ok && name != "custom" {
		return sc, fmt.Errorf("unknown scale %q (default, small, tiny or custom:ns=..,bc=..,bs=..,repo=..,storage=..,policy=..)", name)
	}
	if name == "custom" {
		sc = presets["default"]
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
			default:
				return sc, fmt.Errorf("unknown scale key %q", k)
			}
		}
	}
	if sc.Namespaces < 1 || sc.BCs < sc.Namespaces || sc.Storages < 1 || sc.Policies < 1 {
		return sc, fmt.Errorf("scale %q: need at least one namespace, storage and policy, and no fewer BackupConfigurations than namespaces", s)
	}
	return sc, nil
}

// Derived counts.

// BCSessions is the number of spec.sessions of BackupConfiguration i: half have two.
func (s Scale) BCSessions(i int) int { return 1 + i%2 }

// CronJobs is one per BackupConfiguration session.
func (s Scale) CronJobs() int { return s.BCs + s.BCs/2 }

// HasTarget: half of the BackupConfigurations (both one- and two-session ones) have a target
// object that exists.
func (s Scale) HasTarget(i int) bool { return (i/2)%2 == 0 }

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

// SessionsOf is how many BackupSessions BackupConfiguration i has (spread evenly).
func (s Scale) SessionsOf(i int) int {
	n := s.Sessions / s.BCs
	if i < s.Sessions%s.BCs {
		n++
	}
	return n
}

// Total is every object the loader creates (namespaces included).
func (s Scale) Total() int {
	return s.Namespaces + s.BCs + s.Sessions + s.CronJobs() + s.Repositories + s.Storages + s.Policies + s.Targets() + len(addons)
}

// SourceObjects is what backupview holds in its informers: everything but namespaces.
func (s Scale) SourceObjects() int { return s.Total() - s.Namespaces }

func (s Scale) String() string {
	return fmt.Sprintf("%d namespaces, %d BackupConfigurations (half with 2 sessions), %d BackupSessions (with status), %d CronJobs, %d Repositories, %d BackupStorages, %d RetentionPolicies, %d targets, %d Addons",
		s.Namespaces, s.BCs, s.Sessions, s.CronJobs(), s.Repositories, s.Storages, s.Policies, s.Targets(), len(addons))
}
