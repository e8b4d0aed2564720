package secgroup

import (
	"sync"

	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/namespace"
)

// Realizer makes the host namespace's nftables enforce a Desired policy:
// it owns `table inet neutrino` and `table bridge neutrino` there and
// nothing else. Apply is one nftables transaction; it is safe for
// concurrent use (one Apply or Plan at a time).
type Realizer struct {
	host *namespace.Handle
	cfg  *config

	mu sync.Mutex
	// cache is the state of our tables after our last commit, trusted only
	// while the ruleset generation is still cache.gen: any change by anyone
	// (nft by hand included) bumps the generation and forces a read-back.
	cache *state

	// Flow logging: the NFLOG reader while a log covers a port here, and
	// the plan and ports its packets are mapped back through.
	flows  flowReader
	counts flowlog.Counters
}

// FlowStats returns the counts of flow records delivered so far.
func (r *Realizer) FlowStats() FlowStats { return r.counts.Stats() }
