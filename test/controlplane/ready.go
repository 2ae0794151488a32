package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

func get(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
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
