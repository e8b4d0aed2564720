package port

import "testing"

func TestServesDHCPOn(t *testing.T) {
	dhcpPort := Port{DeviceOwner: OwnerDHCP, HostID: "node1"}
	vm := Port{DeviceOwner: "compute:nova", HostID: "node1"}
	switch {
	case !dhcpPort.ServesDHCPOn("node1"), dhcpPort.ServesDHCPOn("node2"):
		t.Error("a DHCP port serves on the host it is bound to, and only there")
	case !dhcpPort.ServesDHCPOn(""):
		t.Error("no host given: every DHCP port")
	case vm.ServesDHCPOn("node1"):
		t.Error("an instance port serves no DHCP")
	}
}
