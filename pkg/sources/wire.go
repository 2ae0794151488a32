package sources

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
)

// Decoder reads one object of a source kind from its JSON into the compact struct the stores
// keep (package kubestash). It never fails: what does not decode reads as zero.
type Decoder func([]byte) metav1.Object

// Lister lists and watches one source resource across all namespaces, every object decoded by
// decode. The server's Lister (NewRESTLister) decodes each object straight from the wire: no
// unstructured map is ever built, which is most of what listing costs the client
// (docs/benchmarks.md, "Start to ready").
type Lister interface {
	ListerWatcher(gvr schema.GroupVersionResource, decode Decoder) cache.ListerWatcher
}

// wireObject is a decoded source object on its way through client-go's reflector, which needs
// a runtime.Object with metadata (resourceVersion, and the WatchList bookmark's annotation).
// The sources' store unwraps it, so it holds only the compact struct.
type wireObject struct {
	metav1.Object
	// annotations are the metadata annotations of a WatchList bookmark ("k8s.io/initial-
	// events-end"), which the compact structs do not keep; nil for every other object.
	annotations map[string]string
}

var _ runtime.Object = &wireObject{}

func (w *wireObject) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the wrapper only: the compact structs are never changed once decoded.
func (w *wireObject) DeepCopyObject() runtime.Object { c := *w; return &c }

func (w *wireObject) GetAnnotations() map[string]string {
	if w.annotations != nil {
		return w.annotations
	}
	return w.Object.GetAnnotations()
}

// wireList is one page of a list.
type wireList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []wireObject `json:"-"`
}

var _ runtime.Object = &wireList{}

func (l *wireList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = append([]wireObject(nil), l.Items...)
	return &c
}

// initialEventsEnd is the annotation of the bookmark that ends a WatchList's initial events.
var initialEventsEnd = []byte(metav1.InitialEventsAnnotationKey)

// wireSerializer decodes what the API server sends for one source resource: list pages,
// watch event envelopes, the objects inside them, and Status errors. It encodes nothing
// (list and watch send no body).
type wireSerializer struct{ decode Decoder }

var _ runtime.Serializer = wireSerializer{}

func (s wireSerializer) Identifier() runtime.Identifier { return "backupview-wire-json" }

func (s wireSerializer) Encode(runtime.Object, io.Writer) error {
	return fmt.Errorf("the source lister sends no request bodies")
}

func (s wireSerializer) Decode(data []byte, _ *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	switch into := into.(type) {
	case *metav1.WatchEvent:
		// The envelope: its object stays raw and comes back here (into nil) to be decoded.
		return into, nil, json.Unmarshal(data, into)
	case *wireList:
		var page struct {
			Metadata metav1.ListMeta   `json:"metadata"`
			Items    []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, nil, err
		}
		into.ListMeta, into.Items = page.Metadata, make([]wireObject, len(page.Items))
		for i, raw := range page.Items {
			into.Items[i] = s.object(raw)
		}
		return into, nil, nil
	case nil:
		if st, ok := status(data); ok {
			return st, nil, nil
		}
		w := s.object(data)
		return &w, nil, nil
	}
	return nil, nil, fmt.Errorf("the source lister cannot decode into %T", into)
}

// object decodes one object; a WatchList bookmark also keeps its annotations.
func (s wireSerializer) object(data []byte) wireObject {
	w := wireObject{Object: s.decode(data)}
	if len(data) < 4096 && bytes.Contains(data, initialEventsEnd) {
		var m metav1.PartialObjectMetadata
		if json.Unmarshal(data, &m) == nil && m.Annotations != nil {
			w.annotations = m.Annotations
		}
	}
	return w
}

// status reads a metav1.Status (an error response, or a watch's ERROR event). Statuses are
// small; an object of a source kind never is one.
func status(data []byte) (*metav1.Status, bool) {
	if len(data) > 64<<10 || !bytes.Contains(data, []byte(`"Status"`)) {
		return nil, false
	}
	var st metav1.Status
	if json.Unmarshal(data, &st) != nil || st.Kind != "Status" {
		return nil, false
	}
	return &st, true
}

// wireCodecs offers the wireSerializer as the only content type.
type wireCodecs struct{ s wireSerializer }

func (c wireCodecs) SupportedMediaTypes() []runtime.SerializerInfo {
	return []runtime.SerializerInfo{{
		MediaType: runtime.ContentTypeJSON, MediaTypeType: "application", MediaTypeSubType: "json", EncodesAsText: true,
		Serializer: c.s, StrictSerializer: c.s,
		StreamSerializer: &runtime.StreamSerializerInfo{EncodesAsText: true, Serializer: c.s, Framer: jsonserializer.Framer},
	}}
}

func (c wireCodecs) EncoderForVersion(e runtime.Encoder, _ runtime.GroupVersioner) runtime.Encoder {
	return e
}

func (c wireCodecs) DecoderToVersion(d runtime.Decoder, _ runtime.GroupVersioner) runtime.Decoder {
	return d
}

// restLister is the server's Lister: a REST client per resource over one shared HTTP client.
type restLister struct {
	config *rest.Config
	client *http.Client
}

// NewRESTLister lists and watches through config (its credentials and rate limits), in JSON.
func NewRESTLister(config *rest.Config) (Lister, error) {
	cfg := rest.CopyConfig(config)
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	// One rate limiter for every kind's client, as one dynamic client had: per-kind clients
	// would otherwise each get their own QPS and burst from the config.
	if cfg.RateLimiter == nil {
		qps, burst := cmp.Or(cfg.QPS, rest.DefaultQPS), cmp.Or(cfg.Burst, rest.DefaultBurst)
		if qps > 0 {
			cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(qps, burst)
		}
	}
	return &restLister{config: cfg, client: httpClient}, nil
}

func (l *restLister) ListerWatcher(gvr schema.GroupVersionResource, decode Decoder) cache.ListerWatcher {
	cfg := rest.CopyConfig(l.config)
	gv := gvr.GroupVersion()
	cfg.GroupVersion, cfg.APIPath = &gv, "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.ContentType, cfg.AcceptContentTypes = runtime.ContentTypeJSON, runtime.ContentTypeJSON
	cfg.NegotiatedSerializer = wireCodecs{wireSerializer{decode: decode}}
	client, err := rest.RESTClientForConfigAndClient(cfg, l.client)
	if err != nil {
		// Only a malformed configuration gets here, and rest.HTTPClientFor accepted it.
		return errorListerWatcher{err}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			l := &wireList{}
			err := client.Get().Resource(gvr.Resource).VersionedParams(&opts, metav1.ParameterCodec).Do(ctx).Into(l)
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			var timeout time.Duration
			if opts.TimeoutSeconds != nil {
				timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
			}
			return client.Get().Resource(gvr.Resource).VersionedParams(&opts, metav1.ParameterCodec).Timeout(timeout).Watch(ctx)
		},
	}
}

// errorListerWatcher fails every call: the reflector reports it and retries.
type errorListerWatcher struct{ err error }

func (e errorListerWatcher) List(metav1.ListOptions) (runtime.Object, error)   { return nil, e.err }
func (e errorListerWatcher) Watch(metav1.ListOptions) (watch.Interface, error) { return nil, e.err }
