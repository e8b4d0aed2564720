package network

import "github.com/neutrino-net/neutrino/internal/report"

// Report says what an Apply changed, or what a Plan would change, counted per
// kind of kernel object: "bridge", "vxlan", "vlan", "physical" (a mapped
// interface we enslave but do not own), "fdb", "neigh" and "unfinished" (a
// creation a crash interrupted, deleted) for the network realizer; "port",
// "address" and "route" for the port realizer. Lines read like
// "create bridge brq6a7c1e0f-2b" or "update vxlan vxlan-101: mtu 1500 -> 1450".
// A second Apply of the same desired state reports zero mutations. Every
// realizer returns this same type.
type Report = report.Report

// The verbs of a change, as a Report names them (Created, Updated,
// Deleted).
const (
	Create = report.Create
	Update = report.Update
	Delete = report.Delete
)
