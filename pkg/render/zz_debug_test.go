package render

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestZZDebug(t *testing.T) {
	text := []byte("a: [" + strings.Repeat("1,", (MaxParamsBytes-8)/2) + "1]")
	p := validForm()
	task(p, 0, 0).Params = nil
	task(p, 0, 0).ParamsText = string(text)
	var m *Manifest
	bounded(t, 1000, func() { m, _ = Render(p) })
	bounded(t, 1000, func() { yaml.JSONToYAML(m.JSON) })
	bounded(t, 1000, func() { encode(m.Object) })
	_, pl := check(p)
	bounded(t, 1000, func() { build(p, pl) })
}
