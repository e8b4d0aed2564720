package dhcp

import "github.com/neutrino-net/neutrino/internal/naming"

// NamespacePrefix begins the name of every DHCP namespace, after the node
// prefix (WithPrefix): <prefix>qdhcp-<network-id>.
const NamespacePrefix = naming.NSDHCP

// Namespace is the name of network id's DHCP namespace, without the node
// prefix.
func Namespace(networkID string) string { return naming.DHCPNamespace(networkID) }

// Interface is the name of the DHCP port's device inside its namespace.
func Interface(portID string) string { return naming.DHCPInterface(portID) }
