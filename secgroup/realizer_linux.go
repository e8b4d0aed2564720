package secgroup

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/converge"
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
// the conntrack entries of flows the new policy no longer allows. The
// Report is never nil.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, converge.Apply)
}

// Plan reports what Apply would change, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, converge.Plan)
}

// attempts bounds the retries of a commit refused because someone else
// changed the ruleset between our read and our commit.
const attempts = 3

// Operations of a secgroup pass: a sysctl write, and the one nftables
// transaction (the whole diff of both tables).
type (
	op       interface{ isOp() }
	opSysctl struct{ key string }
	opCommit struct {
		c   *nftables.Conn
		p   *plan
		gen uint32
	}
)

func (opSysctl) isOp() {}
func (opCommit) isOp() {}

func (r *Realizer) do(o op) error {
	switch o := o.(type) {
	case opSysctl:
		return r.host.Sysctl(o.key, "1")
	case opCommit:
		return r.commit(o.c, o.p, o.gen)
	}
	return fmt.Errorf("unknown operation %T", o)
}

// execute records changes (Plan) or runs them (Apply).
func execute(ctx context.Context, mode converge.Mode, changes []converge.Change[op], rep *Report, do func(op) error) error {
	if mode == converge.Plan {
		converge.Record(rep, changes)
		return nil
	}
	return converge.Execute(ctx, "secgroup", changes, rep, do)
}

func (r *Realizer) run(ctx context.Context, d *Desired, mode converge.Mode) (*Report, error) {
	rep := &Report{}
	if err := d.Validate(); err != nil {
		return rep, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(d.Ports) > 0 {
		changes, err := r.brNetfilter()
		if err != nil {
			return rep, err
		}
		if err := execute(ctx, mode, changes, rep, r.do); err != nil {
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
		// The transaction is one change: packets see the old policy or the
		// new one, and the Report counts what it holds object by object.
		tx := []converge.Change[op]{{Verb: report.Update, Kind: "transaction", What: "tables " + TableName,
			Ops: []op{opCommit{c: c, p: p, gen: st.gen}}, Detail: p.report}}
		if mode == converge.Plan || p.empty() {
			converge.Record(rep, tx)
			if mode == converge.Apply {
				return rep, r.logTo(rs)
			}
			return rep, nil
		}
		err = converge.Execute(ctx, "secgroup", tx, rep, r.do)
		if errors.Is(err, unix.ERESTART) {
			r.cfg.log.Debug("ruleset changed during apply, retrying")
			continue
		}
		if err != nil {
			return rep, err
		}
		r.cfg.log.Info("security groups applied", "changes", p.report.String())
		if r.cache != nil {
			r.cache = stateOfCommit(r.cache.gen, rs)
		}
		return rep, errors.Join(r.clear(p), r.logTo(rs))
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

// brNetfilter plans making bridged IPv4 and IPv6 traffic traverse the inet
// hooks, without which no port chain sees it. The sysctls are per network
// namespace (since Linux 5.3), so this changes the host namespace only.
func (r *Realizer) brNetfilter() ([]converge.Change[op], error) {
	var changes []converge.Change[op]
	for _, key := range []string{"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"} {
		v, err := r.host.ReadSysctl(key)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is missing: the kernel has no br_netfilter, bridged traffic cannot be filtered", errors.ErrUnsupported, key)
		}
		if err != nil {
			return nil, err
		}
		if v == "1" {
			continue
		}
		changes = append(changes, converge.Change[op]{Verb: report.Update, Kind: "sysctl",
			What: fmt.Sprintf("%s=1 (was %s)", key, v), Ops: []op{opSysctl{key}}})
	}
	return changes, nil
}

// Close stops the NFLOG reader, if any; the nftables connection is the
// host handle's.
func (r *Realizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flows.close()
}
