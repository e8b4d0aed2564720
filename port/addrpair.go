package port

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// UnmarshalJSON accepts both forms Neutron allows for ip_address: a single
// address ("10.0.0.5", stored as a /32 or /128) or a CIDR ("10.0.0.0/24").
func (p *AddressPair) UnmarshalJSON(b []byte) error {
	var aux struct {
		IPAddress  string `json:"ip_address"`
		MACAddress MAC    `json:"mac_address"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	pfx, err := ParseAddrOrPrefix(aux.IPAddress)
	if err != nil {
		return fmt.Errorf("ip_address: %w", err)
	}
	p.IPAddress, p.MACAddress = pfx, aux.MACAddress
	return nil
}

// MarshalJSON writes a host prefix as a bare address, as Neutron does.
func (p AddressPair) MarshalJSON() ([]byte, error) {
	aux := struct {
		IPAddress  string `json:"ip_address"`
		MACAddress MAC    `json:"mac_address,omitempty"`
	}{IPAddress: p.IPAddress.String(), MACAddress: p.MACAddress}
	if p.IPAddress.IsValid() && p.IPAddress.IsSingleIP() {
		aux.IPAddress = p.IPAddress.Addr().String()
	}
	return json.Marshal(aux)
}

// ParseAddrOrPrefix parses "10.0.0.5" as 10.0.0.5/32 and "10.0.0.0/24" as is.
func ParseAddrOrPrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}
