//go:build linux

package main

// childMode is Neutrino's side of the bench: the bench re-executes itself
// so that the agent's memory (peak RSS) is measured alone, without the
// bench's own state dumps and documents. The child opens the node's
// namespace by path and takes requests as JSON lines on stdin, answering
// each with one JSON line on stdout.
const childMode = "__neutrino"

// mappings are the node's physical_interface_mappings.
var mappings = map[string]string{physnet: extIface, physnet2: fipIface}

type request struct {
	// Op is load, apply, destroy, steps, realizer, rss, quiesce,
	// profile-start, profile-stop or quit.
	Op    string `json:"op"`
	Name  string `json:"name,omitempty"`  // a loaded document; steps: "" destroys
	File  string `json:"file,omitempty"`  // load, profile-start
	Which string `json:"which,omitempty"` // realizer: comma-separated realizer names
}

type response struct {
	Millis    float64  `json:"ms"`
	CPUMillis float64  `json:"cpu_ms"` // user+system time of the process during the op
	Mutations int      `json:"mutations"`
	Report    string   `json:"report,omitempty"`
	Error     string   `json:"error,omitempty"`
	HWM       int64    `json:"hwm_kb,omitempty"`
	RSS       int64    `json:"rss_kb,omitempty"`
	FDs       int      `json:"fds,omitempty"` // open file descriptors after the op
	Steps     []timing `json:"steps,omitempty"`
}

// timing is one realizer's part of a steps or realizer op.
type timing struct {
	Realizer  string         `json:"realizer"`
	Millis    float64        `json:"ms"`
	CPUMillis float64        `json:"cpu_ms"`
	Mutations int            `json:"mutations"`
	Kinds     map[string]int `json:"kinds,omitempty"` // "created element" -> n
	FDs       int            `json:"fds,omitempty"`   // open file descriptors after the step
}
