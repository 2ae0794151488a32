package controlplane

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfigs writes the admin's (system:masters), alice's (no groups) and
// kube-controller-manager's kubeconfigs.
func (c *Cluster) writeKubeconfigs() error {
	for _, u := range []struct{ file, user, cert string }{
		{c.Kubeconfig(""), "admin", "admin"},
		{c.Kubeconfig("alice"), "alice", "alice"},
		{c.Kubeconfig("kube-controller-manager"), "system:kube-controller-manager", "kube-controller-manager"},
	} {
		if err := c.writeKubeconfig(u.file, u.user, u.cert); err != nil {
			return err
		}
	}
	return nil
}

// WriteKubeconfig writes DIR/kubeconfig-CERT for the client certificate CERT of the PKI (see
// MintCert) and returns its path.
func (c *Cluster) WriteKubeconfig(cert string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.Kubeconfig(cert)
	return f, c.writeKubeconfig(f, cert, cert)
}

func (c *Cluster) writeKubeconfig(file, user, cert string) error {
	const cluster = "backupview-local"
	ctx := user + "@" + cluster
	cfg := clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{cluster: {Server: c.url(), CertificateAuthority: c.PKI("ca.crt")}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{user: {ClientCertificate: c.PKI(cert + ".crt"), ClientKey: c.PKI(cert + ".key")}},
		Contexts:       map[string]*clientcmdapi.Context{ctx: {Cluster: cluster, AuthInfo: user}},
		CurrentContext: ctx,
	}
	return clientcmd.WriteToFile(cfg, file)
}
