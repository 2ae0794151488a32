package reliability

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	clientset "github.com/kubestash/backupview/pkg/generated/clientset/versioned"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/controlplane"
	"github.com/kubestash/backupview/test/harness"
	"github.com/kubestash/backupview/test/scale"
	"github.com/kubestash/backupview/test/scale/loader"
	"github.com/kubestash/backupview/test/scrape"
)

var (
	gvrBC      = kubestash.BackupConfigurations
	gvrBS      = kubestash.BackupSessions
	gvrRepo    = kubestash.Repositories
	gvrStorage = kubestash.BackupStorages
	gvrPolicy  = kubestash.RetentionPolicies
	gvrAddon   = kubestash.Addons
	gvrNS      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrMongoDB = scale.MongoDBs
)

const viewsPath = "/apis/ui.kubestash.com/v1alpha1/backupconfigurationviews"

// ---- ports and processes ----------------------------------------------------------------

// pidOf is the PID of a running component of the cluster (controlplane.Server: "backupview").
func pidOf(c *harness.Cluster, name string) int { return c.CP.Pid(name) }

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndex(s, ") "); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// memKiB returns a /proc/PID/status memory field (VmRSS, VmHWM) in KiB.
func memKiB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// serverLogHasPanic reports a panic in the backupview log (the generic server recovers
// panics in handlers and logs them; a crash also leaves one).
func serverLogHasPanic(c *harness.Cluster) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "logs", "backupview.log"))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "panic") || strings.Contains(l, "Observed a panic") {
			return l
		}
	}
	return ""
}

// ---- HTTP clients -------------------------------------------------------------------------

// httpc talks HTTPS to one server with a client certificate from the cluster's PKI.
type httpc struct {
	base string
	hc   *http.Client
}

func newHTTPC(t testing.TB, c *harness.Cluster, base, caFile, cert string) *httpc {
	t.Helper()
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	cfg := &tls.Config{RootCAs: pool}
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(filepath.Join(c.Dir, "pki", cert+".crt"), filepath.Join(c.Dir, "pki", cert+".key"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	return &httpc{base: base, hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 64}}}
}

// bvDirect is an admin client straight to a backupview replica (not through kube-apiserver).
func bvDirect(t testing.TB, c *harness.Cluster, bvPort int) *httpc {
	return newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", bvPort), filepath.Join(c.Dir, "pki", "backupview-ca.crt"), "admin")
}

// kasHTTP is a raw client to kube-apiserver with the given client certificate ("" for none).
func kasHTTP(t testing.TB, c *harness.Cluster, cert string) *httpc {
	return newHTTPC(t, c, fmt.Sprintf("https://127.0.0.1:%d", c.Ports.APIServer), filepath.Join(c.Dir, "pki", "ca.crt"), cert)
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
	err  error
}

func (h *httpc) do(ctx context.Context, method, path, contentType string, body io.Reader) resp {
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, body)
	if err != nil {
		return resp{err: err}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	r, err := h.hc.Do(req)
	if err != nil {
		return resp{err: err}
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return resp{code: r.StatusCode, body: b, hdr: r.Header, err: err}
}

func (h *httpc) get(path string) resp {
	return h.do(context.Background(), http.MethodGet, path, "", nil)
}

// viewList is the part of a BackupConfigurationViewList the tests compare.
type viewList struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
		Continue        string `json:"continue"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

func decodeList(b []byte) (*viewList, error) {
	var l viewList
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// clientFor is a typed clientset straight to a backupview replica, as the admin.
func clientFor(c *harness.Cluster, bvPort int) clientset.Interface {
	cfg := &rest.Config{
		Host: fmt.Sprintf("https://127.0.0.1:%d", bvPort),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   filepath.Join(c.Dir, "pki", "backupview-ca.crt"),
			CertFile: filepath.Join(c.Dir, "pki", "admin.crt"),
			KeyFile:  filepath.Join(c.Dir, "pki", "admin.key"),
		},
		QPS: 500, Burst: 1000,
	}
	return clientset.NewForConfigOrDie(cfg)
}

// metric scrapes the value of a counter or gauge (its first sample) from a replica's
// /metrics; 0 when it has none.
func metric(t testing.TB, h *httpc, name string) float64 {
	t.Helper()
	r := h.get("/metrics")
	if r.err != nil || r.code != 200 {
		t.Fatalf("/metrics: %d %v %.200s", r.code, r.err, r.body)
	}
	m, err := scrape.Parse(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	v, _ := m.Value(name)
	return v
}

// ---- a second replica -------------------------------------------------------------------

// replica is a backupview-apiserver this test started itself (with exec), next to the
// cluster's own.
type replica struct {
	port int
	cmd  *exec.Cmd
	log  string
}

// startReplica runs another backupview-apiserver with the flags of the cluster's own
// (controlplane.Cluster.ServerArgs, plus extra) on the first of ports it can bind (ports from
// the kernel lie in its ephemeral range, so a client socket may take one meanwhile), and
// waits for its /readyz unless wait is false.
func startReplica(t *testing.T, c *harness.Cluster, ports []int, wait bool, extra ...string) *replica {
	t.Helper()
	for i, p := range ports {
		r, inUse := tryReplica(t, c, p, wait, extra...)
		if !inUse {
			return r
		}
		t.Logf("port %d is in use; trying %v", p, ports[i+1:])
	}
	t.Fatalf("no free port for a replica among %v", ports)
	return nil
}

func tryReplica(t *testing.T, c *harness.Cluster, bvPort int, wait bool, extra ...string) (*replica, bool) {
	t.Helper()
	// A port still held (an older replica) would answer /readyz for a process that is about
	// to exit with "address already in use".
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", bvPort))
	if err != nil {
		return nil, true
	}
	l.Close()
	args := append(c.CP.ServerArgs(bvPort), extra...)
	logf := filepath.Join(c.Dir, "logs", fmt.Sprintf("backupview-%d.log", bvPort))
	f, err := os.OpenFile(logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.CP.ServerBinary(), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := &replica{port: bvPort, cmd: cmd, log: logf}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	exited := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	inUse := func() bool {
		b, _ := os.ReadFile(logf)
		return bytes.Contains(b, []byte("address already in use"))
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			lines := strings.Split(string(b), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("---- replica :%d log (tail) ----\n%s", bvPort, strings.Join(lines, "\n"))
		}
	})
	if !wait {
		time.Sleep(500 * time.Millisecond)
		if exited() && inUse() {
			return nil, true
		}
		return r, false
	}
	h := bvDirect(t, c, bvPort)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if exited() {
			if inUse() {
				return nil, true
			}
			t.Fatalf("replica on :%d exited; see %s", bvPort, logf)
		}
		if res := h.get("/readyz"); res.err == nil && res.code == 200 {
			return r, false
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica on :%d not ready within 60s", bvPort)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replicaPorts are ports from the kernel an extra replica may take.
func replicaPorts(t *testing.T) []int {
	t.Helper()
	ports, err := controlplane.FreePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// stop ends the replica (SIGTERM to its own process group, then SIGKILL).
func (r *replica) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	pid := r.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	r.cmd = nil
}

// ---- CRDs and objects -------------------------------------------------------------------

// installLooseCRDs installs the KubeStash CRDs with a schema that stores anything
// (x-kubernetes-preserve-unknown-fields at the top), as an older KubeStash or a hand-edited
// object may hold; names, scope and subresources as in hack/crds. withTargets adds the demo's
// target CRDs.
func installLooseCRDs(c *harness.Cluster, withTargets bool) error {
	files, err := filepath.Glob(filepath.Join(c.Root, "hack", "crds", "*.yaml"))
	if err != nil {
		return err
	}
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd map[string]interface{}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		spec, _ := crd["spec"].(map[string]interface{})
		versions, _ := spec["versions"].([]interface{})
		for _, v := range versions {
			vm := v.(map[string]interface{})
			vm["schema"] = map[string]interface{}{"openAPIV3Schema": map[string]interface{}{
				"type": "object", "x-kubernetes-preserve-unknown-fields": true,
			}}
		}
		out, err := yaml.Marshal(crd)
		if err != nil {
			return err
		}
		docs = append(docs, string(out))
	}
	tmp := filepath.Join(c.Dir, "loose-crds.yaml")
	if err := os.WriteFile(tmp, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		return err
	}
	args := []string{"apply", "--server-side", "-f", tmp}
	if withTargets {
		args = append(args, "-f", filepath.Join(c.Root, "hack", "demo", "target-crds.yaml"))
	}
	if out, err := c.Kubectl(args...); err != nil {
		return fmt.Errorf("installing loose CRDs: %v\n%s", err, out)
	}
	return c.WaitCRDsEstablished()
}

// obj builds an unstructured object from a YAML/JSON literal-ish map.
type obj = map[string]interface{}
type list = []interface{}

func u(apiVersion, kind, ns, name string, rest obj) *unstructured.Unstructured {
	o := obj{"apiVersion": apiVersion, "kind": kind, "metadata": obj{"name": name}}
	if ns != "" {
		o["metadata"].(obj)["namespace"] = ns
	}
	for k, v := range rest {
		if k == "metadata" {
			for mk, mv := range v.(obj) {
				o["metadata"].(obj)[mk] = mv
			}
			continue
		}
		o[k] = v
	}
	return &unstructured.Unstructured{Object: o}
}

// item is one object to create, with the status to write afterwards (if any).
type item struct {
	gvr    schema.GroupVersionResource
	obj    *unstructured.Unstructured
	status obj
}

// createAll creates the items with a few workers (namespaces and cluster objects first is the
// caller's job: it passes them in earlier calls), then writes their statuses.
func createAll(ctx context.Context, dyn dynamic.Interface, items []item, workers int) error {
	ch := make(chan item)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := createOne(ctx, dyn, it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return first
}

func createOne(ctx context.Context, dyn dynamic.Interface, it item) error {
	ri := dyn.Resource(it.gvr).Namespace(it.obj.GetNamespace())
	var created *unstructured.Unstructured
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		created, err = ri.Create(ctx, it.obj, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsInvalid(err) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if apierrors.IsAlreadyExists(err) {
		created, err = ri.Get(ctx, it.obj.GetName(), metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("create %s %s/%s: %w", it.gvr.Resource, it.obj.GetNamespace(), it.obj.GetName(), err)
	}
	if it.status != nil {
		created.Object["status"] = it.status
		for attempt := 0; attempt < 5; attempt++ {
			if _, err = ri.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("status of %s %s/%s: %w", it.gvr.Resource, it.obj.GetNamespace(), it.obj.GetName(), err)
		}
	}
	return nil
}

// ---- generated clusters -----------------------------------------------------------------

// The generated clusters are the scale benchmark's (test/scale): the same objects, names and
// arithmetic.

// itemOf is a generated object to create.
func itemOf(o scale.Object) item {
	return item{gvr: o.Resource, obj: o.Unstructured(), status: o.Status}
}

// loadScale loads the whole scale as the benchmark's loader does, every status through the
// status subresource (the CRDs stay as installed).
func loadScale(t *testing.T, c *harness.Cluster, sc scale.Scale) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	clients := loader.Clients{Dyn: c.Dyn, Kube: c.Kube}
	if _, err := loader.Load(ctx, clients, sc, loader.Options{Concurrency: 16, Logf: t.Logf}); err != nil {
		t.Fatal(err)
	}
}

// loadBackupConfigurations creates the scale's namespaces, shared objects and
// BackupConfigurations (with their statuses), but nothing that belongs to a
// BackupConfiguration: no Repositories, targets, CronJobs or BackupSessions.
func loadBackupConfigurations(t *testing.T, c *harness.Cluster, sc scale.Scale) {
	t.Helper()
	start := time.Now()
	var first, rest []item
	for _, o := range append(sc.NamespaceObjects(), sc.SharedObjects()...) {
		first = append(first, itemOf(o))
	}
	for i := 0; i < sc.BCs; i++ {
		rest = append(rest, itemOf(sc.BackupConfiguration(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := createAll(ctx, c.Dyn, first, 4); err != nil {
		t.Fatal(err)
	}
	if err := createAll(ctx, c.Dyn, rest, 16); err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d objects in %s", len(first)+len(rest), time.Since(start).Round(time.Millisecond))
}

// ---- small things -----------------------------------------------------------------------

// waitUntil polls f every 100 ms until it returns nil or timeout passes.
func waitUntil(timeout time.Duration, f func() error) error {
	return harness.Eventually(timeout, f)
}

func short(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// watchEvent is one event of a raw watch stream.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

type objMeta struct {
	Kind     string `json:"kind"`
	Code     int    `json:"code"`
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		ResourceVersion string            `json:"resourceVersion"`
		Annotations     map[string]string `json:"annotations"`
	} `json:"metadata"`
}

func metaOf(raw json.RawMessage) objMeta {
	var m objMeta
	_ = json.Unmarshal(raw, &m)
	return m
}

// initialEvents opens a WatchList-style watch (sendInitialEvents=true) and counts the ADDED
// events before the initial-events-end bookmark. code is the HTTP status; n is -1 when the
// stream ended without the bookmark.
func (h *httpc) initialEvents(ctx context.Context, path string) (code, n int, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+path+"?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", nil)
	req.Header.Set("Accept", "application/json")
	r, err := h.hc.Do(req)
	if err != nil {
		return 0, -1, err
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		_, _ = io.Copy(io.Discard, r.Body)
		return r.StatusCode, -1, nil
	}
	dec := json.NewDecoder(r.Body)
	for {
		var e watchEvent
		if err := dec.Decode(&e); err != nil {
			return 200, -1, err
		}
		switch e.Type {
		case "ADDED":
			n++
		case "BOOKMARK":
			if metaOf(e.Object).Metadata.Annotations["k8s.io/initial-events-end"] == "true" {
				return 200, n, nil
			}
		case "ERROR":
			return 200, -1, fmt.Errorf("ERROR event: %s", short(e.Object))
		}
	}
}
