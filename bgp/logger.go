package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// slogAdapter implements gobgp's log.Logger on top of an *slog.Logger and
// taps the records that explain why a session failed: gobgp reports a bad
// peer AS, a refused connection or an expired hold timer only in its logs,
// so this is the one place Status can learn them from.
type slogAdapter struct {
	log   *slog.Logger
	peers *peerBook
}

// NewGobgpLogger returns a gobgp logger writing to log. Use it for a gobgp
// server of your own; Server installs one itself. gobgp's Fatal does not
// exit the process here: it is logged at error level.
func NewGobgpLogger(log *slog.Logger) gobgplog.Logger {
	return &slogAdapter{log: log}
}

func (a *slogAdapter) Panic(msg string, f gobgplog.Fields) {
	a.emit(slog.LevelError, msg, f)
	panic("gobgp: " + msg)
}

// Fatal does not exit: a library must not end its host process.
func (a *slogAdapter) Fatal(msg string, f gobgplog.Fields) { a.emit(slog.LevelError, msg, f) }
func (a *slogAdapter) Error(msg string, f gobgplog.Fields) { a.emit(slog.LevelError, msg, f) }
func (a *slogAdapter) Warn(msg string, f gobgplog.Fields)  { a.emit(slog.LevelWarn, msg, f) }
func (a *slogAdapter) Info(msg string, f gobgplog.Fields)  { a.emit(slog.LevelInfo, msg, f) }
func (a *slogAdapter) Debug(msg string, f gobgplog.Fields) { a.emit(slog.LevelDebug, msg, f) }

// SetLevel is ignored: the slog handler decides what is written.
func (a *slogAdapter) SetLevel(gobgplog.LogLevel) {}

// GetLevel reports debug so that gobgp emits its guarded debug records too:
// "failed to connect" (a refused or unroutable peer) exists only at that
// level. Records the slog handler does not want are dropped before any
// formatting.
func (a *slogAdapter) GetLevel() gobgplog.LogLevel { return gobgplog.DebugLevel }

func (a *slogAdapter) emit(level slog.Level, msg string, f gobgplog.Fields) {
	if a.peers != nil {
		a.peers.observe(level, msg, f)
	}
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys)+1)
	attrs = append(attrs, slog.String("component", "gobgp"))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(strings.ToLower(k), f[k]))
	}
	a.log.LogAttrs(ctx, level, msg, attrs...)
}

// peerError is the last reason a session with one peer failed.
type peerError struct {
	Msg  string
	Time time.Time
}

// peerBook holds what gobgp's goroutines need to know about peers without
// waiting for the Server's lock: each address's peer ID and last failure
// (fed by the logger).
type peerBook struct {
	mu   sync.Mutex
	ids  map[netip.Addr]string
	last map[netip.Addr]peerError
}

func newPeerBook() *peerBook {
	return &peerBook{ids: map[netip.Addr]string{}, last: map[netip.Addr]peerError{}}
}

func (p *peerBook) get(a netip.Addr) peerError {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last[a]
}

func (p *peerBook) id(a netip.Addr) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[a]
}

func (p *peerBook) setID(a netip.Addr, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids[a] = id
}

// forget drops everything known about a, when its peer is removed.
func (p *peerBook) forget(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, a)
	delete(p.ids, a)
}

func (p *peerBook) forgetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.last)
	clear(p.ids)
}

func (p *peerBook) set(a netip.Addr, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[a] = peerError{Msg: msg, Time: time.Now()}
}

// observe turns gobgp's peer records into a last error. The messages are
// gobgp v3's (pkg/server/fsm.go); a record it does not know is ignored.
func (p *peerBook) observe(level slog.Level, msg string, f gobgplog.Fields) {
	if f["Topic"] != "Peer" {
		return
	}
	key, _ := f["Key"].(string)
	addr, err := netip.ParseAddr(key)
	if err != nil {
		return
	}
	addr = addr.Unmap()
	switch {
	case msg == "sent notification":
		p.set(addr, "sent NOTIFICATION: "+describeNotification(f["Data"]))
	case msg == "received notification":
		code, _ := f["Code"].(uint8)
		sub, _ := f["Subcode"].(uint8)
		p.set(addr, "received NOTIFICATION: "+bgp.NewNotificationErrorCode(code, sub).String())
	case msg == "failed to connect":
		p.set(addr, fmt.Sprintf("connect: %v", f["Error"]))
	case msg == "Peer Down":
		p.set(addr, fmt.Sprintf("session down: %v", f["Reason"]))
	case level >= slog.LevelWarn:
		p.set(addr, msg+fieldDetail(f))
	}
}

func describeNotification(data any) string {
	if e, ok := data.(*bgp.MessageError); ok {
		return bgp.NewNotificationErrorCode(e.TypeCode, e.SubTypeCode).String() + " (" + e.Message + ")"
	}
	return fmt.Sprint(data)
}

func fieldDetail(f gobgplog.Fields) string {
	for _, k := range []string{"Error", "Err", "Reason", "Data"} {
		if v, ok := f[k]; ok {
			return fmt.Sprintf(": %v", v)
		}
	}
	return ""
}
