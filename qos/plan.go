package qos

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/neutrino-net/neutrino/internal/converge"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/report"
)

// qdiscHandle is the major number of our root tbf qdiscs ("NQ"): a root
// qdisc with another handle is not ours.
const qdiscHandle = 0x4e51

// latencyUsec is the tbf latency, as the Linux bridge agent sets it.
const latencyUsec = 50_000

// tbfWant is a tbf qdisc as desired.
type tbfWant struct {
	Rate  uint64 // bytes per second
	Burst uint32 // bytes
	Limit uint32 // bytes queued at most: rate × latency + burst
}

func shapeOf(r *BandwidthLimitRule) tbfWant {
	rate, burst := bytesPerSecond(r.MaxKbps), r.burstBytes()
	return tbfWant{Rate: rate, Burst: burst, Limit: uint32(rate*latencyUsec/1_000_000) + burst}
}

// rootQdisc is a device's root qdisc as read back.
type rootQdisc struct {
	Kind   string
	Major  uint16 // of its handle
	Rate   uint64
	Burst  uint32 // converted back from the kernel's buffer ticks
	Limit  uint32
	Absent bool // the default (noqueue or none)
}

// observed is the node's QoS state.
type observed struct {
	// links are the host devices by name: those desired and every tap with
	// a root qdisc of ours.
	links  map[string]int
	qdiscs map[string]rootQdisc
	table  bool
	rules  map[string]uint64 // rule comment -> handle
}

// Kinds of operation the executor runs.
type (
	op       interface{ isOp() }
	opSetTbf struct {
		dev string
		tbf tbfWant
	}
	opDelTbf  struct{ dev string }
	opTable   struct{ del bool }
	opAddRule struct{ r rule }
	opDelRule struct {
		comment string
		handle  uint64
	}
)

func (opSetTbf) isOp()  {}
func (opDelTbf) isOp()  {}
func (opTable) isOp()   {}
func (opAddRule) isOp() {}
func (opDelRule) isOp() {}

type change = converge.Change[op]

// ruleKind is what a rule of the table does.
type ruleKind int

const (
	rulePolice ruleKind = iota
	ruleDSCP4
	ruleDSCP6
)

// rule is a rule of the table; its comment spells every parameter.
type rule struct {
	Kind  ruleKind
	Dev   string
	Rate  uint64
	Burst uint32
	DSCP  int
}

func (r rule) comment() string {
	switch r.Kind {
	case rulePolice:
		return fmt.Sprintf("police %s %d B/s burst %d B", r.Dev, r.Rate, r.Burst)
	case ruleDSCP4:
		return fmt.Sprintf("dscp %s ip %d", r.Dev, r.DSCP)
	default:
		return fmt.Sprintf("dscp %s ip6 %d", r.Dev, r.DSCP)
	}
}

// rules are the table rules of the desired ports.
func (w *want) rules() map[string]rule {
	out := map[string]rule{}
	for _, p := range w.ports {
		if p.Police != nil {
			r := rule{Kind: rulePolice, Dev: p.Tap, Rate: bytesPerSecond(p.Police.MaxKbps), Burst: p.Police.burstBytes()}
			out[r.comment()] = r
		}
		if p.DSCP >= 0 {
			for _, k := range []ruleKind{ruleDSCP4, ruleDSCP6} {
				r := rule{Kind: k, Dev: p.Tap, DSCP: p.DSCP}
				out[r.comment()] = r
			}
		}
	}
	return out
}

// tbfClose reports whether a qdisc read back is the one desired. The burst
// goes through the kernel's tick conversion: a few bytes off is the same.
func tbfClose(q rootQdisc, t tbfWant) bool {
	d := int64(q.Burst) - int64(t.Burst)
	return q.Kind == "tbf" && q.Major == qdiscHandle && q.Rate == t.Rate && q.Limit == t.Limit && d > -64 && d < 64
}

// plan computes the changes from o to w: root qdiscs per device, then the
// table's rules (deleted before added, so a changed rate never has two
// policers). A desired port whose device is missing is reported, unless
// dry (Plan), where the port realizer is taken to make it first.
func plan(w *want, o *observed, dry bool) ([]change, error) {
	var (
		cs   []change
		errs []error
	)
	for _, dev := range slices.Sorted(maps.Keys(w.ports)) {
		p := w.ports[dev]
		q, has := o.qdiscs[dev]
		if _, ok := o.links[dev]; !ok && !dry {
			errs = append(errs, errdefs.NotFound("ports", "port %s: device %s does not exist (plug the port first)", p.PortID, dev))
			continue
		}
		ours := has && !q.Absent && q.Major == qdiscHandle
		switch {
		case p.Shape == nil:
			if ours {
				cs = append(cs, change{Verb: report.Delete, Kind: "qdisc", What: "tbf on " + dev, Group: p.PortID, Ops: []op{opDelTbf{dev}}})
			}
		case has && !q.Absent && !ours:
			errs = append(errs, errdefs.Conflict("ports", "port %s: device %s has a root %s qdisc that is not ours; left alone", p.PortID, dev, q.Kind))
		case ours && tbfClose(q, shapeOf(p.Shape)):
		default:
			verb := report.Create
			if ours {
				verb = report.Update
			}
			t := shapeOf(p.Shape)
			cs = append(cs, change{Verb: verb, Kind: "qdisc", What: fmt.Sprintf("tbf on %s rate %d B/s burst %d B", dev, t.Rate, t.Burst),
				Group: p.PortID, Ops: []op{opSetTbf{dev, t}}})
		}
	}
	for _, dev := range slices.Sorted(maps.Keys(o.qdiscs)) {
		if q := o.qdiscs[dev]; w.ports[dev] == nil && !q.Absent && q.Major == qdiscHandle {
			cs = append(cs, change{Verb: report.Delete, Kind: "qdisc", What: "tbf on " + dev, Ops: []op{opDelTbf{dev}}})
		}
	}
	rules := w.rules()
	switch {
	case len(rules) == 0 && o.table:
		cs = append(cs, change{Verb: report.Delete, Kind: "table", What: "bridge " + tableName, Ops: []op{opTable{del: true}}})
		return cs, errors.Join(errs...)
	case len(rules) == 0:
		return cs, errors.Join(errs...)
	case !o.table:
		cs = append(cs, change{Verb: report.Create, Kind: "table", What: "bridge " + tableName, Ops: []op{opTable{}}})
	}
	for _, c := range slices.Sorted(maps.Keys(o.rules)) {
		if _, ok := rules[c]; !ok {
			cs = append(cs, change{Verb: report.Delete, Kind: "rule", What: c, Ops: []op{opDelRule{c, o.rules[c]}}})
		}
	}
	for _, c := range slices.Sorted(maps.Keys(rules)) {
		if _, ok := o.rules[c]; !ok {
			cs = append(cs, change{Verb: report.Create, Kind: "rule", What: c, Ops: []op{opAddRule{rules[c]}}})
		}
	}
	return cs, errors.Join(errs...)
}

// tableName is the bridge-family table of the node's QoS rules.
const tableName = "neutrino-qos"
