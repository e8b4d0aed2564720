package secgroup

import (
	"fmt"

	"github.com/google/nftables"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// observe reads the state of both tables: one dump each of tables, chains,
// rules (hashes only) and sets per family, and one per set of its
// elements. The generation is read before and after, and the read repeated
// if the ruleset changed meanwhile, so the state is a consistent snapshot
// of generation st.gen.
func observe(c *nftables.Conn, nsFd int) (*state, error) {
	const attempts = 5
	for range attempts {
		g0, err := c.GetGen()
		if err != nil {
			return nil, fmt.Errorf("read nftables generation: %w", nft.Err(err))
		}
		st, err := readState(c, nsFd)
		if err != nil {
			return nil, err
		}
		g1, err := c.GetGen()
		if err != nil {
			return nil, fmt.Errorf("read nftables generation: %w", nft.Err(err))
		}
		if g0.ID == g1.ID {
			st.gen = g0.ID
			return st, nil
		}
	}
	return nil, fmt.Errorf("the nftables ruleset kept changing while it was read (%d attempts)", attempts)
}

func readState(c *nftables.Conn, nsFd int) (*state, error) {
	st := newState()
	for _, f := range []family{familyInet, familyBridge} {
		ts, err := readTable(c, nsFd, f)
		if err != nil {
			return nil, fmt.Errorf("read table %s %s: %w", f, TableName, nft.Err(err))
		}
		if ts != nil {
			st.tables[f] = ts
		}
	}
	return st, nil
}

// readTable reads one of our tables; nil if it does not exist.
func readTable(c *nftables.Conn, nsFd int, f family) (*tableState, error) {
	tables, err := c.ListTablesOfFamily(nfFamily(f))
	if err != nil {
		return nil, err
	}
	found := false
	for _, t := range tables {
		found = found || t.Name == TableName
	}
	if !found {
		return nil, nil
	}
	ts := &tableState{chains: map[string]*chainState{}, sets: map[string]*setState{}}
	chains, err := c.ListChainsOfTableFamily(nfFamily(f))
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if ch.Table != nil && ch.Table.Name == TableName {
			ts.chains[ch.Name] = &chainState{hook: raiseHook(ch)}
		}
	}
	hashes, err := dumpRuleHashes(nsFd, f, TableName)
	if err != nil {
		return nil, err
	}
	for name, hs := range hashes {
		if cs := ts.chains[name]; cs != nil {
			cs.hashes = hs
		}
	}
	sets, err := c.GetSets(nfTable(f))
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		kes, err := c.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", s.Name, err)
		}
		es, err := raiseElems(s, kes)
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", s.Name, err)
		}
		ss := &setState{spec: kernelSpec(s), elems: make(map[string]elem, len(es))}
		for _, e := range es {
			ss.elems[e.id()] = e
		}
		ts.sets[s.Name] = ss
	}
	return ts, nil
}
