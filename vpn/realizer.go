package vpn

import (
	"sync"

	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// Report says what an Apply changed, or what a Plan would change, counted
// per kind ("charon" daemons, "ipsec-connection"), and the status of every
// connection the node realizes. A second Apply of the same desired state
// reports zero mutations.
type Report struct {
	report.Report
	// Status maps each site connection ID to its state at the end of the
	// pass, as charon's events told.
	Status map[string]ConnStatus
}

// Realizer runs one strongSwan charon per router namespace that has a
// site connection and keeps its connections and shared keys equal to a
// Desired through vici. One Apply or Plan runs at a time.
type Realizer struct {
	cfg *config
	mgr *namespace.Manager

	mu sync.Mutex
	// swept is set once the realizer has adopted (or removed) what an
	// earlier run left in its run directory.
	swept   bool
	daemons map[string]*daemon // router ID -> its charon
}
