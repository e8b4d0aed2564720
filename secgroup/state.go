package secgroup

import (
	"encoding/binary"
	"regexp"
	"strconv"
)

// state is what the kernel holds in the two tables, as far as diffing
// needs it: for each chain its hook and the content hashes its rules carry,
// for each set its spec and elements. It is read back from the kernel
// (observe) or, after a commit, taken from the compiled ruleset.
type state struct {
	// gen is the nftables ruleset generation the state was valid at.
	gen    uint32
	tables map[family]*tableState
}

type tableState struct {
	chains map[string]*chainState
	sets   map[string]*setState
}

type chainState struct {
	hook   *hook
	hashes []uint64 // 0 for a rule without our hash
}

type setState struct {
	spec  string
	elems map[string]elem // by id
}

func newState() *state { return &state{tables: map[family]*tableState{}} }

// stateOf is the state the kernel holds once rs is committed.
func stateOf(rs *ruleset) *state {
	st := newState()
	for _, t := range rs.tables() {
		if t == nil {
			continue
		}
		ts := &tableState{chains: map[string]*chainState{}, sets: map[string]*setState{}}
		for _, c := range t.chains {
			ts.chains[c.name] = &chainState{hook: c.hook, hashes: c.hashes()}
		}
		for _, s := range t.sets {
			ss := &setState{spec: s.spec(), elems: make(map[string]elem, len(s.elems))}
			for _, e := range s.elems {
				ss.elems[e.id()] = e
			}
			ts.sets[s.name] = ss
		}
		st.tables[t.family] = ts
	}
	return st
}

// zoneComment labels a zones element with the network and its zone, read
// back the same way.
func zoneComment(networkID string, z uint16) string {
	return "network " + networkID + " zone " + strconv.Itoa(int(z))
}

var zoneRE = regexp.MustCompile(` zone ([0-9]+)$`)

// numbers reads the port numbers and conntrack zones in use.
func (st *state) numbers(cfg *config) numbers {
	nums := numbers{ports: map[string]uint32{}, zones: map[string]uint16{}}
	if st == nil {
		return nums
	}
	if b := st.tables[familyBridge]; b != nil {
		if s := b.sets[mapPortMarks]; s != nil {
			for _, e := range s.elems {
				if len(e.data) != 4 {
					continue
				}
				if v := binary.BigEndian.Uint32(e.data); v&^cfg.mask == 0 {
					nums.ports[ifnameString(e.key)] = v >> cfg.shift
				}
			}
		}
	}
	if in := st.tables[familyInet]; in != nil {
		if s := in.sets[setZones]; s != nil {
			for _, e := range s.elems {
				if m := zoneRE.FindStringSubmatch(e.comment); m != nil {
					if z, err := strconv.ParseUint(m[1], 10, 16); err == nil {
						nums.zones[ifnameString(e.key)] = uint16(z)
					}
				}
			}
		}
	}
	return nums
}
