// Package etcd keeps a deployment's desired state in etcd, one key per
// Neutron object, and watches it: the source every node agent of a cloud
// can share, as Calico, flannel and Cilium's kvstore mode do.
//
// Layout: the value of <prefix>/v1/<collection>/<id> is the object's
// Neutron JSON ("/neutrino/v1/ports/6f1c…" holds a port); hosts are keyed
// by name. Nothing else lives under <prefix>/v1/; the writer's guard key is
// <prefix>/writer.
//
// Source reads a consistent snapshot (a Get of the whole prefix at revision
// R), then watches from R+1, so that no event is missed or applied twice;
// every watch response is applied whole (etcd delivers a transaction's
// events together), so a snapshot never shows half a transaction. When the
// watch reports compaction, or cannot be resumed, it takes a fresh snapshot.
// While etcd is unreachable the last good snapshot stays the desired state,
// and Status reports the outage and since when; reconnects back off
// exponentially. An invalid object is rejected as an invalid file is: an
// Event whose error names the key and the field, and no snapshot until the
// state is valid again.
//
// Writer validates a whole topology, or a change to what it reads, and
// writes the difference in one transaction guarded by the revision it read:
// a concurrent writer makes the transaction fail and the writer retry,
// never half a change. A large topology in one transaction needs the
// server's --max-txn-ops raised (its default is 128 operations).
//
// Client compatibility: built with go.etcd.io/etcd/client/v3 v3.6 and
// tested against Debian's etcd-server 3.4 (the v3 API is stable across
// these; nothing newer than 3.4's API is used).
package etcd
