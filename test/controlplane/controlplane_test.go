package controlplane

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPKIIsMadeOnceAndRemadeWhenWrong(t *testing.T) {
	dir := t.TempDir()
	var made []string
	logf := func(f string, a ...any) { made = append(made, fmt.Sprint(a...)) }
	if err := ensurePKI(dir, func(f string, a ...any) { logf(f, a...) }); err != nil {
		t.Fatal(err)
	}
	if len(made) != len(pkiSpecs)+1 { // and sa.key
		t.Fatalf("made %v", made)
	}
	roots := map[string]*x509.CertPool{}
	for _, s := range pkiSpecs {
		crt, err := readCert(filepath.Join(dir, s.name+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		if s.ca == "" {
			roots[s.name] = x509.NewCertPool()
			roots[s.name].AddCert(crt)
			continue
		}
		usage := x509.ExtKeyUsageClientAuth
		if s.server {
			usage = x509.ExtKeyUsageServerAuth
		}
		if _, err := crt.Verify(x509.VerifyOptions{Roots: roots[s.ca], KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("%s does not verify against %s: %v", s.name, s.ca, err)
		}
	}
	admin, _ := readCert(filepath.Join(dir, "admin.crt"))
	if admin.Subject.CommonName != "admin" || len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin is %v", admin.Subject)
	}
	bv, _ := readCert(filepath.Join(dir, "backupview.crt"))
	if err := bv.VerifyHostname("backupview.backupview-system.svc"); err != nil {
		t.Error(err)
	}

	// A second run keeps everything.
	made = nil
	if err := ensurePKI(dir, func(f string, a ...any) { logf(f, a...) }); err != nil || len(made) != 0 {
		t.Fatalf("second run made %v (%v)", made, err)
	}
	// A leaf that says something else (another CN), or a new CA, is made again.
	if _, err := ensureCert(dir, certSpec{name: "alice", ca: "ca", cn: "bob"}); err != nil {
		t.Fatal(err)
	}
	made = nil
	if err := ensurePKI(dir, func(f string, a ...any) { logf(f, a...) }); err != nil || strings.Join(made, ",") != "alice" {
		t.Fatalf("after alice changed: made %v (%v)", made, err)
	}
	if err := os.Remove(filepath.Join(dir, "front-proxy-ca.key")); err != nil {
		t.Fatal(err)
	}
	made = nil
	if err := ensurePKI(dir, func(f string, a ...any) { logf(f, a...) }); err != nil || strings.Join(made, ",") != "front-proxy-ca,front-proxy-client" {
		t.Fatalf("after front-proxy-ca's key went: made %v (%v)", made, err)
	}
}

func TestFreePortsDiffer(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v", ports)
		}
		seen[p] = true
		if err := portFree(p); err != nil {
			t.Error(err)
		}
	}
}

// A component is a process group of its own: Stop ends it and its children, and a later
// command (another Cluster on the same directory) finds it and may stop it too.
func TestSpawnAndStop(t *testing.T) {
	bin := t.TempDir()
	// "etcd" here is a shell that starts a child and ignores SIGTERM, so that Stop must
	// signal the group and fall back to SIGKILL.
	script := "#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho child $!\nwait\n"
	if err := os.WriteFile(filepath.Join(bin, Etcd), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: t.TempDir(), BinDir: bin, StopGrace: 300 * time.Millisecond}
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.state.Ports = Ports{Etcd: 1, EtcdPeer: 2, APIServer: 3, ControllerManager: 4, Server: 5}
	if err := c.locked(func() error { return c.spawn(Etcd, []string{"--x"}) }); err != nil {
		t.Fatal(err)
	}
	pid := c.Pid(Etcd)
	if pid == 0 {
		t.Fatal("not running after spawn")
	}
	// Another Cluster on the same directory: same process, and a port change is refused.
	d, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pid(Etcd) != pid {
		t.Fatalf("reopened: pid %d, want %d", d.Pid(Etcd), pid)
	}
	if _, err := Open(Config{Dir: cfg.Dir, BinDir: bin, Ports: Ports{Etcd: 9}}); err == nil {
		t.Error("a new etcd port was taken while etcd runs")
	}
	var childPid int
	for i := 0; i < 100 && childPid == 0; i++ { // the script writes its child's PID first thing
		b, _ := os.ReadFile(c.Log(Etcd))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "child "); ok {
				childPid = atoi(v)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if childPid == 0 {
		t.Fatal("no child PID in the log")
	}
	if err := d.Stop(Etcd, 0); err != nil { // not d's child: waited on through a pidfd
		t.Fatal(err)
	}
	if _, ok := startTicks(pid); ok {
		t.Error("still alive after Stop")
	}
	// The group got the signal with its leader; Stop waits for the leader, and the child's
	// own exit follows it (it may lag under load): it must come, on its pidfd.
	if !waitExit(nil, childPid, 5*time.Second) {
		t.Error("its child is still alive 5 s after Stop")
	}
	if d.Pid(Etcd) != 0 {
		t.Error("still recorded")
	}
	if err := d.Stop(Etcd, 0); err != nil {
		t.Errorf("stopping what does not run: %v", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func TestDownPurgesOnlyClusterDirectories(t *testing.T) {
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(Config{Dir: other})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Down(true); err == nil {
		t.Error("purged a directory that is not a cluster's")
	}
	if _, err := os.Stat(filepath.Join(other, "keep")); err != nil {
		t.Error(err)
	}
	if err := c.save(); err != nil {
		t.Fatal(err)
	}
	if err := c.Down(true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("not deleted: %v", err)
	}
}
