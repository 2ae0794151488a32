package kubestash

import (
	"cmp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Backup verification (docs/design.md, "Verification"): a BackupConfiguration names a
// BackupVerifier per Repository (spec.sessions[].repositories[].backupVerifier); each run of a
// verifier is a BackupVerificationSession in the BackupConfiguration's namespace. Both CRDs
// name their plural in the singular form.
var (
	BackupVerifiers            = schema.GroupVersionResource{Group: CoreGroup, Version: Version, Resource: "backupverifier"}
	BackupVerificationSessions = schema.GroupVersionResource{Group: CoreGroup, Version: Version, Resource: "backupverificationsession"}
)

// BackupVerificationSession phases (status.phase).
const (
	VerificationRunning   = "Running"
	VerificationSucceeded = "Succeeded"
	VerificationFailed    = "Failed"
	VerificationSkipped   = "Skipped"
)

// BackupVerifier is a verification recipe: how and when a Repository's snapshots are verified.
type BackupVerifier struct {
	Meta
	Type     string // RestoreOnly, Query or Script
	Schedule string // spec.scheduler.schedule
}

// BackupVerificationSession is one verification run.
type BackupVerificationSession struct {
	Meta
	// Invoker is spec.invoker's name when it is a BackupConfiguration (in the session's
	// namespace); "" otherwise.
	Invoker    string
	Session    string // spec.session: the BackupConfiguration's session
	Repository string // spec.repository, in the session's namespace
	Snapshot   string // spec.snapshot: the Snapshot verified
	Phase      string
	Duration   string
	// Message is the message of the first condition whose status is False: why it failed.
	Message string
}

// DecodeBackupVerifier decodes a BackupVerifier, keeping its type and schedule only.
func DecodeBackupVerifier(data []byte) *BackupVerifier {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			Type      string `json:"type"`
			Scheduler struct {
				Schedule string `json:"schedule"`
			} `json:"scheduler"`
		} `json:"spec"`
	}
	unmarshal(data, &w)
	return &BackupVerifier{Meta: w.Metadata.meta(), Type: intern(w.Spec.Type), Schedule: intern(w.Spec.Scheduler.Schedule)}
}

// DecodeBackupVerificationSession decodes a BackupVerificationSession tolerantly.
func DecodeBackupVerificationSession(data []byte) *BackupVerificationSession {
	var w struct {
		Metadata wireMeta `json:"metadata"`
		Spec     struct {
			Invoker    *wireTypedRef `json:"invoker"`
			Session    string        `json:"session"`
			Repository string        `json:"repository"`
			Snapshot   string        `json:"snapshot"`
		} `json:"spec"`
		Status struct {
			Phase      string           `json:"phase"`
			Duration   string           `json:"duration"`
			Conditions []*wireCondition `json:"conditions"`
		} `json:"status"`
	}
	unmarshal(data, &w)
	s := &BackupVerificationSession{Meta: w.Metadata.meta(), Session: intern(w.Spec.Session), Repository: w.Spec.Repository,
		Snapshot: w.Spec.Snapshot, Phase: intern(w.Status.Phase), Duration: w.Status.Duration}
	if i := w.Spec.Invoker; i != nil && i.Kind == "BackupConfiguration" && (i.APIGroup == CoreGroup || i.APIGroup == "") {
		s.Invoker = i.Name
	}
	for _, c := range present(w.Status.Conditions) {
		if c.Status == string(metav1.ConditionFalse) && c.Message != "" {
			s.Message = c.Message
			break
		}
	}
	return s
}

// Verifier is the BackupVerifier a BackupConfiguration names for repository, with the
// namespace defaulted to the BackupConfiguration's; nil when none does.
func (bc *BackupConfiguration) Verifier(repository string) *Ref {
	for _, s := range bc.Sessions {
		for _, v := range s.Verifiers {
			if v.Repository == repository {
				return &Ref{Namespace: cmp.Or(v.Verifier.Namespace, bc.Namespace), Name: v.Verifier.Name}
			}
		}
	}
	return nil
}
