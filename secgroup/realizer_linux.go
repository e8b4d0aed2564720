package secgroup

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/nft"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// NewRealizer returns a realizer for the node whose namespace is host.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a namespace handle is required")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Realizer{host: host, cfg: cfg}, nil
}

// Apply makes the node enforce d: it validates d (nothing changes if it is
// invalid), makes sure bridged IP traffic traverses the inet hooks
// (br_netfilter sysctls, per namespace), commits the difference between
// the tables and the compiled policy in one transaction, and then deletes
// the conntrack entries of flows the new policy no longer allows.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, true)
}

// Plan reports what Apply would change, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, false)
}

// attempts bounds the retries of a commit refused because someone else
// changed the ruleset between our read and our commit.
const attempts = 3

func (r *Realizer) run(ctx context.Context, d *Desired, apply bool) (*Report, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{}
	if len(d.Ports) > 0 {
		if err := r.brNetfilter(apply, rep); err != nil {
			return rep, err
		}
	}
	c, err := r.host.NFT()
	if err != nil {
		return rep, err
	}
	for range attempts {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		st, err := r.current(c)
		if err != nil {
			return rep, err
		}
		rs, _, err := compile(d, r.cfg, st.numbers(r.cfg))
		if err != nil {
			return rep, err
		}
		p := diff(st, rs, r.cfg)
		if !apply || p.empty() {
			rep.Merge(p.report)
			return rep, nil
		}
		err = r.commit(c, p, st.gen)
		if errors.Is(err, unix.ERESTART) {
			r.cfg.log.Debug("ruleset changed during apply, retrying")
			continue
		}
		if err != nil {
			return rep, err
		}
		rep.Merge(p.report)
		r.cfg.log.Info("security groups applied", "changes", p.report.String())
		if r.cache != nil {
			r.cache = stateOfCommit(r.cache.gen, rs)
		}
		return rep, r.clear(p)
	}
	return rep, fmt.Errorf("%w: the nftables ruleset kept changing during apply (%d attempts)", errdefs.ErrConflict, attempts)
}

// current returns the state of our tables, from the cache if the ruleset
// has not changed since our last commit, else read back from the kernel.
func (r *Realizer) current(c *nftables.Conn) (*state, error) {
	g, err := c.GetGen()
	if err != nil {
		return nil, fmt.Errorf("read nftables generation: %w", nft.Err(err))
	}
	if r.cache != nil && r.cache.gen == g.ID {
		return r.cache, nil
	}
	r.cache = nil
	return observe(c, r.host.Fd())
}

// commit sends the plan as one transaction, refused by the kernel
// (ERESTART) if the ruleset is no longer generation gen. The cache is
// kept only if our commit was the only one since gen.
func (r *Realizer) commit(c *nftables.Conn, p *plan, gen uint32) error {
	r.cache = nil
	if err := queue(c, p); err != nil {
		_ = c.Flush() // discards what was queued: the conn carries the error
		return fmt.Errorf("queue nftables changes: %w", err)
	}
	if err := c.FlushWithGenID(gen); err != nil {
		if errors.Is(err, unix.ERESTART) {
			return err
		}
		return fmt.Errorf("commit security groups: %w", nft.Err(err))
	}
	if g, err := c.GetGen(); err == nil && g.ID == gen+1 {
		r.cache = &state{gen: g.ID}
	}
	return nil
}

// stateOfCommit is the state after committing rs at generation gen.
func stateOfCommit(gen uint32, rs *ruleset) *state {
	st := stateOf(rs)
	st.gen = gen
	return st
}

// clear deletes the conntrack entries of flows the change ended.
func (r *Realizer) clear(p *plan) error {
	if len(p.cleanups) == 0 {
		return nil
	}
	n, err := clearConntrack(r.host.Netlink(), p.cleanups)
	r.cfg.log.Debug("conntrack entries deleted", "entries", n, "cleanups", len(p.cleanups))
	if err != nil {
		return fmt.Errorf("delete conntrack entries of ended flows (%d deleted): %w", n, err)
	}
	return nil
}

// brNetfilter makes bridged IPv4 and IPv6 traffic traverse the inet hooks,
// without which no port chain sees it. The sysctls are per network
// namespace (since Linux 5.3), so this changes the host namespace only.
func (r *Realizer) brNetfilter(apply bool, rep *Report) error {
	for _, key := range []string{"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"} {
		v, err := r.host.ReadSysctl(key)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s is missing: the kernel has no br_netfilter, bridged traffic cannot be filtered", errors.ErrUnsupported, key)
		}
		if err != nil {
			return err
		}
		if v == "1" {
			continue
		}
		rep.Record(report.Update, "sysctl", 1, fmt.Sprintf("set %s=1 (was %s)", key, v))
		if apply {
			if err := r.host.Sysctl(key, "1"); err != nil {
				return err
			}
		}
	}
	return nil
}
