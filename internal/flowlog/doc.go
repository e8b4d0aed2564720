// Package flowlog holds what the realizers that log flows (Neutron's
// network logging API, for firewall groups and security groups) share: the
// `log` resource and its checks, the rate-limit defaults, the NFLOG prefix
// scheme, the 5-tuple read from a logged packet, the per-verdict counters
// and the attributes every flow record line carries. Each realizer keeps
// its own record type (the group field differs) and its own rules.
package flowlog
