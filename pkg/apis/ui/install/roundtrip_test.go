package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	ui "github.com/kubestash/backupview/pkg/apis/ui/v1alpha1"
)

// The v1alpha1 types serve as the internal version too: every field must survive the
// scheme's internal -> v1alpha1 -> JSON and protobuf -> internal round trip, so that a field
// the serializers drop (a missing json tag, a type the codec cannot carry) fails here.
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
