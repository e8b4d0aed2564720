// Package etcdstore is an ipam.Store in etcd, so that several orchestrator
// replicas allocating from one pool never hand out the same address.
//
// Each reservation is one key, <prefix>/ipam/v1/<subnet-id>/<address>,
// whose value is the owner. Reserve creates the key in a transaction that
// succeeds only if the key does not exist (compare-and-swap on its create
// revision): of two allocators racing for an address one wins, and the
// loser's ipam.Allocator learns from the store what else was taken.
// Release deletes keys in transactions of at most 100 operations (etcd's
// default limit is 128 per transaction).
//
// The keys live outside the desired-state prefix (<prefix>/v1/) that node
// agents watch, so allocations cause them no work.
package etcdstore
