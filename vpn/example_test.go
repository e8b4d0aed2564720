package vpn_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/vpn"
)

// An IPsec policy asking for AH is refused by name, with the path of the
// field, before anything is realized.
func ExampleDesired_Validate() {
	var d vpn.Desired
	_ = json.Unmarshal([]byte(`{"ipsecpolicies": [{"id": "p1", "transform_protocol": "ah", "auth_algorithm": "aes-cmac"}]}`), &d)
	err := d.Validate()
	fmt.Println(errors.Is(err, neutrino.ErrUnsupported))
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fmt.Println(e)
	}
	// Output:
	// true
	// ipsecpolicies[0].auth_algorithm: aes-cmac is not realized by Neutrino: needs strongSwan's cmac plugin, which is not in the plugin set the realizer loads (Debian's standard plugins)
	// ipsecpolicies[0].transform_protocol: ah is not realized by Neutrino: the user-space ESP path (kernel-libipsec) has no AH, and Neutron's reference driver refuses ah-esp
}
