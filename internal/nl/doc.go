// Package nl holds Neutrino's netlink conventions, shared by every realizer:
// a bounded retry for dumps the kernel interrupted, the mapping of kernel
// errnos to Neutrino's sentinels, the rtm_protocol that marks our routes, and
// the interface alias that marks our devices.
//
// Ownership rule: a device is Neutrino's only if its alias says so
// (naming.OwnerAlias). A device that merely carries one of our names belongs
// to someone else and is reported as a conflict, never deleted; a route is
// ours only if its protocol is RouteProtocol.
package nl
