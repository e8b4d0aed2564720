package source

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino"
)

func twoNode(t *testing.T) *neutrino.Topology {
	t.Helper()
	topo, err := neutrino.LoadFile("../examples/topologies/two-node-vxlan.json")
	require.NoError(t, err)
	topo.Defaults()
	require.NoError(t, topo.Validate())
	return topo
}

func put(t *testing.T, o *Objects, objs map[Ref]json.RawMessage) {
	t.Helper()
	for ref, v := range objs {
		require.NoError(t, o.Put(ref, v))
	}
}

func TestSplitThenObjectsGivesTheDocumentBackInIDOrder(t *testing.T) {
	topo := twoNode(t)
	objs, err := Split(topo)
	require.NoError(t, err)
	require.Len(t, objs, 9)
	o := NewObjects()
	put(t, o, objs)
	got, err := o.Topology()
	require.NoError(t, err)
	require.Len(t, got.Ports, len(topo.Ports))
	for i := 1; i < len(got.Ports); i++ {
		require.Less(t, got.Ports[i-1].ID, got.Ports[i].ID)
	}
	require.ElementsMatch(t, topo.Ports, got.Ports)
	require.Equal(t, topo.Hosts, got.Hosts)
	require.Equal(t, topo.Networks, got.Networks)
}

func TestObjectsRejectsAMalformedObjectNamingItsKeyAndField(t *testing.T) {
	topo := twoNode(t)
	objs, err := Split(topo)
	require.NoError(t, err)
	o := NewObjects(WithNames(func(r Ref) string { return "/p/v1/" + r.String() }))
	put(t, o, objs)
	good, err := o.Topology()
	require.NoError(t, err)

	p := topo.Ports[1]
	ref := Ref{"ports", p.ID}
	var m map[string]any
	require.NoError(t, json.Unmarshal(objs[ref], &m))
	m["fixed_ips"] = []any{map[string]any{"subnet_id": p.FixedIPs[0].SubnetID, "ip_address": "10.0.10.999"}}
	bad, _ := json.Marshal(m)
	err = o.Put(ref, bad)
	require.ErrorIs(t, err, neutrino.ErrInvalid)
	require.ErrorContains(t, err, "/p/v1/ports/"+p.ID+": fixed_ips[0].ip_address")
	_, err = o.Topology()
	require.ErrorContains(t, err, "/p/v1/ports/"+p.ID+": fixed_ips[0].ip_address")

	// A decodable object that breaks a rule of the document: named by key too.
	m["fixed_ips"] = []any{map[string]any{"subnet_id": "no-such-subnet", "ip_address": "10.0.10.99"}}
	bad, _ = json.Marshal(m)
	require.NoError(t, o.Put(ref, bad))
	_, err = o.Topology()
	require.ErrorIs(t, err, neutrino.ErrNotFound)
	require.ErrorContains(t, err, "/p/v1/ports/"+p.ID+": fixed_ips[0].subnet_id")

	// The key and the object's ID must agree.
	err = o.Put(Ref{"ports", "other-id"}, objs[ref])
	require.ErrorContains(t, err, "/p/v1/ports/other-id: id")

	o.Delete(Ref{"ports", "other-id"})
	require.NoError(t, o.Put(ref, objs[ref]))
	again, err := o.Topology()
	require.NoError(t, err)
	require.Equal(t, good.Ports, again.Ports)
	require.Equal(t, 9, o.Len())
}

func TestObjectsWithACacheDecodeEachVersionOnce(t *testing.T) {
	objs, err := Split(twoNode(t))
	require.NoError(t, err)
	c := NewCache(100)
	a, b := NewObjects(WithCache(c)), NewObjects(WithCache(c))
	put(t, a, objs)
	put(t, b, objs)
	ta, err := a.Topology()
	require.NoError(t, err)
	tb, err := b.Topology()
	require.NoError(t, err)
	require.Equal(t, ta, tb)
	require.Len(t, c.m, len(objs), "one entry per object version")
	require.Equal(t, &ta.Ports[0].FixedIPs[0], &tb.Ports[0].FixedIPs[0], "decoded once, shared")
}

func TestVerdictsValidateOnce(t *testing.T) {
	v := NewVerdicts(2)
	calls := 0
	check := func() (*neutrino.Topology, error) { calls++; return nil, neutrino.ErrInvalid }
	good := twoNode(t)
	for range 3 {
		_, err := v.Do("r1", 1, nil, check)
		require.ErrorIs(t, err, neutrino.ErrInvalid)
	}
	require.Equal(t, 1, calls)
	a, err := v.Do("r2", 2, nil, func() (*neutrino.Topology, error) { return good, nil })
	require.NoError(t, err)
	require.Same(t, good, a.Topology())
	b, _ := v.Do("r2", 2, &Delta{}, check)
	require.Same(t, good, b.Topology(), "the document is shared")
	require.Same(t, a.Index(), b.Index(), "and so is its index")
	require.NotNil(t, b.Delta)
	_, _ = v.Do("r3", 3, nil, func() (*neutrino.Topology, error) { return good, nil })
	_, err = v.Do("r1", 1, nil, check)
	require.ErrorIs(t, err, neutrino.ErrInvalid)
	require.Equal(t, 2, calls, "the oldest verdict was forgotten")
}

func TestObjectsRefusesUnknownCollections(t *testing.T) {
	o := NewObjects()
	require.ErrorIs(t, o.Put(Ref{"volumes", "v1"}, []byte(`{"id":"v1"}`)), neutrino.ErrInvalid)
	_, err := o.Topology()
	require.ErrorContains(t, err, "volumes/v1")
	o.Delete(Ref{"volumes", "v1"})
	_, err = o.Topology()
	require.NoError(t, err)
	require.ErrorContains(t, o.Put(Ref{"ports", "p"}, []byte(`[1]`)), "want a JSON object")
	require.ErrorContains(t, o.Put(Ref{"ports", "p"}, []byte(`{`)), "not JSON")
}

func TestObjectsAppliesDefaults(t *testing.T) {
	b, err := os.ReadFile("../examples/topologies/two-node-vxlan.json")
	require.NoError(t, err)
	var doc struct{ Subnets []map[string]any }
	require.NoError(t, json.Unmarshal(b, &doc))
	s := doc.Subnets[0]
	delete(s, "gateway_ip")
	delete(s, "allocation_pools")
	v, _ := json.Marshal(s)
	o := NewObjects(WithDefaults(true))
	require.NoError(t, o.Put(Ref{"subnets", s["id"].(string)}, v))
	got := o.Unvalidated()
	require.True(t, got.Subnets[0].GatewayIP.IsValid(), "the gateway default is filled")
}

func TestDeltaMergeAndStatusStale(t *testing.T) {
	a := &Delta{Changes: []Change{{Ref: Ref{"ports", "a"}}}}
	b := &Delta{Changes: []Change{{Ref: Ref{"ports", "b"}}}}
	require.Equal(t, []Change{{Ref: Ref{"ports", "a"}}, {Ref: Ref{"ports", "b"}}}, a.Merge(b).Changes)
	require.Len(t, a.Changes, 1, "Merge does not modify its receiver")
	require.Nil(t, a.Merge(nil), "a whole snapshot absorbs a delta")
	require.Nil(t, (*Delta)(nil).Merge(b))

	now := time.Now()
	require.Zero(t, Status{Connected: true, Since: now.Add(-time.Hour)}.Stale(now))
	require.Equal(t, time.Hour, Status{Since: now.Add(-time.Hour)}.Stale(now))
	require.Zero(t, Status{}.Stale(now), "never connected: nothing to be stale about")
}
