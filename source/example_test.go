package source_test

import (
	"encoding/json"
	"fmt"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source"
)

// A store holds one object per key; Objects turns them back into a
// validated document, and a Slicer keeps one host's slice, re-slicing only
// for changes that concern it.
func ExampleSlicer() {
	topo, err := neutrino.LoadFile("../examples/topologies/two-node-vxlan.json")
	if err != nil {
		panic(err)
	}
	topo.Defaults()
	stored, _ := source.Split(topo) // what a writer puts, one key per object
	objs := source.NewObjects()
	for ref, value := range stored {
		if err := objs.Put(ref, value); err != nil {
			panic(err)
		}
	}
	doc, err := objs.Topology()
	if err != nil {
		panic(err)
	}
	s := source.NewSlicer("node2")
	changed, _ := s.Update(source.NewSnapshot(doc, 1, nil))
	fmt.Println("sliced:", changed, "ports in node2's slice:", len(s.Slice().Ports))

	// A change to a network no port of node2 uses does not concern it.
	n := doc.Networks[0]
	n.ID, n.SegmentationID = "aaaaaaaa-0000-4000-8000-000000000001", 4242
	ref := source.Ref{Collection: "networks", ID: n.ID}
	value, _ := json.Marshal(n)
	_ = objs.Put(ref, value)
	doc, _ = objs.Topology()
	changed, _ = s.Update(source.NewSnapshot(doc, 2, &source.Delta{Changes: []source.Change{{Ref: ref, Value: value}}}))
	fmt.Println("re-sliced:", changed)
	// Output:
	// sliced: true ports in node2's slice: 4
	// re-sliced: false
}
