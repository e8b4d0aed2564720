// Package nft holds the nftables plumbing every firewall-writing realizer
// needs and gets wrong on its own: CIDR lists turned into the interval
// elements the kernel accepts, element batches sent in chunks whose stored
// count can be read back, rule comments that `nft list` shows, and errno to
// sentinel mapping.
//
// It owns no kernel objects: it builds elements and queues them on an
// *nftables.Conn the caller got from namespace.Handle.NFT(), so everything
// it sends lands in the namespace that connection belongs to.
//
// # Interval sets
//
// An interval set stores half-open ranges [start, end) as two elements, a
// start key and an end key flagged IntervalEnd. The kernel does not merge
// overlapping or adjacent ranges: it rejects overlaps with EEXIST. Intervals
// therefore merges a CIDR list first. A range that runs to the last address
// of the family (0.0.0.0/0, ::/0, 255.255.255.0/24) has no representable end:
// like the nft CLI, it is sent as a lone start element carrying the
// "interval open" userdata flag, and `nft list` shows it as 0.0.0.0/0. The
// nft CLI also sends a leading end element at address zero for kernels older
// than 5.6; the kernels Neutrino supports do not need it, so a set written
// here holds exactly len(IntervalElements(ivs)) elements.
//
// # Big batches
//
// A netlink attribute length is 16 bits, so an element list longer than
// 64 KiB used to wrap around and the kernel silently stored only part of it
// (10,000 sent, 1,808 stored). The library now splits by size too, but
// QueueElements sends at most ChunkSize elements per message regardless,
// never separating an interval's start from its end. The messages are queued
// on the connection and committed by one Flush, which the kernel applies as
// one transaction: a reader never sees half a set. Tests verify the stored
// count (VerifyCount).
//
// # Cost
//
// Measured on kernel 6.18: committing 20,000 interval elements takes ~30 ms,
// but any commit touching an interval set also costs time in proportion to
// the set's size (adding then deleting one /32 in a set of 10,000 intervals
// takes ~0.55 ms, ~20 µs in a hash set of 10,000 addresses). Gather the
// changes to a big interval set into one Flush; use a plain set where
// elements are single addresses (AddrElements).
//
// The kernel types (elements, connections) exist only on Linux; the interval
// arithmetic, comments and error mapping build everywhere.
package nft
