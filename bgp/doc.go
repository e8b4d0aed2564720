// Package bgp models Neutron BGP speakers and peers, computes the routes a
// speaker advertises (neutron-dynamic-routing semantics) and announces them
// through an embedded gobgp server.
package bgp
