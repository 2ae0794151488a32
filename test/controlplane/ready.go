package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// The health checks waitReady runs. Each makes one request.

func (c *Cluster) etcdReady(ctx context.Context) error {
	return get(ctx, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports().Etcd))
}

func (c *Cluster) apiServerReady(ctx context.Context) error {
	hc, err := c.AdminHTTPClient()
	if err != nil {
		return err
	}
	return get(ctx, hc, c.URL()+"/readyz")
}

// controllerManagerReady: kube-controller-manager serves with a self-signed certificate of its
// own (kcm-certs/) and /healthz needs no credentials.
func (c *Cluster) controllerManagerReady(ctx context.Context) error {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	return get(ctx, hc, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.Ports().ControllerManager))
}

func (c *Cluster) serverReady(ctx context.Context) error {
	hc, err := c.ServerHTTPClient()
	if err != nil {
		return err
	}
	return get(ctx, hc, fmt.Sprintf("https://127.0.0.1:%d/readyz", c.Ports().Server))
}

// aggregatedReady: a request through kube-apiserver's aggregator reaches the server.
func (c *Cluster) aggregatedReady(ctx context.Context) error {
	hc, err := c.AdminHTTPClient()
	if err != nil {
		return err
	}
	return get(ctx, hc, c.URL()+aggregatedPrefix)
}

// discoveryReady: kube-apiserver's aggregated discovery lists resources of the APIService's
// group version.
func (c *Cluster) discoveryReady(ctx context.Context) error {
	hc, err := c.AdminHTTPClient()
	if err != nil {
		return err
	}
	var body []byte
	if err := getAccept(ctx, hc, c.URL()+"/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", &body); err != nil {
		return err
	}
	var l struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
			Versions []struct {
				Version   string            `json:"version"`
				Resources []json.RawMessage `json:"resources"`
			} `json:"versions"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return err
	}
	for _, g := range l.Items {
		for _, v := range g.Versions {
			if g.Metadata.Name == APIServiceGroup && v.Version == APIServiceVer && len(v.Resources) > 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("/apis lists no resources of %s/%s yet", APIServiceGroup, APIServiceVer)
}

func get(ctx context.Context, hc *http.Client, url string) error {
	return getAccept(ctx, hc, url, "", nil)
}

// getAccept GETs url with an Accept header (when not empty) and keeps the body (when body is
// not nil); a status other than 200 is an error.
func getAccept(ctx context.Context, hc *http.Client, url, accept string, body *[]byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	limit := int64(4096)
	if body != nil {
		limit = 64 << 20
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, b)
	}
	if body != nil {
		*body = b
	}
	return err
}

// AdminHTTPClient talks to kube-apiserver as the admin (client certificate, system:masters).
func (c *Cluster) AdminHTTPClient() (*http.Client, error) {
	return c.httpClient("ca.crt", "admin")
}

// ServerHTTPClient talks to backupview-apiserver directly, trusting its CA, with the admin's
// client certificate (its /metrics needs one; /readyz does not).
func (c *Cluster) ServerHTTPClient() (*http.Client, error) {
	return c.httpClient("backupview-ca.crt", "admin")
}

// httpClient trusts the CA file ca and presents the client certificate cert of the PKI.
func (c *Cluster) httpClient(ca, cert string) (*http.Client, error) {
	pem, err := os.ReadFile(c.PKI(ca))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", c.PKI(ca))
	}
	kp, err := tls.LoadX509KeyPair(c.PKI(cert+".crt"), c.PKI(cert+".key"))
	if err != nil {
		return nil, err
	}
	// Keep-alives off: a health check must not hold a connection to a process being stopped.
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kp}}}}, nil
}
