package firewall

import (
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// observe reads our table in one router namespace: nil if there is none.
// It costs one dump each of the family's chains, the table's objects and
// the table's rules (their handles and hashes only).
func observe(c *nftables.Conn, nsFd int) (*tableState, error) {
	t, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read table inet %s: %w", TableName, nft.Err(err))
	}
	st := &tableState{chains: map[string]*chainState{}, limits: map[string]limit{}}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", nft.Err(err))
	}
	rules, err := nft.DumpRules(nsFd, nftables.TableFamilyINet, TableName)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		cs := &chainState{hook: ch.Hooknum != nil}
		cs.base = cs.hook && *ch.Hooknum == *nftables.ChainHookForward && ch.Priority != nil &&
			*ch.Priority == *nftables.ChainPriorityFilter && ch.Type == nftables.ChainTypeFilter
		for _, r := range rules[ch.Name] {
			cs.rules = append(cs.rules, ruleState{hash: ruleHash(r.UserData), handle: r.Handle})
		}
		st.chains[ch.Name] = cs
	}
	objs, err := c.GetNamedObjects(t)
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", nft.Err(err))
	}
	for _, o := range objs {
		no, ok := o.(*nftables.NamedObj)
		if !ok || no.Type != nftables.ObjTypeLimit {
			continue
		}
		l := limit{name: no.Name}
		if e, ok := no.Obj.(*expr.Limit); ok && e.Type == expr.LimitTypePkts && e.Unit == expr.LimitTimeSecond && !e.Over {
			l.rate, l.burst = uint32(e.Rate), e.Burst
		}
		st.limits[no.Name] = l
	}
	return st, nil
}
