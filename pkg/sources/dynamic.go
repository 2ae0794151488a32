package sources

import (
	"context"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// NewDynamicLister lists and watches through a dynamic client, each object encoded back to
// JSON and decoded as the REST lister decodes the API server's: for clients that only have a
// dynamic.Interface, such as client-go's fakes in the tests and in-process benchmarks.
func NewDynamicLister(dyn dynamic.Interface) Lister { return dynamicLister{dyn} }

type dynamicLister struct{ dyn dynamic.Interface }

func (l dynamicLister) ListerWatcher(gvr schema.GroupVersionResource, decode Decoder) cache.ListerWatcher {
	ri, s := l.dyn.Resource(gvr), wireSerializer{decode: decode}
	wire := func(u *unstructured.Unstructured) *wireObject {
		data, err := json.Marshal(u.Object)
		if err != nil {
			panic(err) // the fake holds only what JSON encodes
		}
		w := s.object(data)
		return &w
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			ul, err := ri.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			out := &wireList{ListMeta: metav1.ListMeta{ResourceVersion: ul.GetResourceVersion(), Continue: ul.GetContinue()}}
			for i := range ul.Items {
				out.Items = append(out.Items, *wire(&ul.Items[i]))
			}
			return out, nil
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w, err := ri.Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				if u, ok := e.Object.(*unstructured.Unstructured); ok {
					e.Object = wire(u)
				}
				return e, true
			}), nil
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, l.dyn)
}
