package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

// TestEtcdRefusesAnAgentWithoutAValidClientCertificate: the agent's
// connection fails at start, saying which flags to check, unless it holds
// a certificate of the authority etcd trusts.
func TestEtcdRefusesAnAgentWithoutAValidClientCertificate(t *testing.T) {
	pki := etcdtest.NewPKI(t)
	srv := etcdtest.StartTLS(t, pki)
	for _, c := range []struct {
		name      string
		cert, key string
		ok        bool
	}{
		{"no client certificate", "", "", false},
		{"a certificate of another authority", pki.ForeignCert, pki.ForeignKey, false},
		{"a certificate of the trusted authority", pki.ClientCert, pki.ClientKey, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := etcdOptions{endpoints: srv.Endpoint(), prefix: "/tls", caFile: pki.CA, certFile: c.cert, keyFile: c.key,
				dialTimeout: 3 * time.Second}
			cl, err := e.client(context.Background())
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				cl.Close()
				return
			}
			if err == nil {
				cl.Close()
				t.Fatal("etcd accepted the agent")
			}
			if !strings.Contains(err.Error(), "refused or unreachable (check --etcd-cacert, --etcd-cert, --etcd-key)") ||
				!strings.Contains(err.Error(), "TLS with ") {
				t.Errorf("the error does not say what to check: %v", err)
			}
			t.Log(err)
		})
	}
}
