// Package source is where a node agent gets its desired state from: a
// Source yields validated snapshots of the Topology, each with a revision,
// and for sources that know what changed (etcd) a Delta, so that a node can
// tell in constant time whether a change concerns it (Slicer) instead of
// re-slicing the whole document.
//
// Two sources exist: File (a JSON document on disk, polled) and, in
// source/etcd, one key per Neutron object in etcd. Both reject an invalid
// state the same way: the error names the object (file path and field, or
// etcd key and field), no snapshot is yielded, and the last good one stays
// realized.
//
// Objects (the Neutron collections of a Topology, one object at a time) are
// kept by Objects, which the etcd source and its writer share: it decodes
// one object, applies Neutron's defaults, assembles the document in key
// order and validates it, naming the object's key in every error.
//
// The package does no kernel work and runs in any namespace.
package source
