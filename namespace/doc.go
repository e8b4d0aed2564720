// Package namespace is the only code in Neutrino that switches network
// namespaces. Everything else asks it for per-namespace handles.
//
// # Threads and namespaces
//
// On Linux a network namespace belongs to an OS thread, not to a process or a
// goroutine. The Go scheduler moves goroutines between threads at will, so a
// goroutine that calls setns(2) without pinning itself can wake up on another
// thread in the wrong namespace, and leave the thread it switched in a
// namespace some unrelated goroutine will later run in. Do is the one place
// that switches: it locks the goroutine to its thread, remembers the thread's
// namespace, switches, runs the function, switches back, and unlocks the
// thread only if the switch back succeeded. If it did not, the thread stays
// locked and Go destroys it when the goroutine exits, so no goroutine ever
// runs on a thread left in a foreign namespace. Goroutines started inside Do
// do NOT run in the namespace.
//
// Most work needs no switching at all. A Handle carries a netlink handle whose
// sockets were opened inside the namespace (netlink sockets stay in the
// namespace they were created in) and a long-lived nftables connection bound
// to the namespace by file descriptor, with socket buffers sized for large
// batches. Only what has no namespace option must be created inside Do: raw
// AF_PACKET sockets (ARP), UDP sockets bound to an interface (DHCP),
// net.InterfaceByName, and writes under /proc/sys/net (see Sysctl).
//
// # Named namespaces and ownership
//
// A Manager creates, opens, lists and deletes named namespaces under
// /run/netns, the way iproute2 does (so `ip netns exec` works on them), and
// only ever those whose name starts with its node prefix: several simulated
// nodes can share one machine, and namespaces of other software are never
// listed or deleted. Deleting an absent namespace is not an error. The kernel
// tears a deleted namespace down in the background, after its last reference
// (a bind mount, a process, an open file descriptor) is gone.
package namespace
