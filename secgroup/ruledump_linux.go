package secgroup

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dumpRuleHashes reads every rule of one of our tables in a single netlink
// dump and returns, per chain and in order, the content hashes the rules
// carry. google/nftables dumps rules one chain at a time and decodes every
// expression; a node with thousands of chains needs neither.
func dumpRuleHashes(nsFd int, f family, tableName string) (map[string][]uint64, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFd})
	if err != nil {
		return nil, fmt.Errorf("netlink dial: %w", err)
	}
	defer conn.Close()
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{{Type: unix.NFTA_RULE_TABLE, Data: append([]byte(tableName), 0)}})
	if err != nil {
		return nil, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{byte(nfFamily(f)), unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	const attempts = 10
	for range attempts {
		msgs, err := conn.Execute(req)
		if errors.Is(err, unix.ENOENT) {
			return map[string][]uint64{}, nil // no such table
		}
		if err != nil {
			return nil, fmt.Errorf("dump rules of %s %s: %w", f, tableName, err)
		}
		out, interrupted, err := parseRuleDump(msgs)
		if err != nil || !interrupted {
			return out, err
		}
	}
	return nil, fmt.Errorf("dump rules of %s %s: still interrupted after %d attempts", f, tableName, attempts)
}

func parseRuleDump(msgs []netlink.Message) (map[string][]uint64, bool, error) {
	out := map[string][]uint64{}
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
		var hash uint64
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_RULE_CHAIN:
				chain = ad.String()
			case unix.NFTA_RULE_USERDATA:
				hash = ruleHash(ad.Bytes())
			}
		}
		if err := ad.Err(); err != nil {
			return nil, false, err
		}
		out[chain] = append(out[chain], hash)
	}
	return out, interrupted, nil
}
