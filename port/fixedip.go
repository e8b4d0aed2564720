package port

import (
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

// CheckFixedIP is the one fixed-IP reference check: fixed IP f of port p,
// at path (e.g. "ports[3].fixed_ips[0]"), must name an existing subnet s
// (nil when no subnet has f.SubnetID) on the port's network, and lie in
// it. The error names the field and wraps ErrNotFound for a missing subnet,
// ErrInvalid otherwise.
func CheckFixedIP(path string, p *Port, f FixedIP, s *subnet.Subnet) error {
	switch {
	case s == nil:
		return errdefs.NotFound(path+".subnet_id", "subnet %s does not exist", f.SubnetID)
	case s.NetworkID != p.NetworkID:
		return errdefs.Invalid(path+".subnet_id", "subnet %s is on network %s, not on the port's network %s", s.ID, s.NetworkID, p.NetworkID)
	case !s.CIDR.Contains(f.IPAddress):
		return errdefs.Invalid(path+".ip_address", "%s is outside subnet %s (%s)", f.IPAddress, s.ID, s.CIDR)
	}
	return nil
}
