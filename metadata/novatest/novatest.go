// Package novatest is a stand-in for Nova's metadata API for tests of the
// metadata path: it checks the headers a metadata proxy must send and the
// instance signature as Nova's handler does (403 when it does not match),
// and answers with the instance ID it was given.
package novatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Request is what the stand-in saw of one request.
type Request struct {
	Path                              string
	ForwardedFor, RouterID, NetworkID string
	InstanceID, TenantID, Signature   string
	SignatureOK                       bool
}

// Nova is the stand-in. Serve it on a listener of the caller's choice.
type Nova struct {
	secret []byte
	mu     sync.Mutex
	seen   []Request
}

// New returns a stand-in that checks signatures with secret.
func New(secret []byte) *Nova { return &Nova{secret: secret} }

// Serve answers on ln until it is closed.
func (n *Nova) Serve(ln net.Listener) { _ = http.Serve(ln, n) }

func (n *Nova) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := r.Header
	m := hmac.New(sha256.New, n.secret)
	m.Write([]byte(h.Get("X-Instance-ID")))
	want := hex.EncodeToString(m.Sum(nil))
	req := Request{Path: r.URL.RequestURI(), ForwardedFor: h.Get("X-Forwarded-For"), RouterID: h.Get("X-Neutron-Router-ID"),
		NetworkID: h.Get("X-Neutron-Network-ID"), InstanceID: h.Get("X-Instance-ID"), TenantID: h.Get("X-Tenant-ID"),
		Signature: h.Get("X-Instance-ID-Signature")}
	req.SignatureOK = hmac.Equal([]byte(want), []byte(req.Signature))
	n.mu.Lock()
	n.seen = append(n.seen, req)
	n.mu.Unlock()
	switch {
	case req.InstanceID == "" || req.ForwardedFor == "":
		http.Error(w, "missing headers", http.StatusBadRequest)
	case !req.SignatureOK:
		http.Error(w, "Invalid proxy request signature.", http.StatusForbidden)
	default:
		fmt.Fprintf(w, "instance=%s tenant=%s\n", req.InstanceID, req.TenantID)
	}
}

// Requests returns what was seen so far.
func (n *Nova) Requests() []Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Request(nil), n.seen...)
}

// Last returns the last request seen, false if none.
func (n *Nova) Last() (Request, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.seen) == 0 {
		return Request{}, false
	}
	return n.seen[len(n.seen)-1], true
}
