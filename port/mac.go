package port

import (
	"fmt"
	"net"
)

// MAC is a hardware address that marshals to and from JSON text
// ("fa:16:3e:00:00:01"), which net.HardwareAddr does not.
type MAC net.HardwareAddr

// ParseMAC parses a 48-bit MAC address.
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return nil, err
	}
	if len(hw) != 6 {
		return nil, fmt.Errorf("%q is not a 48-bit MAC address", s)
	}
	return MAC(hw), nil
}

// MustParseMAC is ParseMAC for constants in tests and examples.
func MustParseMAC(s string) MAC {
	m, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func (m MAC) String() string { return net.HardwareAddr(m).String() }

// HardwareAddr converts at a library boundary.
func (m MAC) HardwareAddr() net.HardwareAddr { return net.HardwareAddr(m) }

// MarshalText implements encoding.TextMarshaler.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is the empty MAC.
func (m *MAC) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = nil
		return nil
	}
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
