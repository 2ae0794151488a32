package formflags

import (
	"strings"
	"testing"
)

func TestRestoreForm(t *testing.T) {
	f := RestoreFlags{
		Repository: "mongodb-repo", At: "2026-12-07T10:00:00+01:00", Exclusive: true,
		Components: []string{"dump"}, Target: "MongoDB.kubedb.com/prod/mongodb", Addon: "mongodb-addon",
		Tasks:            []string{"name=logical-backup-restore,param.args=--drop", "name=manifest-restore,params-file=p.yaml"},
		EncryptionSecret: "keys/encrypt-secret", RestoreTimeout: "1h30m", Labels: []string{"team=db"},
		ReadFile: func(string) ([]byte, error) { return []byte("a: 1\n"), nil },
	}
	p, o, err := f.Form("demo", "r1")
	if err != nil {
		t.Fatal(err)
	}
	s := p.Spec
	if p.Name != "r1" || p.Namespace != "demo" || s.Repository.Name != "mongodb-repo" || s.Snapshot != "" ||
		s.PITR == nil || !s.PITR.Exclusive || s.PITR.TargetTime.UTC().Format("15:04") != "09:00" ||
		s.Target.Kind != "MongoDB" || s.Target.APIGroup != "kubedb.com" || s.Target.Namespace != "prod" ||
		s.Addon.Name != "mongodb-addon" || len(s.Addon.Tasks) != 2 || string(s.Addon.Tasks[0].Params.Raw) != `{"args":"--drop"}` ||
		s.Addon.Tasks[1].ParamsText != "a: 1\n" || s.EncryptionSecret.Namespace != "keys" || s.RestoreTimeout.Duration.String() != "1h30m0s" ||
		s.Labels["team"] != "db" {
		t.Errorf("form: %+v", s)
	}
	for path, want := range map[string]string{
		"spec.addon.tasks[1].name": `--task "name=manifest-restore,params-file=p.yaml"`,
		"spec.addon.tasks[5].name": "",
		"spec.addon.tasks":         "--task",
		"spec.addon.name":          "--addon",
		"spec.snapshot":            "--snapshot or --at",
		"spec.pitr.targetTime":     "--at",
		"spec.repository.name":     "--repository",
		"spec.components[0]":       "--component",
		"spec.target.kind":         "--target",
		"spec.encryptionSecret":    "--encryption-secret",
		"spec.restoreTimeout":      "--restore-timeout",
		"metadata.name":            "--name",
		"spec.repositoryX":         "",
		"status.snapshot":          "",
	} {
		if got := o.Of(path); got != want {
			t.Errorf("Of(%s) = %q, want %q", path, got, want)
		}
	}
	if (*RestoreOrigins)(nil).Of("spec.snapshot") != "" {
		t.Error("nil origins name a flag")
	}
}

func TestRestoreFormErrors(t *testing.T) {
	f := RestoreFlags{Snapshot: "latest", At: "x", Target: "mongodb", Tasks: []string{"name=a,b"}, EncryptionSecret: "a/b/c", RestoreTimeout: "x", Labels: []string{"novalue"}}
	_, _, err := f.Form("demo", "r1")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"give --snapshot or --at, not both", `--target "mongodb"`, `--task "name=a,b"`, `--encryption-secret "a/b/c"`, `--restore-timeout "x"`, `--label "novalue"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
}
