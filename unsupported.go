package neutrino

import (
	"encoding/json"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// unrealizedCollection is a top-level collection of Neutron resources that
// Neutrino does not realize yet.
type unrealizedCollection struct {
	name, kind string
	items      []json.RawMessage
	why        string
}

// collectionRefusals are the document's collections that Validate refuses
// with ErrUnsupported when they are not empty, one error per element. The
// fields and values refused inside realized objects are in each model
// package's unsupported.go. Realizing a collection means modelling it and
// deleting its entry here (and listing it as supported in the README).
func (t *Topology) collectionRefusals() []unrealizedCollection {
	return []unrealizedCollection{
		{"port_forwardings", "port forwarding", t.PortForwardings, "floating IP port forwardings are realized when written under their floating IP (floatingips[].port_forwardings, as Neutron's API nests them); the top-level collection is not read"},
	}
}

// unrealized refuses every element of a non-empty unrealized collection.
func (v *validator) unrealized() {
	for _, c := range v.t.collectionRefusals() {
		for i, raw := range c.items {
			var head struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &head) // a non-object element is refused all the same
			v.report(obj{c.name, i, c.kind, head.ID}, errdefs.Unsupported("", "not realized by Neutrino: %s", c.why))
		}
	}
}
