package nft

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DumpedRule is a rule as DumpRules reads it: its handle and userdata
// (where realizers keep their comment and content hash), without its
// expressions.
type DumpedRule struct {
	Handle   uint64
	UserData []byte
}

// DumpRules reads every rule of one table, in the namespace nsFd refers
// to, with a single netlink dump, and returns them per chain in order; an
// absent table has no rules. google/nftables dumps rules one chain at a
// time and decodes every expression, which a realizer comparing content
// hashes does not need: at 1,000 rules that decoding is most of the read.
func DumpRules(nsFd int, family nftables.TableFamily, table string) (map[string][]DumpedRule, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFd})
	if err != nil {
		return nil, fmt.Errorf("netlink dial: %w", err)
	}
	defer conn.Close()
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{{Type: unix.NFTA_RULE_TABLE, Data: append([]byte(table), 0)}})
	if err != nil {
		return nil, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{byte(family), unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	const attempts = 10
	for range attempts {
		msgs, err := conn.Execute(req)
		if errors.Is(err, unix.ENOENT) {
			return map[string][]DumpedRule{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dump rules of table %s: %w", table, err)
		}
		out, interrupted, err := parseRuleDump(msgs)
		if err != nil || !interrupted {
			return out, err
		}
	}
	return nil, fmt.Errorf("dump rules of table %s: still interrupted after %d attempts", table, attempts)
}

func parseRuleDump(msgs []netlink.Message) (map[string][]DumpedRule, bool, error) {
	out := map[string][]DumpedRule{}
	interrupted := false
	for _, m := range msgs {
		if m.Header.Flags&netlink.DumpInterrupted != 0 {
			interrupted = true
		}
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return nil, false, err
		}
		ad.ByteOrder = binary.BigEndian
		var chain string
		var r DumpedRule
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_RULE_CHAIN:
				chain = ad.String()
			case unix.NFTA_RULE_HANDLE:
				r.Handle = ad.Uint64()
			case unix.NFTA_RULE_USERDATA:
				r.UserData = ad.Bytes()
			}
		}
		if err := ad.Err(); err != nil {
			return nil, false, err
		}
		out[chain] = append(out[chain], r)
	}
	return out, interrupted, nil
}
