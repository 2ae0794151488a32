package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stateFile, in the state directory, records the ports and the processes started; its
// presence also marks the directory as a cluster's (Down with purge deletes only such).
const stateFile = "state.json"

type state struct {
	Ports Ports `json:"ports"`
	// Node: the cluster runs a node (Config.Node), on NodeIP.
	Node   bool   `json:"node,omitempty"`
	NodeIP string `json:"nodeIP,omitempty"`
	// Sysctls are the host's values before the node changed them, put back by Down.
	Sysctls   map[string]string `json:"sysctls,omitempty"`
	Processes map[string]proc   `json:"processes,omitempty"`
}

// proc is a process this package started. StartTicks (its start time, /proc/PID/stat field
// 22) tells it from a later process that got the same PID.
type proc struct {
	Pid        int      `json:"pid"`
	StartTicks uint64   `json:"startTicks"`
	Binary     string   `json:"binary"`
	Args       []string `json:"args"`
}

// child is a process started by this Cluster: a goroutine reaps it and closes done.
type child struct {
	pid  int
	done chan struct{}
}

func (c *Cluster) load() error {
	b, err := os.ReadFile(filepath.Join(c.cfg.Dir, stateFile))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(c.cfg.Dir, stateFile), err)
	}
	c.state = s
	return nil
}

func (c *Cluster) save() error {
	if err := os.MkdirAll(c.cfg.Dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c.state, "", "  ")
	if err != nil {
		return err
	}
	f := filepath.Join(c.cfg.Dir, stateFile)
	if err := os.WriteFile(f+".tmp", append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(f+".tmp", f)
}

// binary is the executable of a component.
func (c *Cluster) binary(name string) string {
	if name == Server {
		return c.cfg.ServerBinary
	}
	return filepath.Join(c.cfg.BinDir, name)
}

// spawn starts a component detached (a session and process group of its own, stdin from
// /dev/null, output appended to its log) and records it.
func (c *Cluster) spawn(name string, args []string) error { return c.spawnEnv(name, args, nil) }

// spawnEnv is spawn with an environment (nil: this process's).
func (c *Cluster) spawnEnv(name string, args, env []string) error {
	if err := os.MkdirAll(filepath.Join(c.cfg.Dir, "logs"), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(c.Log(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	bin := c.binary(name)
	fmt.Fprintf(f, "=== %s %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	ch := &child{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(ch.done) }()
	c.children[name] = ch
	ticks, _ := startTicks(ch.pid)
	if c.state.Processes == nil {
		c.state.Processes = map[string]proc{}
	}
	c.state.Processes[name] = proc{Pid: ch.pid, StartTicks: ticks, Binary: bin, Args: args}
	return c.save()
}

// pid is the PID of a running component: alive, not a zombie, and the process recorded.
func (c *Cluster) pid(name string) int {
	p, ok := c.state.Processes[name]
	if !ok || p.Pid <= 0 {
		return 0
	}
	if ticks, ok := startTicks(p.Pid); !ok || ticks != p.StartTicks {
		return 0
	}
	return p.Pid
}

func (c *Cluster) running(name string) bool { return c.pid(name) != 0 }

// startTicks reads a live process's start time (in clock ticks since boot); ok is false for
// a process that is gone or a zombie.
func startTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	n, err := strconv.ParseUint(f[19], 10, 64) // field 22 overall
	return n, err == nil
}

// Stop stops a component: SIGTERM to its process group, SIGKILL after grace (0: the
// configured StopGrace). Stopping what does not run is no error.
func (c *Cluster) Stop(name string, grace time.Duration) error {
	if grace <= 0 {
		grace = c.cfg.StopGrace
	}
	c.mu.Lock()
	pid, ch := c.pid(name), c.children[name]
	c.mu.Unlock()
	if pid != 0 {
		_ = syscall.Kill(-pid, syscall.SIGTERM) // spawn made it a group leader (Setsid)
		if !waitExit(ch, pid, grace) {
			c.cfg.Logf("%s (pid %d) still running after %s: SIGKILL", name, pid, grace)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			if !waitExit(ch, pid, 10*time.Second) {
				return fmt.Errorf("%s (pid %d) survived SIGKILL", name, pid)
			}
		}
		c.cfg.Logf("stopped %s (pid %d)", name, pid)
	}
	return c.locked(func() error {
		p, ok := c.state.Processes[name]
		if !ok || (pid != 0 && p.Pid != pid) { // not ours to forget: started again meanwhile
			return nil
		}
		delete(c.state.Processes, name)
		if c.children[name] == ch {
			delete(c.children, name)
		}
		return c.save()
	})
}

// waitExit blocks until the process exits or timeout passes: on the reaping goroutine for a
// child of this Cluster, on a pidfd (readable once the process has exited) for one started
// by another command.
func waitExit(ch *child, pid int, timeout time.Duration) bool {
	if ch != nil && ch.pid == pid {
		select {
		case <-ch.done:
			return true
		case <-time.After(timeout):
			return false
		}
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH) // gone already
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// waitReady asks check every ReadyInterval until it succeeds, for at most ReadyTimeout,
// failing early when a watched component exits. Health endpoints (/readyz, /healthz) have no
// watch: this is the one place the control plane polls.
func (c *Cluster) waitReady(ctx context.Context, what string, check func(context.Context) error, watched ...string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(c.cfg.ReadyInterval)
	defer tick.Stop()
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		for _, w := range watched {
			if c.Pid(w) == 0 {
				return fmt.Errorf("%s exited while waiting for %s to be ready\n%s", w, what, c.logTail(w))
			}
		}
		select {
		case <-ctx.Done():
			var tails []string
			for _, w := range watched {
				tails = append(tails, c.logTail(w))
			}
			return fmt.Errorf("%s not ready within %s: %v\n%s", what, c.cfg.ReadyTimeout, err, strings.Join(tails, "\n"))
		case <-tick.C:
		}
	}
}

// logTail is the end of a component's log, for an error message.
func (c *Cluster) logTail(name string) string {
	b, _ := os.ReadFile(c.Log(name))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return fmt.Sprintf("---- last lines of %s ----\n%s", c.Log(name), strings.Join(lines, "\n"))
}

// FreePorts asks the kernel for n free loopback ports (held together, so they differ).
func FreePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// portFree fails when a port cannot be bound on loopback.
func portFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("port %d is in use by another process", port)
	}
	return l.Close()
}
