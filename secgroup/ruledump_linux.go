package secgroup

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// dumpRuleHashes reads every rule of one of our tables in a single netlink
// dump (nft.DumpRules) and returns, per chain and in order, the content
// hashes the rules carry.
func dumpRuleHashes(nsFd int, f family, tableName string) (map[string][]uint64, error) {
	rules, err := nft.DumpRules(nsFd, nfFamily(f), tableName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	out := make(map[string][]uint64, len(rules))
	for chain, rs := range rules {
		hashes := make([]uint64, len(rs))
		for i, r := range rs {
			hashes[i] = ruleHash(r.UserData)
		}
		out[chain] = hashes
	}
	return out, nil
}
