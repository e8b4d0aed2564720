// Package subnet models Neutron subnets: a CIDR on a network with its gateway,
// allocation pools, DNS servers, host routes, DHCP switch and IPv6 modes.
//
// The package is pure Go and realizes nothing: routers, ports and the DHCP
// server read subnets. Neutron's defaults (gateway, allocation pools) are
// applied by the explicit function Defaults, never silently by a realizer.
package subnet
