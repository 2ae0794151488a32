package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/scale"
	"github.com/kubestash/backupview/pkg/scale/report"
	"github.com/kubestash/backupview/pkg/scale/stats"
)

// cluster runs a hack/cluster.sh command on the cluster in Dir.
func (b *Bench) cluster(args ...string) error {
	cmd := exec.Command(filepath.Join(b.Root, "hack", "cluster.sh"), append([]string{args[0], b.Dir}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster.sh %s: %v\n%s", args[0], err, out)
	}
	return nil
}

// readiness times backupview's start to ready against the reference informers, Starts rounds.
func (b *Bench) readiness(ctx context.Context) error {
	p := stats.Pair{Name: "start to ready (backupview) vs informer list of the same kinds", Goal: 1.5}
	// Every round ends with backupview running; even rounds list first (server stopped),
	// odd rounds start the server first (then list while it idles).
	for r := 0; r < b.Starts; r++ {
		var sd, id time.Duration
		var err error
		if r%2 == 0 {
			if err = b.cluster("stop-server"); err != nil {
				return err
			}
			id = b.informerList(ctx)
			sd, err = b.startServer(ctx)
		} else {
			sd, err = b.startServer(ctx)
			if err == nil {
				id = b.informerList(ctx)
			}
		}
		if err != nil {
			return err
		}
		b.Logf("  round %d: backupview ready after %s; informers listed in %s", r+1, report.Duration(sd), report.Duration(id))
		p.View, p.Direct = append(p.View, sd), append(p.Direct, id)
	}
	b.results.Ready = p
	return nil
}

// startServer restarts backupview and returns the time from launch to /readyz OK; it returns
// once the APIService serves too (cluster.sh start-server waits for that).
func (b *Bench) startServer(ctx context.Context) (time.Duration, error) {
	if err := b.cluster("stop-server"); err != nil {
		return 0, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	client := b.bvClient(false)
	cmd := exec.Command(filepath.Join(b.Root, "hack", "cluster.sh"), "start-server", b.Dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// /readyz every 10 ms (the measurement's resolution) until it answers 200.
	var ready time.Duration
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 15*time.Minute, true, func(context.Context) (bool, error) {
		select {
		case err := <-done:
			if err != nil {
				return false, fmt.Errorf("start-server: %v\n%s", err, out.String())
			}
			done <- nil // read again below
		default:
		}
		resp, err := client.Get("https://127.0.0.1:" + b.bvPort + "/readyz")
		if err != nil {
			return false, nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return false, nil
		}
		ready = time.Since(t0)
		return true, nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		if ctx.Err() == nil && wait.Interrupted(err) {
			return 0, fmt.Errorf("backupview not ready after 15 minutes")
		}
		return 0, err
	}
	if err := <-done; err != nil {
		return 0, fmt.Errorf("start-server: %v\n%s", err, out.String())
	}
	return ready, nil
}

// informerList is the reference: plain client-go informers (no transforms, full objects) for
// the same source kinds and target kinds, all started at once, until every one has synced.
func (b *Bench) informerList(ctx context.Context) time.Duration {
	ictx, cancel := context.WithCancel(ctx)
	md := metadata.NewForConfigOrDie(b.cfg)
	t0 := time.Now()
	var synced []cache.InformerSynced
	for _, gvr := range scale.SourceKinds {
		inf := dynamicinformer.NewFilteredDynamicInformer(b.dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		go inf.RunWithContext(ictx)
		synced = append(synced, inf.HasSynced)
	}
	for _, gvr := range scale.TargetKinds {
		inf := metadatainformer.NewFilteredMetadataInformer(md, gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
		go inf.RunWithContext(ictx)
		synced = append(synced, inf.HasSynced)
	}
	cache.WaitForCacheSync(ictx.Done(), synced...)
	d := time.Since(t0)
	cancel()
	runtime.GC()
	debug.FreeOSMemory()
	return d
}

// bvClient talks to backupview directly (readyz; metrics with the admin client certificate).
func (b *Bench) bvClient(withCert bool) *http.Client {
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(filepath.Join(b.Dir, "pki", "backupview-ca.crt")); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	tc := &tls.Config{RootCAs: pool}
	if withCert {
		if cert, err := tls.LoadX509KeyPair(filepath.Join(b.Dir, "pki", "admin.crt"), filepath.Join(b.Dir, "pki", "admin.key")); err == nil {
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}
