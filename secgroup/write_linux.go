package secgroup

import (
	"github.com/google/nftables"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// queue puts the plan's operations on c in an order the kernel accepts
// within one transaction: tables, new sets and chains first, element
// deletions before the chains their verdicts point to go, rules after the
// sets and chains they name, element additions after the chains their
// verdicts name, and deletions of chains and sets after every rule and
// element that referred to them is gone. Nothing is sent until Flush.
func queue(c *nftables.Conn, p *plan) error {
	for _, tp := range p.tables {
		t := nfTable(tp.family)
		if tp.delTable {
			c.DelTable(t)
		}
		if tp.t == nil {
			continue
		}
		if tp.addTable {
			c.AddTable(t)
		}
		sets := make(map[string]*nftables.Set, len(tp.t.sets))
		for _, s := range tp.t.sets {
			sets[s.name] = lowerSet(t, s)
		}
		for _, s := range tp.addSets {
			if err := c.AddSet(sets[s.name], nil); err != nil {
				return err
			}
		}
		for _, ch := range tp.addChains {
			c.AddChain(lowerChain(t, ch))
		}
		for _, name := range sortedKeys(tp.delElems) {
			if err := nft.QueueElements(c, sets[name], lowerElems(tp.t.setx[name], tp.delElems[name]), nil); err != nil {
				return err
			}
		}
		for _, ch := range tp.fill {
			nc := &nftables.Chain{Name: ch.name, Table: t}
			if tp.flush[ch.name] {
				c.FlushChain(nc)
			}
			for i := range ch.rules {
				c.AddRule(lowerRule(t, nc, &ch.rules[i], sets))
			}
		}
		for _, name := range sortedKeys(tp.addElems) {
			if err := nft.QueueElements(c, sets[name], nil, lowerElems(tp.t.setx[name], tp.addElems[name])); err != nil {
				return err
			}
		}
		for _, name := range tp.delChains {
			c.FlushChain(&nftables.Chain{Name: name, Table: t})
		}
		for _, name := range tp.delChains {
			c.DelChain(&nftables.Chain{Name: name, Table: t})
		}
		for _, name := range tp.delSets {
			c.DelSet(&nftables.Set{Name: name, Table: t})
		}
	}
	return nil
}
