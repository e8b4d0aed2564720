package secgroup

import (
	"fmt"
	"sync/atomic"

	"github.com/neutrino-net/neutrino/internal/nflog"
)

// flowReader reads the host namespace's NFLOG group while some log covers
// a port of the node, and maps each packet to a record through the plan
// the last Apply committed.
type flowReader struct {
	reader *nflog.Reader
	cur    atomic.Pointer[flowView]
}

// flowView is what a packet is looked up in: the logging plan and the
// port numbers of one compilation.
type flowView struct {
	logs  *logPlan
	ports map[uint32]*portInfo
}

// logTo makes the reader follow rs: started when rs logs, stopped when it
// does not.
func (r *Realizer) logTo(rs *ruleset) error {
	if rs.logs == nil {
		r.flows.cur.Store(nil)
		return r.flows.close()
	}
	r.flows.cur.Store(&flowView{logs: rs.logs, ports: rs.ports})
	if r.flows.reader != nil {
		return nil
	}
	rd, err := nflog.Listen(r.host.Fd(), r.cfg.group, r.cfg.log, r.packet)
	if err != nil {
		return fmt.Errorf("security group flow log reader: %w", err)
	}
	r.flows.reader = rd
	return nil
}

func (r *Realizer) packet(p nflog.Packet) {
	v := r.flows.cur.Load()
	if v == nil {
		r.counts.Unknown()
		return
	}
	rec, ok := v.logs.record(v.ports, r.cfg, p.Prefix, p.Mark, p.Payload, p.Time)
	if !ok {
		r.counts.Unknown()
		return
	}
	r.cfg.emit(&r.counts, rec)
}

func (f *flowReader) close() error {
	if f.reader == nil {
		return nil
	}
	err := f.reader.Close()
	f.reader = nil
	return err
}
