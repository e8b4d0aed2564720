package nodestate

import (
	"context"
	"sync"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/namespace"
)

// Pass is the host state shared by the realizers of one agent pass.
type Pass struct {
	host *namespace.Handle

	mu    sync.Mutex
	links []netlink.Link
	valid bool
	dumps int
}

// New returns a Pass over host, the node's namespace.
func New(host *namespace.Handle) *Pass { return &Pass{host: host} }

// Invalidate drops the shared state: the next reader dumps afresh. Call it
// after a realizer that changed, or may have changed, the host's links.
func (p *Pass) Invalidate() {
	p.mu.Lock()
	p.links, p.valid = nil, false
	p.mu.Unlock()
}

// Dumps counts the link dumps the Pass made.
func (p *Pass) Dumps() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dumps
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Pass) context.Context { return context.WithValue(ctx, ctxKey{}, p) }
