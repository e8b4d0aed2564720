package firewall

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// NFLOG (nfnetlink_log) message types and attributes, from
// linux/netfilter/nfnetlink_log.h (golang.org/x/sys/unix lacks them).
const (
	nfulnlMsgPacket = 0
	nfulnlMsgConfig = 1

	nfulaCfgCmd  = 1
	nfulaCfgMode = 2

	nfulnlCfgCmdBind = 1
	nfulnlCopyPacket = 2

	nfulaTimestamp = 3
	nfulaPayload   = 9
	nfulaPrefix    = 10

	// copyRange is how much of each packet the kernel copies: the IP
	// header and the transport ports, with room for IPv4 options.
	copyRange = 128
)

// listener reads one router namespace's NFLOG group and turns each packet
// into a FlowRecord, looking its prefix up in the table the last Apply
// compiled. It runs one goroutine; Close stops it.
type listener struct {
	router  string
	conn    *netlink.Conn
	cfg     *config
	counts  *flowCounters
	sources atomic.Pointer[map[string]*logSource]
	closed  atomic.Bool
	wg      sync.WaitGroup
}

// listen binds the NFLOG group in the namespace nsFd refers to. The socket
// keeps working from any goroutine once made.
func listen(nsFd int, router string, cfg *config, counts *flowCounters) (*listener, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFd})
	if err != nil {
		return nil, fmt.Errorf("open NFLOG socket in qrouter-%s: %w", router, err)
	}
	l := &listener{router: router, conn: c, cfg: cfg, counts: counts}
	mode := binary.BigEndian.AppendUint32(nil, copyRange)
	mode = append(mode, nfulnlCopyPacket, 0)
	for _, attr := range []netlink.Attribute{
		{Type: nfulaCfgCmd, Data: []byte{nfulnlCfgCmdBind}},
		{Type: nfulaCfgMode, Data: mode},
	} {
		if err := l.config(attr); err != nil {
			c.Close()
			return nil, fmt.Errorf("bind NFLOG group %d in qrouter-%s: %w", cfg.group, router, err)
		}
	}
	// Floods are cut by the rules' limits; a big buffer absorbs bursts.
	_ = c.SetReadBuffer(1 << 20)
	l.wg.Add(1)
	go l.run()
	return l, nil
}

func (l *listener) config(attr netlink.Attribute) error {
	b, err := netlink.MarshalAttributes([]netlink.Attribute{attr})
	if err != nil {
		return err
	}
	hdr := []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0}
	binary.BigEndian.PutUint16(hdr[2:], l.cfg.group)
	_, err = l.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_ULOG<<8 | nfulnlMsgConfig),
			Flags: netlink.Request | netlink.Acknowledge},
		Data: append(hdr, b...),
	})
	return err
}

// setSources replaces the prefix table records are looked up in.
func (l *listener) setSources(m map[string]*logSource) { l.sources.Store(&m) }

func (l *listener) run() {
	defer l.wg.Done()
	for {
		msgs, err := l.conn.Receive()
		if err != nil {
			if l.closed.Load() {
				return
			}
			// ENOBUFS: records were lost under a flood the limits let
			// through; go on reading.
			l.cfg.log.Debug("NFLOG receive", "router", l.router, "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for _, m := range msgs {
			if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_ULOG<<8|nfulnlMsgPacket) || len(m.Data) < 4 {
				continue
			}
			l.packet(m.Data[4:])
		}
	}
}

func (l *listener) packet(b []byte) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return
	}
	ad.ByteOrder = binary.BigEndian
	var prefix string
	var payload []byte
	r := FlowRecord{Router: l.router}
	for ad.Next() {
		switch ad.Type() {
		case nfulaPrefix:
			prefix = strings.TrimRight(string(ad.Bytes()), "\x00")
		case nfulaPayload:
			payload = ad.Bytes()
		case nfulaTimestamp:
			if t := ad.Bytes(); len(t) == 16 {
				r.Time = time.Unix(int64(binary.BigEndian.Uint64(t)), int64(binary.BigEndian.Uint64(t[8:]))*1000)
			}
		}
	}
	var src *logSource
	if m := l.sources.Load(); m != nil {
		src = (*m)[prefix]
	}
	if src == nil {
		l.counts.unknown.Add(1)
		return
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.LogIDs, r.PortID, r.FirewallGroupID, r.RuleID, r.Direction, r.Verdict =
		src.LogIDs, src.PortID, src.GroupID, src.RuleID, src.Direction, src.Verdict
	parsePacket(payload, &r)
	l.cfg.emit(l.counts, r)
}

// Close stops the reader. Closing the socket unbinds its group (the
// kernel destroys a socket's NFLOG instances when it is released); an
// unbind message would race the reader for the socket.
func (l *listener) Close() error {
	l.closed.Store(true)
	err := l.conn.Close()
	l.wg.Wait()
	return err
}
