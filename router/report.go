package router

import "github.com/neutrino-net/neutrino/internal/report"

// Report says what an Apply changed, or what a Plan would change, counted per
// kind of kernel object: "namespace", "link" (a veth pair counts once),
// "address", "route", "sysctl", "nft-table", "nft-chain" (its rules rewritten),
// "nft-element" (one element of one map), "conntrack" (flows of one
// address), "garp" (one address announced) and "unfinished" (a creation a
// crash interrupted, deleted). Lines read like "create link qr-1a2b3c4d5e6 in
// qrouter-…". A second Apply of the same desired state reports zero
// mutations. Every realizer returns this same type.
type Report = report.Report

// verb is the kind of a change.
type verb int

const (
	create verb = iota
	update
	remove
)

func (v verb) String() string {
	return [...]string{"create", "update", "delete"}[v]
}
