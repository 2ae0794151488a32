package apiserver

import (
	"testing"

	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// caBundle is a CA provider whose content the test sets, as the dynamic
// extension-apiserver-authentication controller fills it once it has read the ConfigMap.
type caBundle struct {
	dynamiccertificates.CAContentProvider
	pem []byte
}

func (c *caBundle) CurrentCABundleContent() []byte { return c.pem }

// Ready waits for the front proxy's CA and its username headers: a server ready before them
// refuses the aggregator's requests as system:anonymous.
func TestRequestHeaderLoaded(t *testing.T) {
	for _, c := range []struct {
		name    string
		ca      []byte
		headers []string
		ready   bool
	}{
		{"nothing loaded", nil, nil, false},
		{"CA only", []byte("pem"), nil, false},
		{"headers only", nil, []string{"X-Remote-User"}, false},
		{"both", []byte("pem"), []string{"X-Remote-User"}, true},
	} {
		check := requestHeaderLoaded(&authenticatorfactory.RequestHeaderConfig{
			CAContentProvider: &caBundle{pem: c.ca},
			UsernameHeaders:   headerrequest.StaticStringSlice(c.headers),
		})
		if err := check.Check(nil); (err == nil) != c.ready {
			t.Errorf("%s: check = %v, want ready %v", c.name, err, c.ready)
		}
	}
}
