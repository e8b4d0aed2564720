package loadbalancer

import "github.com/neutrino-net/neutrino/internal/report"

// Provisioning and operating statuses (Octavia's).
const (
	Active    = "ACTIVE"
	StatusErr = "ERROR"
	Online    = "ONLINE"
	Offline   = "OFFLINE"
	NoMonitor = "NO_MONITOR"
	Degraded  = "DEGRADED"
)

// Report is the Report every realizer returns (mutations counted per kind:
// "namespace", "link", "addr", "route", "sysctl", "nft-table", "nft-set",
// "nft-chain", "nft-rule", "nft-element"), plus what only a load balancer
// has: the statuses Octavia shows. A second Apply of the same desired state
// reports zero mutations; the statuses are there every time.
type Report struct {
	report.Report
	// LoadBalancers maps each load balancer's ID to its statuses.
	LoadBalancers map[string]Status `json:"loadbalancers,omitempty"`
}

// Status is a load balancer's provisioning_status and operating_status,
// and the operating_status of each of its members by ID.
type Status struct {
	ProvisioningStatus string            `json:"provisioning_status"`
	OperatingStatus    string            `json:"operating_status"`
	Members            map[string]string `json:"members,omitempty"`
}

func newReport() *Report { return &Report{LoadBalancers: map[string]Status{}} }

// status rolls up a load balancer's statuses as Octavia's health manager
// does: a member in ERROR makes the load balancer DEGRADED; a disabled load
// balancer is OFFLINE.
func status(s *spec, failed bool, member func(id string) (string, bool)) Status {
	st := Status{ProvisioningStatus: Active, OperatingStatus: Online, Members: map[string]string{}}
	if failed {
		st.ProvisioningStatus, st.OperatingStatus = StatusErr, StatusErr
	}
	for _, m := range s.Members {
		switch {
		case !m.Up():
			st.Members[m.ID] = Offline
		case !s.monitored[m.ID]:
			st.Members[m.ID] = NoMonitor
		default:
			ms, known := member(m.ID)
			if !known {
				ms = Offline
			}
			st.Members[m.ID] = ms
			if ms == StatusErr && !failed {
				st.OperatingStatus = Degraded
			}
		}
	}
	if !s.up {
		st.OperatingStatus = Offline
	}
	return st
}
