package reliability

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kubestash/backupview/test/harness"
)

// gate is a TCP proxy in front of kube-apiserver (TLS passes through untouched) that a test
// can hold (connections wait), refuse (connections are closed at once) or open. backupview's
// source client (--kubeconfig) goes through it, its delegated authentication and
// authorization do not, so a test controls exactly when the sources can sync.
type gate struct {
	ln     net.Listener
	target string
	port   int

	mu    sync.Mutex
	cond  *sync.Cond
	mode  gateMode
	conns map[net.Conn]struct{}
}

type gateMode int

const (
	gateOpen gateMode = iota
	gateHold
	gateRefuse
)

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port from the kernel
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target, port: ln.Addr().(*net.TCPAddr).Port, conns: map[net.Conn]struct{}{}}
	g.cond = sync.NewCond(&g.mu)
	go g.serve()
	t.Cleanup(g.close)
	return g
}

func (g *gate) set(m gateMode) {
	g.mu.Lock()
	g.mode = m
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		g.conns[c] = struct{}{}
		g.mu.Unlock()
		go g.handle(c)
	}
}

func (g *gate) handle(c net.Conn) {
	g.mu.Lock()
	for g.mode == gateHold {
		g.cond.Wait()
	}
	m := g.mode
	g.mu.Unlock()
	if m == gateRefuse {
		g.drop(c)
		return
	}
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		g.drop(c)
		return
	}
	g.mu.Lock()
	g.conns[up] = struct{}{}
	g.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); g.drop(up) }()
	_, _ = io.Copy(c, up)
	g.drop(c)
}

func (g *gate) drop(c net.Conn) {
	_ = c.Close()
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
}

func (g *gate) close() {
	_ = g.ln.Close()
	g.mu.Lock()
	g.mode = gateRefuse
	g.cond.Broadcast()
	for c := range g.conns {
		_ = c.Close()
	}
	g.mu.Unlock()
}

// gateKubeconfig writes an admin kubeconfig that reaches kube-apiserver through the gate.
func gateKubeconfig(t *testing.T, c *harness.Cluster, g *gate) string {
	t.Helper()
	pki := filepath.Join(c.Dir, "pki")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: gate
  cluster:
    server: "https://127.0.0.1:%d"
    certificate-authority: %q
users:
- name: admin
  user:
    client-certificate: %q
    client-key: %q
contexts:
- name: admin@gate
  context: {cluster: gate, user: admin}
current-context: admin@gate
`, g.port, filepath.Join(pki, "ca.crt"), filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	f := filepath.Join(c.Dir, "kubeconfig-gate")
	if err := os.WriteFile(f, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
