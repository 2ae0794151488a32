package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	"github.com/kubestash/backupview/pkg/apis/ui"
)

// The internal types are a hand-kept copy of v1alpha1: every field must survive
// internal -> v1alpha1 -> JSON -> v1alpha1 -> internal, so that a field added to one and not
// the other (or converted wrongly) fails here.
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, funcs))
}

// funcs fill what random values cannot: the preview's manifest is JSON bytes.
func funcs(_ runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(s *ui.PreviewStatus, c randfill.Continue) {
			c.FillNoCustom(s)
			if s.Manifest != nil {
				s.Manifest.Raw = []byte(`{"kind":"BackupConfiguration"}`)
				s.Manifest.Object = nil
			}
		},
	}
}
