package neutrino

import (
	"encoding/json"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

type (
	portT     = port.Port
	networkT  = network.Network
	subnetT   = subnet.Subnet
	secgroupT = secgroup.SecurityGroup
)

// names lists the names of objects with a Name field.
func names[T interface{ *port.Port | *network.Network }](objs []T) []string {
	var out []string
	for _, o := range objs {
		switch v := any(o).(type) {
		case *port.Port:
			out = append(out, v.Name)
		case *network.Network:
			out = append(out, v.Name)
		}
	}
	return out
}
