package subnet

import (
	"net/netip"
	"reflect"
)

var jsonAddrType = reflect.TypeOf(netip.Addr{})
