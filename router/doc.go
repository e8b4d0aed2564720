// Package router models Neutron routers and floating IPs and realizes them on
// a node: one namespace per router with qr-/qg- interfaces, routes, SNAT,
// 1:1 floating-IP NAT through nftables maps, gratuitous ARP and conntrack
// cleanup.
package router
