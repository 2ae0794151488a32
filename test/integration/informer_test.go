package integration

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
	informers "github.com/kubestash/backupview/pkg/generated/informers/externalversions"
	"github.com/kubestash/backupview/pkg/kubestash"
	"github.com/kubestash/backupview/test/harness"
)

var (
	gvrSessions = kubestash.BackupSessions
	gvrRepos    = kubestash.Repositories
	gvrStorages = kubestash.BackupStorages
	gvrBCs      = kubestash.BackupConfigurations
)

// TestInformerStaysInSync: a client-go v0.37 informer on views (WatchList is on by default)
// syncs promptly and, after a burst of random changes to joined objects, holds exactly what a
// fresh LIST returns.
func TestInformerStaysInSync(t *testing.T) {
	need(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := informers.NewSharedInformerFactory(bv, 0)
	inf := f.Ui().V1alpha1().BackupConfigurationViews().Informer()
	start := time.Now()
	f.Start(ctx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, 10*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		t.Fatal("the informer did not sync within 10 s")
	}
	t.Logf("informer synced in %s", time.Since(start))

	r := rand.New(rand.NewSource(1))
	list := func(gvr schema.GroupVersionResource) []string {
		l, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range l.Items {
			out = append(out, o.GetNamespace()+"/"+o.GetName())
		}
		sort.Strings(out)
		return out
	}
	sessions, repos, storages, bcs := list(gvrSessions), list(gvrRepos), list(gvrStorages), list(gvrBCs)
	// Other tests expect the samples as written: put them back afterwards.
	t.Cleanup(func() {
		if err := c.Load("hack/demo/samples.yaml"); err != nil {
			t.Errorf("restoring the samples: %v", err)
		}
		time.Sleep(time.Second) // the views follow within a second
	})
	phases := []string{"Pending", "Running", "Succeeded", "Failed", "Skipped"}
	for i := 0; i < 200; i++ {
		var gvr schema.GroupVersionResource
		var key string
		var mutate func(map[string]interface{}) bool // true: a status change
		switch r.Intn(4) {
		case 0:
			gvr, key = gvrSessions, sessions[r.Intn(len(sessions))]
			mutate = func(o map[string]interface{}) bool {
				setStatus(o, "phase", phases[r.Intn(len(phases))])
				return true
			}
		case 1:
			gvr, key = gvrRepos, repos[r.Intn(len(repos))]
			mutate = func(o map[string]interface{}) bool {
				setStatus(o, "size", fmt.Sprintf("%d MiB", r.Intn(1000)))
				return true
			}
		case 2:
			gvr, key = gvrStorages, storages[r.Intn(len(storages))]
			mutate = func(o map[string]interface{}) bool {
				setStatus(o, "totalSize", fmt.Sprintf("%d GiB", r.Intn(100)))
				return true
			}
		default:
			gvr, key = gvrBCs, bcs[r.Intn(len(bcs))]
			mutate = func(o map[string]interface{}) bool {
				md := o["metadata"].(map[string]interface{})
				labels, _ := md["labels"].(map[string]interface{})
				if labels == nil {
					labels = map[string]interface{}{}
				}
				labels["burst"] = fmt.Sprint(i)
				md["labels"] = labels
				return false
			}
		}
		ns, name := split(key)
		ri := dyn.Resource(gvr).Namespace(ns)
		o, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if mutate(o.Object) {
			_, err = ri.UpdateStatus(ctx, o, metav1.UpdateOptions{})
		} else {
			_, err = ri.Update(ctx, o, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatalf("change %d (%s %s): %v", i, gvr.Resource, key, err)
		}
	}
	// The informer converges to a fresh LIST: same views, same versions, same content.
	err := harness.Eventually(10*time.Second, func() error {
		fresh, err := bv.UiV1alpha1().BackupConfigurationViews("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		cached := map[string]*v1alpha1.BackupConfigurationView{}
		for _, o := range inf.GetStore().List() {
			v := o.(*v1alpha1.BackupConfigurationView)
			cached[v.Namespace+"/"+v.Name] = v
		}
		if len(cached) != len(fresh.Items) {
			return fmt.Errorf("informer holds %d views, LIST %d", len(cached), len(fresh.Items))
		}
		for i := range fresh.Items {
			want := &fresh.Items[i]
			got := cached[want.Namespace+"/"+want.Name]
			if got == nil {
				return fmt.Errorf("informer lacks %s/%s", want.Namespace, want.Name)
			}
			w, g := want.DeepCopy(), got.DeepCopy()
			w.TypeMeta, g.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
			if !equality.Semantic.DeepEqual(w, g) {
				return fmt.Errorf("%s/%s differs: informer rv %s, LIST rv %s", want.Namespace, want.Name, got.ResourceVersion, want.ResourceVersion)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func setStatus(o map[string]interface{}, k string, v interface{}) {
	st, _ := o["status"].(map[string]interface{})
	if st == nil {
		st = map[string]interface{}{}
		o["status"] = st
	}
	st[k] = v
}

func split(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}
