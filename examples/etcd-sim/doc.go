// Command etcd-sim simulates many node agents watching one etcd: each
// simulated node holds its own etcd client and watch (source/etcd) and keeps
// its host's slice current (source.Slicer), with no kernel work. It writes
// a generated topology (hosts × ports, tenant networks spanning a few hosts)
// in one transaction, waits until every node has its first slice, then
// makes single-object changes and measures, for each, the time from the
// write to each concerned node's slice being updated.
//
//	etcd-sim                          # 100 nodes × 10 ports: well under a minute
//	etcd-sim -nodes 1000              # the 1,000 nodes, 10,000 ports
//	etcd-sim -etcd-endpoints URL      # against a running etcd (raise its --max-txn-ops)
//
// Without -etcd-endpoints it starts Debian's etcd binary itself on loopback
// (a temporary data directory, free ports) and stops it by PID at the end.
//
// What one process cannot honestly share, it does not: every node has its
// own client and watch and applies every event itself. What it shares with
// -shared (the default) is what would be the same work on every node: the
// decoding of one object version (source.Cache) and the validation of one
// revision (source.Verdicts). A real node pays that validation itself on
// its own CPU; the report prints its cost, measured, so that it can be
// added to the latencies.
//
// At the end every node's slice is compared with the slice computed from
// the full document read back from etcd.
package main
