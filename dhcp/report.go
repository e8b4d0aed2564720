package dhcp

import "github.com/neutrino-net/neutrino/internal/report"

// Report says what an Apply changed (or what a Plan would change), counted
// per kind: "namespace", "link" (the DHCP port's veth pair counts once;
// loopback brought up), "address", "route", "sysctl",
// "server" (a running DHCP server), "reservation" (one port's leases),
// "subnet" (the options of one served subnet), "unfinished" (a creation a
// crash interrupted, deleted). Lines read like "create namespace qdhcp-<id>".
// Every realizer returns this same type.
type Report = report.Report
