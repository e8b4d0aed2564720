package router

import "github.com/neutrino-net/neutrino/internal/naming"

// NamespacePrefix begins the name of every router namespace, after the node
// prefix (WithPrefix): <prefix>qrouter-<router-id>.
const NamespacePrefix = naming.NSRouter

// Namespace is the name of router id's namespace, without the node prefix.
func Namespace(id string) string { return naming.RouterNamespace(id) }
