package neutrino

import (
	"path/filepath"
	"testing"
)

// TestExampleTopologies loads and validates every example topology, and
// slices it for each of its hosts.
func TestExampleTopologies(t *testing.T) {
	files, err := filepath.Glob("examples/topologies/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			topo, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := topo.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(topo.Hosts) == 0 {
				t.Fatal("no hosts")
			}
			for _, h := range topo.Hosts {
				slice, err := topo.ForHost(h.Name)
				if err != nil {
					t.Fatalf("ForHost(%s): %v", h.Name, err)
				}
				if len(slice.Ports) == 0 || len(slice.Networks) == 0 {
					t.Errorf("ForHost(%s) is empty: %+v", h.Name, slice)
				}
			}
		})
	}
}
