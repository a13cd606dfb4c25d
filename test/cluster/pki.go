package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is a throwaway CA and what it signed, as PEM files in one folder. One CA signs both the serving
// certificate and the admin's client certificate: nothing here outlives the process.
type pki struct {
	dir                     string
	caCert, caKey           string // the CA (the API server's --client-ca-file, the kubeconfig's CA)
	servingCert, servingKey string // 127.0.0.1 and localhost
	adminCert, adminKey     string // CN=gitops-test-admin, O=system:masters
	serviceAccountKey       string // signs service account tokens
	caPEM, adminCertPEM     []byte
	adminKeyPEM             []byte
}

func newPKI(dir string) (*pki, error) {
	p := &pki{dir: dir}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-time.Hour) // a little slack for clock differences
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gitops-test-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p.caPEM = pemBlock("CERTIFICATE", caDER)
	if p.caCert, err = p.write("ca.crt", p.caPEM); err != nil {
		return nil, err
	}
	if p.caKey, err = p.writeKey("ca.key", caKey); err != nil {
		return nil, err
	}

	sign := func(serial int64, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now, now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		return der, key, err
	}

	servingDER, servingKey, err := sign(2, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
	})
	if err != nil {
		return nil, err
	}
	if p.servingCert, err = p.write("apiserver.crt", pemBlock("CERTIFICATE", servingDER)); err != nil {
		return nil, err
	}
	if p.servingKey, err = p.writeKey("apiserver.key", servingKey); err != nil {
		return nil, err
	}

	// system:masters is the group that RBAC lets do everything: the admin of a fresh cluster.
	adminDER, adminKey, err := sign(3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "gitops-test-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	p.adminCertPEM = pemBlock("CERTIFICATE", adminDER)
	if p.adminCert, err = p.write("admin.crt", p.adminCertPEM); err != nil {
		return nil, err
	}
	if p.adminKey, err = p.writeKey("admin.key", adminKey); err != nil {
		return nil, err
	}
	if p.adminKeyPEM, err = os.ReadFile(p.adminKey); err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.serviceAccountKey, err = p.writeKey("sa.key", saKey); err != nil {
		return nil, err
	}
	return p, nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func (p *pki) write(name string, data []byte) (string, error) {
	path := filepath.Join(p.dir, name)
	return path, os.WriteFile(path, data, 0o600)
}

func (p *pki) writeKey(name string, key *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return p.write(name, pemBlock("EC PRIVATE KEY", der))
}

// kubeconfig is an admin kubeconfig for server with everything inline, so it can be copied anywhere.
func (p *pki) kubeconfig(server string) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: gitops-test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: gitops-test-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: gitops-test
  context:
    cluster: gitops-test
    user: gitops-test-admin
current-context: gitops-test
`, server, b64(p.caPEM), b64(p.adminCertPEM), b64(p.adminKeyPEM))
}
