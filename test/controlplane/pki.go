package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The PKI, in DIR/pki: NAME.crt and NAME.key (PKCS#8 PEM, ECDSA P-256) for each of
//
//	ca, front-proxy-ca, backupview-ca     self-signed CAs
//	apiserver                kube-apiserver's serving certificate            (ca)
//	admin                    client, O=system:masters CN=admin               (ca)
//	alice                    client, CN=alice, no groups                     (ca)
//	kube-controller-manager  client, CN=system:kube-controller-manager       (ca): the user the
//	                         bootstrap RBAC grants kube-controller-manager's rights to
//	front-proxy-client       the client certificate kube-apiserver proxies with (front-proxy-ca)
//	backupview               backupview-apiserver's serving certificate      (backupview-ca)
//
// and sa.key/sa.pub, the service-account signing key pair. A file is kept while it is valid
// for another day, matches its key, is signed by its current CA and says what it should say;
// otherwise it is made again.

// certSpec is what one certificate says.
type certSpec struct {
	name, ca string // ca "": self-signed CA
	cn       string
	orgs     []string
	server   bool // serverAuth (else clientAuth)
	dns      []string
	ips      []string
}

var pkiSpecs = []certSpec{
	{name: "ca", cn: "kubernetes-ca"},
	{name: "front-proxy-ca", cn: "front-proxy-ca"},
	{name: "backupview-ca", cn: "backupview-ca"},
	{name: "apiserver", ca: "ca", cn: "kube-apiserver", server: true,
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		ips: []string{"127.0.0.1", "::1", "10.0.0.1", KubernetesSvc}},
	{name: "admin", ca: "ca", cn: "admin", orgs: []string{"system:masters"}},
	{name: "alice", ca: "ca", cn: "alice"},
	{name: "kube-controller-manager", ca: "ca", cn: "system:kube-controller-manager"},
	{name: "front-proxy-client", ca: "front-proxy-ca", cn: "front-proxy-client"},
	{name: "backupview", ca: "backupview-ca", cn: "backupview.backupview-system.svc", server: true,
		dns: []string{"backupview.backupview-system.svc", "backupview.backupview-system.svc.cluster.local",
			"backupview.backupview-system", "backupview", "localhost"},
		ips: []string{"127.0.0.1", "::1"}},
}

// ensurePKI makes what is missing or no longer valid under dir and keeps the rest.
func ensurePKI(dir string, logf func(string, ...any)) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, s := range pkiSpecs {
		made, err := ensureCert(dir, s)
		if err != nil {
			return fmt.Errorf("pki %s: %w", s.name, err)
		}
		if made {
			logf("pki: made %s", s.name)
		}
	}
	if _, err := readKey(filepath.Join(dir, "sa.key")); err != nil {
		key, err := newKey(filepath.Join(dir, "sa.key"))
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			return err
		}
		logf("pki: made sa.key")
		return os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
	}
	return nil
}

// MintCert makes a client certificate NAME.crt/.key in the PKI, signed by the CA caName ("ca":
// the cluster's client CA; "front-proxy-ca": the aggregator's), for the user cn in groups orgs.
func (c *Cluster) MintCert(caName, name, cn string, orgs ...string) error {
	_, err := ensureCert(filepath.Join(c.cfg.Dir, "pki"), certSpec{name: name, ca: caName, cn: cn, orgs: orgs})
	return err
}

// ensureCert keeps the certificate of s when it is still right, or makes it (made: true).
func ensureCert(dir string, s certSpec) (made bool, err error) {
	crtFile, keyFile := filepath.Join(dir, s.name+".crt"), filepath.Join(dir, s.name+".key")
	var ca *x509.Certificate
	var caKey crypto.Signer
	if s.ca != "" {
		if ca, err = readCert(filepath.Join(dir, s.ca+".crt")); err != nil {
			return false, err
		}
		if caKey, err = readKey(filepath.Join(dir, s.ca+".key")); err != nil {
			return false, err
		}
	}
	if certStillRight(crtFile, keyFile, s, ca) {
		return false, nil
	}
	key, err := newKey(keyFile)
	if err != nil {
		return false, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return false, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		DNSNames:              s.dns,
		BasicConstraintsValid: true,
	}
	for _, ip := range s.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	if s.ca == "" {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		ca, caKey = tmpl, key
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if s.server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return false, err
	}
	return true, os.WriteFile(crtFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// certStillRight: present, valid for another day, matching its key, signed by ca (a CA:
// by itself) and saying what s says.
func certStillRight(crtFile, keyFile string, s certSpec, ca *x509.Certificate) bool {
	crt, err := readCert(crtFile)
	if err != nil {
		return false
	}
	key, err := readKey(keyFile)
	if err != nil || !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(crt.PublicKey) {
		return false
	}
	if time.Until(crt.NotAfter) < 24*time.Hour {
		return false
	}
	if ca == nil {
		ca = crt
	}
	if crt.CheckSignatureFrom(ca) != nil {
		return false
	}
	var ips []string
	for _, ip := range crt.IPAddresses {
		ips = append(ips, ip.String())
	}
	want := slices.Clone(s.ips)
	for i, ip := range want {
		want[i] = net.ParseIP(ip).String()
	}
	eku := x509.ExtKeyUsageClientAuth
	if s.server {
		eku = x509.ExtKeyUsageServerAuth
	}
	return crt.Subject.CommonName == s.cn && slices.Equal(crt.Subject.Organization, s.orgs) &&
		slices.Equal(crt.DNSNames, s.dns) && slices.Equal(ips, want) && crt.IsCA == (s.ca == "") &&
		(s.ca == "" || slices.Equal(crt.ExtKeyUsage, []x509.ExtKeyUsage{eku}))
}

func newKey(file string) (crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return key, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func readCert(file string) (*x509.Certificate, error) {
	b, err := pemBlock(file, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(b)
}

func readKey(file string) (crypto.Signer, error) {
	b, err := pemBlock(file, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", file)
	}
	return s, nil
}

func pemBlock(file, typ string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != typ {
		return nil, fmt.Errorf("%s: no %s PEM block", file, typ)
	}
	return b.Bytes, nil
}
