package kubestash

import (
	"cmp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Snapshots are storage.kubestash.com Snapshots, one per Repository per BackupSession, in the
// Repository's namespace (docs/design.md, "Restore preview").
var Snapshots = schema.GroupVersionResource{Group: StorageGroup, Version: Version, Resource: "snapshots"}

// Snapshot phases (status.phase, and each component's) and verification outcomes.
const (
	SnapshotSucceeded          = "Succeeded"
	SnapshotFailed             = "Failed"
	SnapshotVerified           = "Verified"
	SnapshotVerificationFailed = "VerificationFailed"
)

// Snapshot is a Snapshot's metadata and the fields a restore or a view shows; the components'
// per-driver statistics, which can be large, are never kept.
type Snapshot struct {
	Meta
	Repository    string // spec.repository, in the Snapshot's namespace
	BackupSession string
	Session       string
	Type          string // FullBackup or IncrementalBackup
	Phase         string // Pending, Running, Succeeded or Failed
	// VerificationStatus is Verified, NotVerified or VerificationFailed.
	VerificationStatus  string
	VerificationSession string
	SnapshotTime        *metav1.Time
	Size                string
	Integrity           *bool
	// Components are the snapshot's components, by name.
	Components []SnapshotComponent
}

// SnapshotComponent is one component of a Snapshot (status.components[name]).
type SnapshotComponent struct {
	Name, Phase, Size, Error string
	Integrity                *bool
}

// DecodeSnapshot decodes a Snapshot from the API server's JSON, tolerantly (a mistyped field
// reads as zero); the decoder skips every field not named here without keeping it.
func DecodeSnapshot(data []byte) *Snapshot {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			Type          string `json:"type"`
			Repository    string `json:"repository"`
			Session       string `json:"session"`
			BackupSession string `json:"backupSession"`
		} `json:"spec"`
		Status struct {
			Phase               string  `json:"phase"`
			VerificationStatus  string  `json:"verificationStatus"`
			VerificationSession string  `json:"verificationSession"`
			SnapshotTime        optTime `json:"snapshotTime"`
			Size                string  `json:"size"`
			Integrity           optBool `json:"integrity"`
			Components          map[string]struct {
				Phase     string  `json:"phase"`
				Size      string  `json:"size"`
				Integrity optBool `json:"integrity"`
				Error     string  `json:"error"`
			} `json:"components"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	s := &Snapshot{
		Meta:                w.Metadata.meta(),
		Repository:          w.Spec.Repository,
		BackupSession:       w.Spec.BackupSession,
		Session:             intern(w.Spec.Session),
		Type:                intern(w.Spec.Type),
		Phase:               intern(w.Status.Phase),
		VerificationStatus:  intern(w.Status.VerificationStatus),
		VerificationSession: w.Status.VerificationSession,
		SnapshotTime:        w.Status.SnapshotTime.t,
		Size:                w.Status.Size,
		Integrity:           w.Status.Integrity.ptr(),
	}
	for name, c := range w.Status.Components {
		s.Components = append(s.Components, SnapshotComponent{Name: name, Phase: intern(c.Phase), Size: c.Size, Error: c.Error, Integrity: c.Integrity.ptr()})
	}
	slices.SortFunc(s.Components, func(a, b SnapshotComponent) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// NewestSnapshotFirst orders Snapshots newest first by snapshot time; one without a time (not
// taken yet) after those with one; then by name.
func NewestSnapshotFirst(a, b *Snapshot) int {
	switch {
	case (a.SnapshotTime == nil) != (b.SnapshotTime == nil):
		if a.SnapshotTime == nil {
			return 1
		}
		return -1
	case a.SnapshotTime != nil && !a.SnapshotTime.Equal(b.SnapshotTime):
		return b.SnapshotTime.Compare(a.SnapshotTime.Time)
	}
	return cmp.Compare(a.Name, b.Name)
}
