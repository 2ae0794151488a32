package sources

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/kubestash/backupview/pkg/kubestash"
)

func sessionSerializer() wireSerializer {
	return wireSerializer{decode: func(d []byte) metav1.Object { return kubestash.DecodeBackupSession(d) }}
}

// A list page decodes into compact objects that client-go's reflector can read (items,
// resourceVersion, continue token), and the transform unwraps them.
func TestWireListPage(t *testing.T) {
	page := []byte(`{"kind":"BackupSessionList","apiVersion":"core.kubestash.com/v1alpha1","metadata":{"resourceVersion":"42","continue":"c1"},
		"items":[{"metadata":{"name":"a","namespace":"demo","resourceVersion":"40","managedFields":[{"manager":"x"}]},"status":{"phase":"Succeeded"}},
		{"metadata":{"name":"b","namespace":"demo","resourceVersion":"41"},"status":{"phase":7}}]}`)
	l := &wireList{}
	if err := runtime.DecodeInto(sessionSerializer(), page, l); err != nil {
		t.Fatal(err)
	}
	la, err := meta.ListAccessor(l)
	if err != nil || la.GetResourceVersion() != "42" || la.GetContinue() != "c1" {
		t.Fatalf("list metadata: %v %v", la, err)
	}
	items, err := meta.ExtractList(l)
	if err != nil || len(items) != 2 {
		t.Fatalf("items: %v %v", items, err)
	}
	s, _ := object(items[0])
	if bs, ok := s.(*kubestash.BackupSession); !ok || bs.Name != "a" || bs.Phase != "Succeeded" || bs.ResourceVersion != "40" {
		t.Errorf("first item: %#v", s)
	}
	if s, _ := object(items[1]); s.(*kubestash.BackupSession).Phase != "" {
		t.Errorf("a mistyped phase reads as empty: %#v", s)
	}
}

// A watch envelope keeps its object raw; the object, a Status of an ERROR event, and the
// bookmark that ends a WatchList's initial events each decode to what the reflector reads.
func TestWireWatchObjects(t *testing.T) {
	ws := sessionSerializer()
	var ev metav1.WatchEvent
	if _, _, err := ws.Decode([]byte(`{"type":"MODIFIED","object":{"metadata":{"name":"a"}}}`), nil, &ev); err != nil || ev.Type != "MODIFIED" || string(ev.Object.Raw) != `{"metadata":{"name":"a"}}` {
		t.Fatalf("envelope: %+v %v", ev, err)
	}
	o, _, err := ws.Decode(ev.Object.Raw, nil, nil)
	if err != nil || o.(*wireObject).GetName() != "a" || o.(*wireObject).GetAnnotations() != nil {
		t.Fatalf("object: %#v %v", o, err)
	}
	o, _, err = ws.Decode([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old"}`), nil, nil)
	if st, ok := o.(*metav1.Status); err != nil || !ok || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Fatalf("status: %#v %v", o, err)
	}
	// A session whose text merely mentions "Status" is still a session.
	o, _, _ = ws.Decode([]byte(`{"metadata":{"name":"s"},"status":{"phase":"Status"}}`), nil, nil)
	if w, ok := o.(*wireObject); !ok || w.GetName() != "s" {
		t.Fatalf("a session mentioning Status: %#v", o)
	}
	o, _, _ = ws.Decode([]byte(`{"kind":"BackupSession","apiVersion":"core.kubestash.com/v1alpha1","metadata":{"resourceVersion":"99","annotations":{"k8s.io/initial-events-end":"true"}}}`), nil, nil)
	w := o.(*wireObject)
	if w.GetResourceVersion() != "99" || w.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" {
		t.Fatalf("bookmark: rv %q annotations %v", w.GetResourceVersion(), w.GetAnnotations())
	}
	if s, _ := object(w); s.GetAnnotations() != nil {
		t.Errorf("the stored session keeps no annotations")
	}
}

// Every kind's client draws from one rate limiter made from the config's QPS and burst, not
// one each (so the seven source kinds together keep to the configured rate).
func TestRESTListerSharesOneRateLimiter(t *testing.T) {
	for _, c := range []struct {
		qps, want float32
	}{{0, rest.DefaultQPS}, {7, 7}, {-1, 0}} {
		l, err := NewRESTLister(&rest.Config{Host: "https://127.0.0.1:1", QPS: c.qps})
		if err != nil {
			t.Fatal(err)
		}
		rl := l.(*restLister).config.RateLimiter
		switch {
		case c.want == 0 && rl != nil:
			t.Errorf("QPS %v: a rate limiter, want none (negative QPS turns limiting off)", c.qps)
		case c.want != 0 && (rl == nil || rl.QPS() != c.want):
			t.Errorf("QPS %v: shared rate limiter %v, want one at %v QPS", c.qps, rl, c.want)
		}
	}
}
