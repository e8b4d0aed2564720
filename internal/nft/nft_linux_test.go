package nft

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	mnl "github.com/mdlayher/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

const testTable = "neutrino-test"

// world is a lab namespace with a table of ours on its long-lived connection.
type world struct {
	l     *lab.Lab
	h     *namespace.Handle
	c     *nftables.Conn
	table *nftables.Table
}

func newWorld(t testing.TB) *world {
	t.Helper()
	l := lab.New(t)
	h := l.Namespace("nft")
	c, err := h.NFT()
	if err != nil {
		t.Fatal(err)
	}
	table := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: testTable})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	return &world{l: l, h: h, c: c, table: table}
}

// set queues (without flushing) a new set of the given key type.
func (w *world) set(t testing.TB, name string, key nftables.SetDatatype, interval bool) *nftables.Set {
	t.Helper()
	s := &nftables.Set{Table: w.table, Name: name, KeyType: key, Interval: interval, Comment: "neutrino set " + name}
	if err := w.c.AddSet(s, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// nftElements counts the elements the nft CLI reads back from a set.
func (w *world) nftElements(t testing.TB, set string) []any {
	t.Helper()
	out := w.l.MustRun(w.h, "nft", "-j", "list", "set", "inet", testTable, set)
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []any `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j output does not parse: %v\n%.500s", err, out)
	}
	for _, o := range doc.Nftables {
		if o.Set != nil {
			return o.Set.Elem
		}
	}
	t.Fatalf("nft -j list set %s: no set in output", set)
	return nil
}

func (w *world) commit(t testing.TB, set *nftables.Set, ivs []Interval) {
	t.Helper()
	elems := IntervalElements(ivs)
	if err := AddElements(w.c, set, elems); err != nil {
		t.Fatal(err)
	}
	n, err := VerifyCount(w.c, set)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(elems) {
		t.Fatalf("set %s stores %d elements, %d sent", set.Name, n, len(elems))
	}
	got, err := ReadIntervals(w.c, set)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ivs) {
		t.Fatalf("set %s reads back %d intervals, %d committed", set.Name, len(got), len(ivs))
	}
}

func TestIntervalSet10kDisjointReadsBack10k(t *testing.T) {
	w := newWorld(t)
	ivs, err := Intervals(DisjointHosts(10000))
	if err != nil || len(ivs) != 10000 {
		t.Fatalf("%d intervals, %v", len(ivs), err)
	}
	set := w.set(t, "hosts", nftables.TypeIPAddr, true)
	w.commit(t, set, ivs) // 20,000 elements: 20 messages in one batch
	if n := len(w.nftElements(t, "hosts")); n != 10000 {
		t.Fatalf("nft lists %d elements, want 10000", n)
	}
}

func TestIntervalSet10kMixedPrefixesMerged(t *testing.T) {
	w := newWorld(t)
	ps := RandomPrefixes(rand.New(rand.NewPCG(7, 8)), 10000)
	ivs, err := Intervals(ps)
	if err != nil {
		t.Fatal(err)
	}
	set := w.set(t, "mixed", nftables.TypeIPAddr, true)
	w.commit(t, set, ivs)
	t.Logf("10,000 prefixes -> %d intervals -> %d elements", len(ivs), len(IntervalElements(ivs)))

	// The unmerged list is what the kernel refuses: overlapping elements.
	raw := flushedSet(t, w, "unmerged")
	var elems []nftables.SetElement
	for _, p := range ps {
		last := lastAddr(p).Next()
		elems = append(elems, nftables.SetElement{Key: p.Addr().AsSlice()}, nftables.SetElement{Key: last.AsSlice(), IntervalEnd: true})
	}
	err = AddElements(w.c, raw, elems)
	if !errors.Is(err, errdefs.ErrConflict) || !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("unmerged overlapping prefixes: got %v, want EEXIST as ErrConflict", err)
	}
}

func flushedSet(t testing.TB, w *world, name string) *nftables.Set {
	t.Helper()
	s := w.set(t, name, nftables.TypeIPAddr, true)
	if err := w.c.Flush(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIntervalSetOpenRangesShowAsNftWritesThem(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		set   string
		key   nftables.SetDatatype
		in    []string
		shown []string
	}{
		{"any4", nftables.TypeIPAddr, []string{"192.0.2.0/24", "0.0.0.0/0"}, []string{"0.0.0.0/0"}},
		{"any6", nftables.TypeIP6Addr, []string{"::/0"}, []string{"::/0"}},
		{"top4", nftables.TypeIPAddr, []string{"255.255.255.0/24", "192.0.2.0/25", "192.0.2.128/25"}, []string{"192.0.2.0/24", "255.255.255.0/24"}},
		{"top6", nftables.TypeIP6Addr, []string{"2001:db8::/32", "ff00::/8"}, []string{"2001:db8::/32", "ff00::/8"}},
	} {
		ivs, err := Intervals(prefixes(t, tc.in...))
		if err != nil {
			t.Fatal(err)
		}
		set := w.set(t, tc.set, tc.key, true)
		w.commit(t, set, ivs)
		out := strings.Join(strings.Fields(w.l.MustRun(w.h, "nft", "list", "set", "inet", testTable, tc.set)), " ")
		want := "elements = { " + strings.Join(tc.shown, ", ") + " }"
		if !strings.Contains(out, want) || !strings.Contains(out, `comment "neutrino set `+tc.set+`"`) {
			t.Errorf("nft list set %s: want %q and the set comment in\n%s", tc.set, want, out)
		}
	}
}

func TestBatchIsAtomicAndErrorsAreTyped(t *testing.T) {
	w := newWorld(t)
	set := flushedSet(t, w, "atomic")
	ivs, _ := Intervals(DisjointHosts(5000))
	elems := IntervalElements(ivs)
	// The last interval overlaps the first: the kernel must refuse the whole
	// batch, not store the 9 chunks before it.
	elems = append(elems, nftables.SetElement{Key: ivs[0].Start.AsSlice()},
		nftables.SetElement{Key: ivs[1].End.AsSlice(), IntervalEnd: true})
	if err := AddElements(w.c, set, elems); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("overlap: %v, want ErrConflict", err)
	}
	if n, err := VerifyCount(w.c, set); err != nil || n != 0 {
		t.Fatalf("after a failed batch the set holds %d elements (%v), want 0", n, err)
	}

	err := DeleteElements(w.c, set, IntervalElements(ivs[:1]))
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("deleting an absent interval: %v, want ErrNotFound", err)
	}
	missing := &nftables.Set{Table: w.table, Name: "missing", KeyType: nftables.TypeIPAddr}
	if _, err := VerifyCount(w.c, missing); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("reading a missing set: %v, want ErrNotFound", err)
	}
}

func TestIntervalSetUpdatesByDiffInOneBatch(t *testing.T) {
	w := newWorld(t)
	set := w.set(t, "diff", nftables.TypeIPAddr, true)
	have, _ := Intervals(RandomPrefixes(rand.New(rand.NewPCG(9, 10)), 3000))
	w.commit(t, set, have)

	// Grow, shrink, drop and add: grown intervals overlap their old selves,
	// so the deletions must come first in the batch.
	ps := RandomPrefixes(rand.New(rand.NewPCG(9, 10)), 3000)
	ps = append(ps[500:], RandomPrefixes(rand.New(rand.NewPCG(11, 12)), 500)...)
	want, _ := Intervals(ps)
	current, err := ReadIntervals(w.c, set)
	if err != nil {
		t.Fatal(err)
	}
	del, add := DiffIntervals(current, want)
	if err := QueueElements(w.c, set, IntervalElements(del), IntervalElements(add)); err != nil {
		t.Fatal(err)
	}
	if err := w.c.Flush(); err != nil {
		t.Fatalf("diff -%d +%d intervals: %v", len(del), len(add), err)
	}
	got, err := ReadIntervals(w.c, set)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("after diff: %d intervals (%v), want %d", len(got), err, len(want))
	}
}

func TestAddrSet10k(t *testing.T) {
	w := newWorld(t)
	set := w.set(t, "addrs", nftables.TypeIP6Addr, false)
	addrs := make([]netip.Addr, 0, 10000)
	a := netip.MustParseAddr("2001:db8::1")
	for range 10000 {
		addrs = append(addrs, a)
		a = a.Next()
	}
	elems := AddrElements(addrs)
	if err := AddElements(w.c, set, elems); err != nil {
		t.Fatal(err)
	}
	if n, err := VerifyCount(w.c, set); err != nil || n != 10000 {
		t.Fatalf("stored %d (%v), want 10000", n, err)
	}
	if n := len(w.nftElements(t, "addrs")); n != 10000 {
		t.Fatalf("nft lists %d elements, want 10000", n)
	}
}

// rules queues n accept rules, each with a comment, into a fresh chain.
func rules(c *nftables.Conn, table *nftables.Table, chain string, n int) *nftables.Chain {
	ch := c.AddChain(&nftables.Chain{Table: table, Name: chain})
	for i := range n {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, UserData: Comment(fmt.Sprintf("neutrino rule %d", i)),
			Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}})
	}
	return ch
}

// TestRuleBatch5000 commits 5,000 rules in one Flush on the namespace's
// connection, and shows the same batch fails on a connection with the
// kernel's default buffers: the connection's forced 64 MiB buffers are what
// make it work.
func TestRuleBatch5000(t *testing.T) {
	w := newWorld(t)
	ch := rules(w.c, w.table, "big", 5000)
	if err := w.c.Flush(); err != nil {
		t.Fatalf("5000-rule batch: %v", err)
	}
	got, err := w.c.GetRules(w.table, ch)
	if err != nil || len(got) != 5000 {
		t.Fatalf("read back %d rules (%v), want 5000", len(got), err)
	}
	if s, ok := ParseComment(got[4999].UserData); !ok || s != "neutrino rule 4999" {
		t.Fatalf("last rule's comment: %q %v", s, ok)
	}
	out := w.l.MustRun(w.h, "nft", "list", "chain", "inet", testTable, "big")
	if n := strings.Count(out, "accept comment \"neutrino rule "); n != 5000 {
		t.Fatalf("nft lists %d commented rules, want 5000", n)
	}

	// A connection with socket options skips the library's own buffer
	// growth; this one sets none, so the socket keeps the defaults.
	small, err := nftables.New(nftables.WithNetNSFd(w.h.Fd()), nftables.AsLasting(),
		nftables.WithSockOptions(func(*mnl.Conn) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer small.CloseLasting()
	rules(small, w.table, "small", 5000)
	err = small.Flush()
	if !errors.Is(err, syscall.EMSGSIZE) && !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("5000 rules with default buffers: %v; want EMSGSIZE or ENOBUFS (else this test no longer proves the buffers matter)", err)
	}
}
