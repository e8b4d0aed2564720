package proxy

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestSpreadInterleavesByWeight(t *testing.T) {
	got := Spread([]int{5, 1, 1})
	want := []int{0, 0, 1, 0, 2, 0, 0} // nginx's smooth weighted round robin
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if s := Spread([]int{0, 4, 2}); len(s) != 3 || s[0] != 1 {
		t.Fatalf("weights 0,4,2: %v", s)
	}
	if Spread([]int{0, 0}) != nil {
		t.Fatal("all zero weights got slots")
	}
}

func pool(alg string, sourceIP bool, weights ...int) *poolState {
	p := &Pool{ID: "p", Algorithm: alg, SourceIP: sourceIP}
	for i, w := range weights {
		p.Members = append(p.Members, Member{ID: string(rune('a' + i)), Weight: w})
	}
	st, _ := compile(&Listener{Pools: map[string]*Pool{"p": p}})
	return st.pools["p"]
}

func TestPick(t *testing.T) {
	ps := pool("LEAST_CONNECTIONS", false, 1, 2)
	ps.conns[0].Store(1)
	ps.conns[1].Store(1)
	if i := ps.pick(netip.Addr{}, "", nil); i != 1 {
		t.Fatalf("least connections per weight picked %d", i)
	}
	ps.conns[1].Store(3) // 3/2 > 1/1
	if i := ps.pick(netip.Addr{}, "", nil); i != 0 {
		t.Fatalf("picked %d", i)
	}
	ps = pool("SOURCE_IP", true, 1, 1, 1)
	c := netip.MustParseAddr("198.51.100.7")
	first := ps.pick(c, "", nil)
	for range 10 {
		if ps.pick(c, "", nil) != first {
			t.Fatal("source IP moved")
		}
	}
	if ps.pick(c, "", map[int]bool{first: true}) == first {
		t.Fatal("skipped member picked")
	}
	ps = pool("ROUND_ROBIN", false, 1, 1)
	if i := ps.pick(c, "b", nil); i != 1 {
		t.Fatalf("cookie for b picked %d", i)
	}
	if pool("ROUND_ROBIN", false).pick(c, "", nil) != -1 {
		t.Fatal("empty pool picked a member")
	}
}

func TestRules(t *testing.T) {
	l := &Listener{Policies: []Policy{{ID: "x", Rules: []Rule{
		{Type: "HOST_NAME", Compare: "EQUAL_TO", Value: "Example.org"},
		{Type: "FILE_TYPE", Compare: "REGEX", Value: "^(png|jpg)$"},
		{Type: "HEADER", Compare: "CONTAINS", Key: "user-agent", Value: "curl"},
		{Type: "COOKIE", Compare: "STARTS_WITH", Key: "tier", Value: "gold", Invert: true},
	}}}}
	st, err := compile(l)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://example.org:8080/img/a.png", nil)
	r.Header.Set("User-Agent", "curl/8")
	if !st.policies[0].matches(r) {
		t.Fatal("request should match every rule")
	}
	r.Header.Set("Cookie", "tier=golden")
	if st.policies[0].matches(r) {
		t.Fatal("inverted cookie rule matched")
	}
	if (&policyState{}).matches(r) {
		t.Fatal("a policy without rules matched")
	}
	if _, err := compile(&Listener{Policies: []Policy{{Rules: []Rule{{Compare: "REGEX", Value: "(["}}}}}); err == nil {
		t.Fatal("bad regex compiled")
	}
}
