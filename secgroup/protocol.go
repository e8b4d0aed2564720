package secgroup

import (
	"encoding/json"
	"strconv"
)

// Protocol is a rule's protocol as Neutron accepts it: a name or a number,
// in JSON as a string or a number.
type Protocol string

// UnmarshalJSON accepts "tcp", "6", 6 and null.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = ""
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = Protocol(strconv.Itoa(n))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = Protocol(s)
	return nil
}
