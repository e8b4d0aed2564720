package nflog

import (
	"encoding/binary"
	"fmt"
	"log/slog"
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
	msgPacket = 0
	msgConfig = 1

	attrCfgCmd  = 1
	attrCfgMode = 2

	cfgCmdBind = 1
	copyPacket = 2

	attrMark      = 2
	attrTimestamp = 3
	attrPayload   = 9
	attrPrefix    = 10
)

// CopyRange is how much of each packet the kernel copies by default: the
// IP header and the transport ports, with room for IPv4 options.
const CopyRange = 128

// Packet is one logged packet.
type Packet struct {
	// Prefix is the log statement's prefix.
	Prefix string
	// Payload is the start of the packet from its network header.
	Payload []byte
	// Time is the kernel's timestamp, or when the packet was read.
	Time time.Time
	// Mark is the packet mark when the log statement ran (0 if unset):
	// the security group rules carry the port number in it.
	Mark uint32
}

// Reader reads one NFLOG group in one namespace.
type Reader struct {
	conn   *netlink.Conn
	group  uint16
	fn     func(Packet)
	log    *slog.Logger
	closed atomic.Bool
	wg     sync.WaitGroup
}

// Listen binds group in the namespace nsFd refers to and calls fn with
// every packet, from the Reader's goroutine: fn must not block. The
// socket keeps working from any goroutine once made.
func Listen(nsFd int, group uint16, log *slog.Logger, fn func(Packet)) (*Reader, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFd})
	if err != nil {
		return nil, fmt.Errorf("open NFLOG socket: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reader{conn: c, group: group, fn: fn, log: log}
	mode := binary.BigEndian.AppendUint32(nil, CopyRange)
	mode = append(mode, copyPacket, 0)
	for _, attr := range []netlink.Attribute{
		{Type: attrCfgCmd, Data: []byte{cfgCmdBind}},
		{Type: attrCfgMode, Data: mode},
	} {
		if err := r.config(attr); err != nil {
			c.Close()
			return nil, fmt.Errorf("bind NFLOG group %d: %w", group, err)
		}
	}
	// Floods are cut by the log rules' limits; a big buffer absorbs bursts.
	_ = c.SetReadBuffer(1 << 20)
	r.wg.Add(1)
	go r.run()
	return r, nil
}

func (r *Reader) config(attr netlink.Attribute) error {
	b, err := netlink.MarshalAttributes([]netlink.Attribute{attr})
	if err != nil {
		return err
	}
	hdr := []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0}
	binary.BigEndian.PutUint16(hdr[2:], r.group)
	_, err = r.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_ULOG<<8 | msgConfig),
			Flags: netlink.Request | netlink.Acknowledge},
		Data: append(hdr, b...),
	})
	return err
}

func (r *Reader) run() {
	defer r.wg.Done()
	for {
		msgs, err := r.conn.Receive()
		if err != nil {
			if r.closed.Load() {
				return
			}
			// ENOBUFS: packets were lost under a flood the limits let
			// through; go on reading.
			r.log.Debug("NFLOG receive", "group", r.group, "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for _, m := range msgs {
			if m.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_ULOG<<8|msgPacket) || len(m.Data) < 4 {
				continue
			}
			if p, ok := decode(m.Data[4:]); ok {
				r.fn(p)
			}
		}
	}
}

// decode reads the attributes of one packet message.
func decode(b []byte) (Packet, bool) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Packet{}, false
	}
	ad.ByteOrder = binary.BigEndian
	var p Packet
	for ad.Next() {
		switch ad.Type() {
		case attrPrefix:
			p.Prefix = strings.TrimRight(string(ad.Bytes()), "\x00")
		case attrPayload:
			p.Payload = ad.Bytes()
		case attrMark:
			p.Mark = ad.Uint32()
		case attrTimestamp:
			if t := ad.Bytes(); len(t) == 16 {
				p.Time = time.Unix(int64(binary.BigEndian.Uint64(t)), int64(binary.BigEndian.Uint64(t[8:]))*1000)
			}
		}
	}
	if ad.Err() != nil {
		return Packet{}, false
	}
	if p.Time.IsZero() {
		p.Time = time.Now()
	}
	return p, true
}

// Close stops the reader. Closing the socket unbinds its group (the kernel
// destroys a socket's NFLOG instances when it is released); an unbind
// message would race the reader for the socket.
func (r *Reader) Close() error {
	r.closed.Store(true)
	err := r.conn.Close()
	r.wg.Wait()
	return err
}
