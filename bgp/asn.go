package bgp

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// ASN is an autonomous system number. In JSON it is a number or a string
// of decimal digits: neutron-dynamic-routing returns remote_as as a string
// in some responses (the BGP peer create response) and as a number in
// others. It is written back as a number.
type ASN uint32

// UnmarshalJSON accepts 64512 and "64512"; anything else, including a
// number outside 0..4294967295, is an error wrapping ErrInvalid.
func (a *ASN) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return errdefs.Invalid("", "%s is not an AS number", b)
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return errdefs.Invalid("", "%s is not an AS number 0..4294967295 (a number or a string of digits)", b)
	}
	*a = ASN(n)
	return nil
}
