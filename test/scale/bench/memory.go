package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kubestash/backupview/test/controlplane"
	"github.com/kubestash/backupview/test/scale/report"
	"github.com/kubestash/backupview/test/scrape"
)

// memory records backupview's RSS and heap: after sync, or (after) at the end of the run.
func (b *Bench) memory(ctx context.Context, after bool) {
	pid := b.Cluster.Pid(controlplane.Server)
	st := procStatusFields(pid) // one read: RSS and its parts from the same instant
	rss, hwm := st["VmRSS"], st["VmHWM"]
	m, err := b.metrics()
	if err != nil {
		b.fail("reading backupview /metrics: %v", err)
		return
	}
	mem := &b.results.Memory
	heapInuse, _ := m.Value("go_memstats_heap_inuse_bytes")
	if after {
		mem.RSSAfter, mem.HeapAfter = rss, heapInuse
		mem.HWM = hwm
		return
	}
	mem.RSS, mem.HWM = rss, hwm
	mem.RSSAnon, mem.RSSFile = st["RssAnon"], st["RssFile"]
	mem.HeapAlloc, _ = m.Value("go_memstats_heap_alloc_bytes")
	// Heap in use per object is read after a collection: without one it depends on how far the
	// collector had got (179 and 315 MiB in two default-scale runs of the same code).
	b.collect()
	if m, err = b.metrics(); err != nil {
		b.fail("reading backupview /metrics: %v", err)
		return
	}
	mem.HeapInuse, _ = m.Value("go_memstats_heap_inuse_bytes")
	mem.BySource = map[string]int{}
	for res, v := range m.ByLabel("backupview_source_objects", "resource") {
		mem.BySource[res] = int(v)
		mem.SourceObjects += int(v)
	}
	b.Logf("  memory after sync: RSS %s (peak %s), heap in use %s, %d source objects: %.0f B RSS and %.0f B heap per object",
		report.Bytes(rss), report.Bytes(hwm), report.Bytes(mem.HeapInuse), mem.SourceObjects, rss/float64(max(mem.SourceObjects, 1)), mem.HeapInuse/float64(max(mem.SourceObjects, 1)))
}

// footprint is backupview's RSS and Go heap in use now, after a garbage collection when its
// profiling endpoint serves (a heap profile with gc=1 runs one first): the difference of two
// footprints is then live memory, not garbage collected or not yet.
func (b *Bench) footprint() (rss, heap float64, err error) {
	b.collect()
	m, err := b.metrics()
	if err != nil {
		return 0, 0, err
	}
	heap, _ = m.Value("go_memstats_heap_inuse_bytes")
	return procStatus(b.Cluster.Pid(controlplane.Server), "VmRSS"), heap, nil
}

// collect runs a garbage collection in backupview through its profiling endpoint (a heap
// profile with gc=1 runs one first), or notes once that it cannot.
func (b *Bench) collect() {
	resp, err := b.bvHTTP.Get("https://127.0.0.1:" + b.bvPort + "/debug/pprof/heap?gc=1")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil && !b.warnedGC {
		b.warnedGC = true
		b.Logf("    note: no garbage collection through backupview's /debug/pprof/heap (%v): the heap figures include garbage", err)
	}
}

// metrics reads backupview's /metrics directly with the admin client certificate, or through
// kube-apiserver's service proxy when that fails.
func (b *Bench) metrics() (scrape.Metrics, error) {
	resp, err := b.bvHTTP.Get("https://127.0.0.1:" + b.bvPort + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		if resp != nil {
			resp.Body.Close()
		}
		resp, err = b.http.Get(b.kasURL + "/api/v1/namespaces/backupview-system/services/https:backupview:" + b.bvPort + "/proxy/metrics")
		if err != nil {
			return nil, err
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return scrape.Parse(resp.Body)
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) float64 { return procStatusFields(pid)[field] }

// procStatusFields reads the kB fields of /proc/PID/status, in bytes, at one instant.
func procStatusFields(pid int) map[string]float64 {
	out := map[string]float64{}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "kB" {
			n, _ := strconv.ParseFloat(f[1], 64)
			out[strings.TrimSuffix(f[0], ":")] = n * 1024
		}
	}
	return out
}
