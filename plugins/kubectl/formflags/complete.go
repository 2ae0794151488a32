package formflags

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// Complete offers the values of flag that start with toComplete, from a namespace's form
// options (the console's dropdowns) and the flags given before it: the storages, retention
// policies and targets offered there; for --session its keys and the Addons; for --task its
// keys, the sessions given, the backup tasks of the session's Addon, their parameters and the
// encryption Secrets. A candidate may carry a description after a tab (cobra's convention).
// more is true when a value can go on after a candidate (--session and --task take several
// KEY=VALUE fields), so the shell should not end the word.
func Complete(opts *v1alpha1.BackupConfigurationOptions, given *Flags, flag, toComplete string) (candidates []string, more bool) {
	if opts == nil {
		opts = &v1alpha1.BackupConfigurationOptions{}
	}
	if given == nil {
		given = &Flags{}
	}
	var out []string
	switch flag {
	case Storage:
		for _, s := range opts.Storages {
			out = append(out, described(s.Ref, s.Provider, s.Phase, flagged(s.Default, "default")))
		}
	case RetentionPolicy:
		for _, r := range opts.RetentionPolicies {
			out = append(out, described(r.Ref, r.MaxRetentionPeriod, flagged(r.Default, "default")))
		}
	case Target:
		for _, t := range opts.Targets {
			out = append(out, TargetValue(t))
		}
	case Session:
		out, more = completeSession(opts, toComplete), true
	case Task:
		out, more = completeTask(opts, given, toComplete), true
	default:
		return nil, false
	}
	return matching(out, toComplete), more
}

func completeSession(opts *v1alpha1.BackupConfigurationOptions, toComplete string) []string {
	head, done, key, hasValue := split(toComplete)
	if !hasValue {
		return keysLeft(head, done, sessionKeys)
	}
	var out []string
	if key == sessAddon {
		for _, a := range opts.Addons {
			out = append(out, head+sessAddon+"="+a.Name)
		}
	}
	return out
}

func completeTask(opts *v1alpha1.BackupConfigurationOptions, given *Flags, toComplete string) []string {
	head, done, key, hasValue := split(toComplete)
	sessions := givenSessions(given)
	addon := ""
	sess, ok := done[taskSession]
	switch {
	case ok:
		for _, s := range sessions {
			if s.Name == sess {
				addon = s.Addon
			}
		}
	case len(sessions) == 1:
		addon = sessions[0].Addon
	}
	task := done[taskName]
	if !hasValue {
		keys := keysLeft(head, done, taskKeys)
		if typingParam(key) {
			keys = paramKeys(head, done, parameters(opts, addon, task, backupTasks))
		}
		return keys
	}
	var out []string
	switch key {
	case taskSession:
		for _, s := range sessions {
			out = append(out, described(head+taskSession+"="+s.Name, s.Addon))
		}
	case taskName:
		seen := map[string]bool{}
		for _, a := range opts.Addons {
			if addon != "" && a.Name != addon {
				continue
			}
			for _, t := range a.BackupTasks {
				if !seen[t.Name] {
					seen[t.Name] = true
					out = append(out, described(head+taskName+"="+t.Name, a.Name))
				}
			}
		}
	case taskSecret:
		for _, s := range opts.EncryptionSecrets {
			out = append(out, head+taskSecret+"="+s)
		}
	}
	return out
}

// typingParam is true while the key being typed is param. or param.KEY (or its start, param).
func typingParam(key string) bool {
	return strings.HasPrefix(key, paramPrefix) || key+"." == paramPrefix
}

// paramKeys offers param.KEY= for each parameter not given yet, with its usage, required and
// default.
func paramKeys(head string, done map[string]string, params []v1alpha1.TaskParameter) []string {
	var keys []string
	for _, p := range params {
		if _, set := done[paramPrefix+p.Name]; !set {
			keys = append(keys, described(head+paramPrefix+p.Name+"=", p.Usage, flagged(p.Required, "required"), defaulted(p.Default)))
		}
	}
	return keys
}

func backupTasks(a v1alpha1.AddonOption) []v1alpha1.TaskOption  { return a.BackupTasks }
func restoreTasks(a v1alpha1.AddonOption) []v1alpha1.TaskOption { return a.RestoreTasks }

// parameters of the task named task among tasksOf each Addon, in addon (any Addon when "").
func parameters(opts *v1alpha1.BackupConfigurationOptions, addon, task string, tasksOf func(v1alpha1.AddonOption) []v1alpha1.TaskOption) []v1alpha1.TaskParameter {
	for _, a := range opts.Addons {
		if addon != "" && a.Name != addon {
			continue
		}
		for _, t := range tasksOf(a) {
			if t.Name == task {
				return t.Parameters
			}
		}
	}
	return nil
}

// givenSessions are the --session values given so far that parse.
func givenSessions(given *Flags) []v1alpha1.PreviewSession {
	var out []v1alpha1.PreviewSession
	for _, v := range given.Sessions {
		if s, err := session(v); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// split reads a KEY=VALUE list being typed: head is everything up to the field being typed
// (with its comma), done the fields before it, key the key being typed (all of the field when
// it has no '=' yet), and hasValue whether its '=' is there.
func split(toComplete string) (head string, done map[string]string, key string, hasValue bool) {
	done = map[string]string{}
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		head = toComplete[:i+1]
		if fs, err := fields(toComplete[:i]); err == nil {
			for _, kv := range fs {
				done[kv[0]] = kv[1]
			}
		}
	}
	key, _, hasValue = strings.Cut(toComplete[len(head):], "=")
	return head, done, key, hasValue
}

// keysLeft offers KEY= for each key not given yet (param. always, as it repeats).
func keysLeft(head string, done map[string]string, keys []string) []string {
	var out []string
	for _, k := range keys {
		if k == paramPrefix {
			out = append(out, head+k)
			continue
		}
		if _, set := done[k]; !set {
			out = append(out, head+k+"=")
		}
	}
	return out
}

func matching(candidates []string, prefix string) []string {
	return slices.DeleteFunc(candidates, func(c string) bool {
		value, _, _ := strings.Cut(c, "\t")
		return !strings.HasPrefix(value, prefix)
	})
}

// described is value with a description of the non-empty details, after a tab.
func described(value string, details ...string) string {
	details = slices.DeleteFunc(details, func(s string) bool { return s == "" })
	if len(details) == 0 {
		return value
	}
	// One line: a shell reads one candidate per line.
	return value + "\t" + strings.Join(strings.Fields(strings.Join(details, ", ")), " ")
}

func flagged(b bool, word string) string {
	if b {
		return word
	}
	return ""
}

func defaulted(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf("default %q", d)
}
