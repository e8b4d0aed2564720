package vpn

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/strongswan/govici/vici"
)

// viciConn is the load-conn message of c: one IKE connection named after
// the site connection, with one child of the same name. encap forces ESP
// in UDP, which kernel-libipsec needs.
func viciConn(c *connSpec, encap bool) (*vici.Message, error) {
	child := map[string]any{
		"local_ts":      prefixes(c.LocalTS),
		"remote_ts":     prefixes(c.RemoteTS),
		"esp_proposals": []string{c.ESPProposal},
		"rekey_time":    fmt.Sprintf("%ds", c.ChildRekey),
		"mode":          "tunnel",
		"dpd_action":    c.DPDAction,
		// Neutron's bi-directional initiates, response-only waits for
		// the peer; a trap (Neutron's auto=route) needs kernel acquires
		// that the user-space path does not give.
		"start_action": map[bool]string{true: "start", false: "none"}[c.Initiate],
		"close_action": map[bool]string{true: "start", false: "none"}[c.Initiate],
	}
	conn := map[string]any{
		"version":      c.Version,
		"local_addrs":  []string{c.LocalAddr.String()},
		"remote_addrs": []string{c.RemoteAddr},
		"proposals":    []string{c.IKEProposal},
		"aggressive":   yesNo(c.Aggressive),
		"encap":        yesNo(encap),
		"mobike":       "no",
		// keyingtries 0 retries for ever, so a bi-directional connection
		// comes up whenever the peer does, as Neutron's auto=route does.
		"keyingtries": "0",
		"rekey_time":  fmt.Sprintf("%ds", c.IKERekey),
		"local":       map[string]any{"auth": "psk", "id": c.LocalID},
		"remote":      map[string]any{"auth": "psk", "id": c.RemoteID},
		"children":    map[string]any{c.ID: child},
	}
	if c.DPDDelay > 0 {
		conn["dpd_delay"] = fmt.Sprintf("%ds", c.DPDDelay)
		if c.Version == "1" {
			conn["dpd_timeout"] = fmt.Sprintf("%ds", c.DPDTimeout)
		}
	}
	return vici.MarshalMessage(map[string]any{c.ID: conn})
}

// viciShared is the load-shared message of c's pre-shared key, named by
// the connection ID so that it can be replaced and unloaded on its own.
func viciShared(c *connSpec) (*vici.Message, error) {
	return vici.MarshalMessage(map[string]any{"id": c.ID, "type": "IKE", "data": string(c.PSK),
		"owners": []string{c.LocalID, c.RemoteID}})
}

// fingerprint identifies what a connection loads, key included (hashed: the
// realizer keeps no key in memory beyond the desired state's own).
func (c *connSpec) fingerprint(encap bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%v|%s|%s|%s|%s|%v|%v|%s|%s|%d|%d|%s|%d|%d|%v|%v|", c.Version, c.Aggressive, c.LocalAddr, c.RemoteAddr,
		c.LocalID, c.RemoteID, c.LocalTS, c.RemoteTS, c.IKEProposal, c.ESPProposal, c.IKERekey, c.ChildRekey,
		c.DPDAction, c.DPDDelay, c.DPDTimeout, c.Initiate, encap)
	h.Write([]byte(c.PSK))
	return hex.EncodeToString(h.Sum(nil))
}

func prefixes(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Connection states in a Report, Neutron's.
const (
	StatusActive = "ACTIVE"
	StatusDown   = "DOWN"
)

// ConnStatus is the state of one site connection.
type ConnStatus struct {
	Status string // StatusActive or StatusDown
	// Reason says why a connection is down, from charon's log, when it
	// said: "AUTHENTICATION_FAILED", say.
	Reason string
}

// childEvent applies a child-updown or child-rekey event to installed
// (connection -> unique IDs of its installed CHILD_SAs): an "up"
// child-updown adds the CHILD_SAs it lists, a down one removes them; a
// child-rekey lists the "old" SA, removed, and the "new" one, added.
func childEvent(installed map[string]map[string]bool, event string, m *vici.Message) {
	up := m.Get("up") == "yes"
	for _, ikeName := range m.Keys() {
		ike, ok := m.Get(ikeName).(*vici.Message)
		if !ok {
			continue
		}
		children, _ := ike.Get("child-sas").(*vici.Message)
		if children == nil {
			continue
		}
		for _, k := range children.Keys() {
			ch, ok := children.Get(k).(*vici.Message)
			if !ok {
				continue
			}
			name, _ := ch.Get("name").(string)
			id, _ := ch.Get("uniqueid").(string)
			if name == "" {
				continue
			}
			add := up
			if event == "child-rekey" {
				add = k == "new"
			}
			if add {
				if installed[name] == nil {
					installed[name] = map[string]bool{}
				}
				installed[name][id] = true
			} else {
				delete(installed[name], id)
			}
		}
	}
}

// failure extracts a reason from one of charon's log lines about an IKE
// SA, or "" when the line says nothing about a failure.
func failure(msg string) string {
	for _, k := range []string{"AUTHENTICATION_FAILED", "NO_PROPOSAL_CHOSEN", "TS_UNACCEPTABLE", "INVALID_KE_PAYLOAD"} {
		if strings.Contains(msg, k) {
			return k
		}
	}
	if strings.Contains(msg, "MAC mismatched") {
		return "AUTHENTICATION_FAILED (pre-shared key mismatch)"
	}
	for _, k := range []string{"giving up after", "no shared key found", "no matching peer config found", "no proposal chosen"} {
		if strings.Contains(msg, k) {
			return msg
		}
	}
	return ""
}
