package loadbalancer

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// observedAfter builds the table state a commit of s leaves (what readNFT
// would read back), so plans can be checked without a kernel.
func observedAfter(s *spec) *nftState {
	st := &nftState{table: true, chains: map[string]*nftables.Chain{}, sets: map[string]*nftables.Set{},
		elems: map[string][]nftables.SetElement{}, rules: map[string][]*nftables.Rule{}}
	rule := func(chain, comment string) {
		st.rules[chain] = append(st.rules[chain], &nftables.Rule{UserData: nft.Comment(comment)})
	}
	for _, name := range []string{chainPre, chainPost} {
		st.chains[name] = &nftables.Chain{Name: name, Table: table}
	}
	st.sets[setListeners] = &nftables.Set{Name: setListeners, Table: table}
	rule(chainPre, "vip "+s.VIP.Addr().String())
	rule(chainPost, "masquerade dnat")
	for i := range s.L4 {
		l := &s.L4[i]
		st.chains[listenerPrefix+l.ListenerID] = &nftables.Chain{Name: listenerPrefix + l.ListenerID, Table: table}
		st.sets[mapPrefix+l.ListenerID] = &nftables.Set{Name: mapPrefix + l.ListenerID, Table: table}
		if len(l.Slots) > 0 {
			rule(listenerPrefix+l.ListenerID, ruleComment(l))
		}
		for k, ap := range l.Slots {
			st.elems[mapPrefix+l.ListenerID] = append(st.elems[mapPrefix+l.ListenerID], nftables.SetElement{Key: slotKey(k), Val: slotVal(ap)})
		}
		st.elems[setListeners] = append(st.elems[setListeners], nftables.SetElement{Key: vmapKey(l.Proto, l.Port),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: listenerPrefix + l.ListenerID}})
	}
	return st
}

func transcript(p *nftPlan) string {
	var lines []string
	for _, l := range p.lines {
		lines = append(lines, l.verb+" "+l.kind+" "+l.what)
	}
	return strings.Join(lines, "\n")
}

// TestPlanTranscript reads as the transcript of a load balancer's life:
// creation, no-op, a member leaving, a listener removed.
func TestPlanTranscript(t *testing.T) {
	s := mustCompile(t, fixture(), allUp)
	fresh, _ := readNFT(nil)
	got := transcript(planNFT(s, fresh))
	want := `create nft-table inet neutrino-lb
create nft-set listeners
create nft-chain prerouting
create nft-chain postrouting
create nft-set m-tcp80
create nft-chain l-tcp80
create nft-element 4 to m-tcp80
create nft-rule l-tcp80: [numgen 4]
create nft-set m-udp53
create nft-chain l-udp53
create nft-element 1 to m-udp53
create nft-rule l-udp53: [jhash 1 ` + strings.Split(ruleComment(&s.L4[1]), " ")[2] + `]
create nft-element 2 to listeners
create nft-rule prerouting: vip 100.64.1.10
create nft-rule postrouting: masquerade dnat`
	if got != want {
		t.Fatalf("fresh plan:\n%s\nwant:\n%s", got, want)
	}
	obs := observedAfter(s)
	if p := planNFT(s, obs); !p.empty() {
		t.Fatalf("plan against its own result:\n%s", transcript(p))
	}

	// m1 (weight 3) leaves rotation: three slots go, one is rewritten,
	// the modulus changes.
	down := func(id string) (bool, bool) { return id != "m1", true }
	s2 := mustCompile(t, fixture(), down)
	got = transcript(planNFT(s2, obs))
	want = `delete nft-element 4 from m-tcp80
create nft-element 1 to m-tcp80
update nft-rule l-tcp80: [numgen 1]`
	if got != want {
		t.Fatalf("member down:\n%s\nwant:\n%s", got, want)
	}

	// The UDP listener is removed: its verdict element, chain and map go.
	d := fixture()
	d.Listeners = slices.DeleteFunc(d.Listeners, func(l Listener) bool { return l.ID == "udp53" })
	d.Pools[3].LoadBalancerID, d.Pools[3].ListenerID = "lb1", ""
	got = transcript(planNFT(mustCompile(t, d, allUp), obs))
	want = `delete nft-element 1 from listeners
delete nft-chain l-udp53
delete nft-set m-udp53`
	if got != want {
		t.Fatalf("listener removed:\n%s\nwant:\n%s", got, want)
	}
}
