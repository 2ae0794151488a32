package controlplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// The node's components, by the names of their log files. A cluster opened with Config.Node
// runs them beside the control plane: one real node (docs/real-node.md says why each setting
// below is there).
const (
	Containerd = "containerd"
	Scheduler  = "kube-scheduler"
	Kubelet    = "kubelet"
	Proxy      = "kube-proxy"
)

// The node's name and networks. Neither is a private range: no packet for them may leave the
// machine (docs/real-node.md, "Addresses"). Service IPs are routed to a bridge with no ports, so
// that one kube-proxy has not translated yet is dropped here instead of going out.
const (
	NodeName       = "backupview-node"
	PodCIDR        = "198.18.0.0/24"
	ServiceCIDR    = "198.19.0.0/24"
	KubernetesSvc  = "198.19.0.1" // the `kubernetes` Service: the first IP of ServiceCIDR
	cniBridge      = "bv-cni0"
	serviceLink    = "bv-svc0"
	cniNetwork     = "backupview"
	sandboxImage   = "backupview.local/pause:3.10"
	nodeDirName    = "node"
	nodeReadyLimit = 90 * time.Second
)

// nodeComponents in start order; they stop in reverse.
var nodeComponents = []string{Containerd, Scheduler, Kubelet, Proxy}

// nodeDir is where the node keeps its state: containerd's root and state, kubelet's root, CNI
// configuration and IPAM, runc's state.
func (c *Cluster) nodeDir(parts ...string) string {
	return filepath.Join(append([]string{c.cfg.Dir, nodeDirName}, parts...)...)
}

// ContainerdSocket is containerd's gRPC socket.
func (c *Cluster) ContainerdSocket() string { return c.nodeDir("containerd", "containerd.sock") }

// HasNode reports whether this cluster runs a node.
func (c *Cluster) HasNode() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.Node
}

// NodeIP is the host's IPv4 address that kube-apiserver advertises and the kubelet reports:
// pods reach kube-apiserver on it through the `kubernetes` Service.
func (c *Cluster) NodeIP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.NodeIP
}

// hostIPv4 is the address of the interface that holds the default route.
func hostIPv4() (string, error) {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return "", err
	}
	dev := ""
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			dev = f[0]
			break
		}
	}
	if dev == "" {
		return "", errors.New("no default route: a node needs an IPv4 address besides loopback")
	}
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return "", err
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", fmt.Errorf("no IPv4 address on %s", dev)
}

// nodeAPIServerArgs make kube-apiserver reachable from pods: on every address, advertised on
// the host's, with the lease reconciler so that the `kubernetes` Service has an endpoint.
func (c *Cluster) nodeAPIServerArgs() []string {
	if !c.state.Node {
		return nil
	}
	return []string{"--bind-address=0.0.0.0", "--advertise-address=" + c.state.NodeIP,
		"--endpoint-reconciler-type=lease", "--service-cluster-ip-range=" + ServiceCIDR,
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--kubelet-client-certificate=" + c.PKI("admin.crt"), "--kubelet-client-key=" + c.PKI("admin.key"),
	}
}

// startNode starts containerd, kube-scheduler, the kubelet and kube-proxy (those not running)
// and waits until the Node is Ready. The control plane is up.
func (c *Cluster) startNode(ctx context.Context) error {
	if err := c.needBins(Containerd, "ctr", "containerd-shim-runc-v2", Scheduler, Kubelet, Proxy); err != nil {
		return fmt.Errorf("%w (hack/build-node.sh)", err)
	}
	for _, tool := range []string{"runc", "nft", "iptables", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("a node needs %s: run hack/build-node.sh, which installs it", tool)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return errors.New("a node needs the CNI plugins in /usr/lib/cni: run hack/build-node.sh")
	}
	if err := c.writeNodeConfig(); err != nil {
		return err
	}
	if err := c.saveSysctls(); err != nil {
		return err
	}
	if err := serviceRoute(); err != nil {
		return err
	}
	if !c.running(Containerd) {
		if err := c.locked(func() error {
			return c.spawnEnv(Containerd, []string{"--config", c.nodeDir("containerd.toml")}, c.nodeEnv())
		}); err != nil {
			return err
		}
		if err := c.waitReady(ctx, Containerd, c.containerdReady, Containerd); err != nil {
			return err
		}
	}
	if err := c.ImportImage(ctx, c.pauseImage()); err != nil {
		return fmt.Errorf("the pause image: %w (make pause-image)", err)
	}
	kc := c.Kubeconfig("")
	err := c.locked(func() error {
		if !c.running(Scheduler) {
			if err := c.spawn(Scheduler, []string{"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc,
				"--authorization-kubeconfig=" + kc, "--leader-elect=false", "--bind-address=127.0.0.1",
				fmt.Sprintf("--secure-port=%d", c.state.Ports.Scheduler)}); err != nil {
				return err
			}
		}
		if !c.running(Kubelet) {
			if err := c.spawnEnv(Kubelet, []string{"--config=" + c.nodeDir("kubelet.yaml"), "--kubeconfig=" + kc,
				"--root-dir=" + c.nodeDir("kubelet"), "--cert-dir=" + c.nodeDir("kubelet", "pki"),
				"--hostname-override=" + NodeName, "--node-ip=" + c.state.NodeIP}, c.nodeEnv()); err != nil {
				return err
			}
		}
		if !c.running(Proxy) {
			return c.spawnEnv(Proxy, []string{"--config=" + c.nodeDir("kube-proxy.yaml")}, c.nodeEnv())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.waitNodeReady(ctx)
}

// nodeEnv puts BinDir first on PATH: containerd must find its own shim, not another.
func (c *Cluster) nodeEnv() []string {
	return append(os.Environ(), "PATH="+c.cfg.BinDir+":"+os.Getenv("PATH"))
}

func (c *Cluster) pauseImage() string {
	return filepath.Join(RepoRoot(), "_output", "image", "pause-linux-"+runtime.GOARCH+".tar")
}

func (c *Cluster) containerdReady(ctx context.Context) error {
	return exec.CommandContext(ctx, filepath.Join(c.cfg.BinDir, "ctr"), "--address", c.ContainerdSocket(), "version").Run()
}

// Ctr runs ctr against the node's containerd in kubelet's namespace and returns its
// standard output.
func (c *Cluster) Ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.cfg.BinDir, "ctr"), append([]string{"--address", c.ContainerdSocket(), "-n", "k8s.io"}, args...)...)
	// Standard output only: ctr warns on standard error at every call (cgroup v1).
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

// ImportImage loads an image archive (docker-archive or OCI) into the node's runtime, where
// pods with imagePullPolicy IfNotPresent or Never find it: nothing here can pull.
func (c *Cluster) ImportImage(ctx context.Context, archive string) error {
	if _, err := os.Stat(archive); err != nil {
		return err
	}
	_, err := c.Ctr(ctx, "images", "import", "--no-unpack=false", archive)
	return err
}

// waitNodeReady watches the Node until its Ready condition is True.
func (c *Cluster) waitNodeReady(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, nodeReadyLimit)
	defer cancel()
	t0 := time.Now()
	sel := fields.OneTermEqualSelector("metadata.name", NodeName).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (kruntime.Object, error) {
			o.FieldSelector = sel
			return cs.CoreV1().Nodes().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return cs.CoreV1().Nodes().Watch(ctx, o)
		},
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &corev1.Node{}, nil, func(e watch.Event) (bool, error) {
		n, ok := e.Object.(*corev1.Node)
		if !ok {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready within %s: %w\n%s\n%s", NodeName, nodeReadyLimit, err, c.logTail(Kubelet), c.logTail(Containerd))
	}
	c.cfg.Logf("node %s Ready in %s", NodeName, time.Since(t0).Round(10*time.Millisecond))
	return nil
}

func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// writeNodeConfig writes containerd's, the kubelet's and kube-proxy's configuration and the CNI
// network.
func (c *Cluster) writeNodeConfig() error {
	for _, d := range []string{"containerd", "kubelet", "cni/net.d", "cni/ipam", "cni/cache", "runc"} {
		if err := os.MkdirAll(c.nodeDir(d), 0o755); err != nil {
			return err
		}
	}
	// restrict_oom_score_adj: root here may not lower oom_score_adj; without it every sandbox
	// fails. netns_mounts_under_state_dir keeps the pods' network namespaces in our directory.
	containerd := fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %[5]q
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[6]q
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['/usr/lib/cni']
    conf_dir = %[7]q
`, c.nodeDir("containerd", "root"), c.nodeDir("containerd", "state"), c.ContainerdSocket(),
		c.ContainerdSocket()+".ttrpc", sandboxImage, c.nodeDir("runc"), c.nodeDir("cni", "net.d"))
	// The host runs cgroup v1 (failCgroupV1: false). No eviction and no image GC: a test node
	// must not remove the images it cannot pull again.
	kubelet := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%s
failSwapOn: false
resolvConf: /etc/resolv.conf
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {}
readOnlyPort: 0
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: %d
serializeImagePulls: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %q}
authorization: {mode: Webhook}
`, c.ContainerdSocket(), c.state.Ports.Kubelet, c.state.Ports.KubeletHealthz, c.PKI("ca.crt"))
	// nftables mode: its rules live in tables of its own, removed by --cleanup. conntrack's
	// limits are the host's: the sysctl is not ours to change.
	proxy := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %q}
mode: nftables
hostnameOverride: %s
clusterCIDR: %s
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
conntrack: {maxPerCore: 0, min: 0}
`, c.Kubeconfig(""), NodeName, PodCIDR, c.state.Ports.ProxyHealthz, c.state.Ports.ProxyMetrics)
	cni := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}
]}
`, cniNetwork, cniBridge, c.nodeDir("cni", "ipam"), PodCIDR)
	for f, s := range map[string]string{"containerd.toml": containerd, "kubelet.yaml": kubelet,
		"kube-proxy.yaml": proxy, "cni/net.d/10-backupview.conflist": cni} {
		if err := os.WriteFile(c.nodeDir(f), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// serviceRoute routes ServiceCIDR to a bridge with no ports (this kernel has no dummy links):
// kube-proxy rewrites a Service IP to a pod's before the packet leaves; one it has not
// rewritten finds no neighbour there and is dropped.
func serviceRoute() error {
	if _, err := net.InterfaceByName(serviceLink); err == nil {
		return nil
	}
	for _, args := range [][]string{
		{"link", "add", serviceLink, "type", "bridge"},
		{"link", "set", serviceLink, "up"},
		{"route", "replace", ServiceCIDR, "dev", serviceLink},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// stopNode tears the node down in the order that leaves nothing behind: the pods first (so
// that the kubelet and CNI undo their mounts, veths and rules), then the kubelet and
// kube-proxy (which removes its rules), the scheduler, any container left, containerd, and
// what the components leave on the host.
func (c *Cluster) stopNode(ctx context.Context) error {
	// The scheduler goes first, so that the pods the controllers make again in place of the
	// deleted ones stay Pending.
	errs := []error{c.Stop(Scheduler, 0)}
	if c.running(Kubelet) && c.running(APIServer) {
		if err := c.drainPods(ctx); err != nil {
			c.cfg.Logf("node: %v (containers are removed below)", err)
		}
	}
	for _, name := range slices.Backward(nodeComponents) {
		if name == Containerd {
			errs = append(errs, c.removeContainers(ctx))
		}
		errs = append(errs, c.Stop(name, 0))
	}
	if _, err := os.Stat(filepath.Join(c.cfg.BinDir, Proxy)); err == nil {
		if out, err := exec.Command(filepath.Join(c.cfg.BinDir, Proxy), "--cleanup", "--proxy-mode=nftables").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("kube-proxy --cleanup: %w: %s", err, out))
		}
	}
	c.killShims()
	errs = append(errs, unmountUnder(c.nodeDir()))
	for _, link := range []string{cniBridge, serviceLink} {
		if _, err := net.InterfaceByName(link); err == nil {
			_ = exec.Command("ip", "link", "del", link).Run()
		}
	}
	c.restoreSysctls()
	removeMasquerade()
	// The CNI plugins keep results and the bridge plugin's masquerade chains on fixed host
	// paths and tables whatever the configuration.
	if m, _ := filepath.Glob("/var/lib/cni/results/*"); len(m) > 0 {
		for _, f := range m {
			_ = os.Remove(f)
		}
	}
	return errors.Join(errs...)
}

// drainPods deletes every pod at once and waits until containerd runs no task: the kubelet
// has stopped every container and sandbox, and CNI has taken their networks down.
func (c *Cluster) drainPods(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, ns := range nss.Items {
		_ = cs.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	}
	// containerd has no watch on tasks that ctr exposes: this asks it.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := c.Ctr(ctx, "tasks", "ls", "-q")
		if err == nil && strings.TrimSpace(out) == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pods still running after 60 s: %s", out)
		case <-tick.C:
		}
	}
}

// removeContainers kills and removes what containerd still runs, with runc itself.
func (c *Cluster) removeContainers(ctx context.Context) error {
	root := filepath.Join(c.nodeDir("runc"), "k8s.io")
	out, err := exec.CommandContext(ctx, "runc", "--root", root, "list", "-q").Output()
	if err != nil {
		return nil // no state: nothing ran
	}
	for _, id := range strings.Fields(string(out)) {
		_ = exec.CommandContext(ctx, "runc", "--root", root, "delete", "--force", id).Run()
	}
	return nil
}

// killShims ends the runc shims of this node's containerd: they outlive it by design.
func (c *Cluster) killShims() {
	ents, _ := os.ReadDir("/proc")
	sock := c.ContainerdSocket()
	for _, e := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "containerd-shim-runc-v2") || !strings.Contains(string(cmdline), sock) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// unmountUnder unmounts every mount point under dir, deepest first (the kubelet's volumes and
// its bind mount of its root, containerd's rootfs, shm and network namespaces).
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 4 && (fs[4] == dir || strings.HasPrefix(fs[4], dir+"/")) {
			points = append(points, fs[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// chooseNodePorts takes the node's address and ports, once, for a cluster with a node.
func (c *Cluster) chooseNodePorts() error {
	if !c.state.Node {
		return nil
	}
	if c.state.NodeIP == "" {
		ip, err := hostIPv4()
		if err != nil {
			return err
		}
		c.state.NodeIP = ip
	}
	p := &c.state.Ports
	var zero []*int
	for _, ptr := range []*int{&p.Scheduler, &p.Kubelet, &p.KubeletHealthz, &p.ProxyHealthz, &p.ProxyMetrics} {
		if *ptr == 0 {
			zero = append(zero, ptr)
		}
	}
	free, err := FreePorts(len(zero))
	if err != nil {
		return err
	}
	for i, ptr := range zero {
		*ptr = free[i]
	}
	return nil
}

// hostSysctls are what the bridge plugin and kube-proxy switch on for the node; teardown puts
// back the values found before.
var hostSysctls = []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/route_localnet"}

func (c *Cluster) saveSysctls() error {
	return c.locked(func() error {
		if c.state.Sysctls != nil {
			return nil // saved by the first start: later ones see the node's values
		}
		c.state.Sysctls = map[string]string{}
		for _, k := range hostSysctls {
			if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
				c.state.Sysctls[k] = strings.TrimSpace(string(b))
			}
		}
		return c.save()
	})
}

func (c *Cluster) restoreSysctls() {
	_ = c.locked(func() error {
		for k, v := range c.state.Sysctls {
			_ = os.WriteFile("/proc/sys/"+k, []byte(v), 0o644)
		}
		c.state.Sysctls = nil
		return c.save()
	})
}

// removeMasquerade removes the bridge plugin's masquerade rules for this network that a pod
// stopped without CNI (killed with its runtime) left in the nat table: a jump from POSTROUTING
// per pod, to a chain of its own.
func removeMasquerade() {
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-L", "POSTROUTING", "-n", "--line-numbers").Output()
	if err != nil {
		return
	}
	var nums, chains []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.Contains(line, `name: "`+cniNetwork+`"`) && strings.HasPrefix(f[1], "CNI-") {
			nums, chains = append(nums, f[0]), append(chains, f[1])
		}
	}
	for _, n := range slices.Backward(nums) {
		_ = exec.Command("iptables", "-w", "-t", "nat", "-D", "POSTROUTING", n).Run()
	}
	for _, ch := range chains {
		_ = exec.Command("iptables", "-w", "-t", "nat", "-F", ch).Run()
		_ = exec.Command("iptables", "-w", "-t", "nat", "-X", ch).Run()
	}
}
