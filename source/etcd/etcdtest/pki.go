package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a throwaway certificate authority with a server certificate for
// 127.0.0.1, a client certificate it signed, and a client certificate of
// another authority (which the server must refuse).
type PKI struct {
	CA                      string // CA certificate file
	ServerCert, ServerKey   string
	ClientCert, ClientKey   string
	ForeignCert, ForeignKey string
	dir                     string
}

// NewPKI writes the files into a temporary directory.
func NewPKI(t TB) *PKI {
	t.Helper()
	p := &PKI{dir: t.TempDir()}
	ca, caKey := p.issue(t, "ca", nil, nil, true)
	p.CA = p.write(t, "ca.pem", "CERTIFICATE", ca.Raw)
	p.ServerCert, p.ServerKey = p.leaf(t, "server", ca, caKey)
	p.ClientCert, p.ClientKey = p.leaf(t, "client", ca, caKey)
	other, otherKey := p.issue(t, "other-ca", nil, nil, true)
	p.ForeignCert, p.ForeignKey = p.leaf(t, "foreign", other, otherKey)
	return p
}

func (p *PKI) leaf(t TB, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (string, string) {
	c, k := p.issue(t, name, ca, caKey, false)
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", c.Raw), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kb)
}

// issue makes a certificate signed by parent (self-signed when nil).
func (p *PKI) issue(t TB, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	return c, key
}

func (p *PKI) write(t TB, name, kind string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	return path
}

// clientTLS is the TLS configuration of a client holding the good client
// certificate.
func (p *PKI) clientTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(p.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
