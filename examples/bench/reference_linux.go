package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/namespace"
)

// docs are the run's documents by the names the child knows them.
var docNames = []string{"base", "plus", "scale", "scale1", "scale2"}

func (t *Topologies) byName() map[string]*neutrino.Topology {
	return map[string]*neutrino.Topology{"base": t.Base, "plus": t.BasePlusPort, "scale": t.Scale,
		"scale1": t.ScalePlusMember, "scale2": t.ScalePlusFIP}
}

// reference is what Neutrino makes of each document on a scratch node,
// dumped: the baselines' plans come from it and their results are
// checked against it.
type reference struct {
	fresh, base, plus, after, scale, scale1, scale2 *state
	defaults                                        map[string]string // a new namespace's sysctls
	keys                                            []string          // the sysctls Neutrino sets somewhere
	steps                                           map[string][]timing
}

// plans are the baselines' commands for one style.
type plans struct {
	bringUp, port, teardown, member, fip plan
}

func (ref *reference) plans(sty style) plans {
	d := ref.defaults
	return plans{
		bringUp:  diffStates(ref.fresh, ref.base, d, sty),
		port:     diffStates(ref.base, ref.plus, d, sty),
		teardown: diffStates(ref.plus, ref.after, d, sty),
		member:   diffStates(ref.scale, ref.scale1, d, sty),
		fip:      diffStates(ref.scale1, ref.scale2, d, sty),
	}
}

// scaleUp makes the scale variant's state on a fresh node (not measured).
func (ref *reference) scaleUp() plan { return diffStates(ref.fresh, ref.scale, ref.defaults, batched) }

// writeDocs writes the documents for the child to load.
func (w *world) writeDocs(t *Topologies) (map[string]string, error) {
	files := map[string]string{}
	for name, doc := range t.byName() {
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		f := filepath.Join(w.dir, name+".json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return nil, err
		}
		files[name] = f
	}
	return files, nil
}

// loadDocs has the child parse the named documents, all if none are
// named (not measured).
func loadDocs(a *agentProc, files map[string]string, names ...string) error {
	if len(names) == 0 {
		names = docNames
	}
	for _, name := range names {
		if _, err := a.call(request{Op: "load", Name: name, File: files[name]}); err != nil {
			return err
		}
	}
	return nil
}

// probeSysctls reads every namespace-wide sysctl of a new namespace.
func (w *world) probeSysctls() (map[string]string, error) {
	mgr := namespace.NewManager(w.prefix + "probe-")
	h, _, err := mgr.Ensure("ns")
	if err != nil {
		return nil, err
	}
	defer mgr.Delete("ns")
	defer h.Close()
	vals := map[string]string{}
	err = h.Do(func() error {
		for _, k := range namespaceSysctls() {
			if v, ok := readSysctl(k); ok {
				vals[k] = v
			}
		}
		return nil
	})
	return vals, err
}

// buildReference applies each document in turn with the child's own
// realizers, timed one by one, dumping the node after each.
func (w *world) buildReference(files map[string]string, progress func(string)) (*reference, error) {
	defaults, err := w.probeSysctls()
	if err != nil {
		return nil, err
	}
	n, err := w.newNode("ref")
	if err != nil {
		return nil, err
	}
	defer n.remove()
	a, err := w.startAgent(n)
	if err != nil {
		return nil, err
	}
	defer a.stop()
	if err := loadDocs(a, files); err != nil {
		return nil, err
	}
	var nodeKeys []string
	_ = n.h.Do(func() error { nodeKeys = namespaceSysctls(); return nil })
	all := append(nodeKeys, slicesKeys(defaults)...)
	ref := &reference{defaults: defaults, steps: map[string][]timing{}}
	if ref.fresh, err = dumpNode(n, all); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		doc  string
		dump **state
	}{{"base", &ref.base}, {"plus", &ref.plus}, {"", &ref.after}, {"scale", &ref.scale}, {"scale1", &ref.scale1}, {"scale2", &ref.scale2}} {
		label := s.doc
		if label == "" {
			label = "destroy"
		}
		progress(label)
		res, err := a.call(request{Op: "steps", Name: s.doc})
		if err != nil {
			return nil, fmt.Errorf("reference %s: %w", label, err)
		}
		ref.steps[label] = res.Steps
		if *s.dump, err = dumpNode(n, all); err != nil {
			return nil, err
		}
	}
	ref.keepSetSysctls()
	return ref, nil
}

// keepSetSysctls narrows every dump's sysctls to those Neutrino changes
// somewhere: from the fresh node's values in the node, from a new
// namespace's elsewhere.
func (ref *reference) keepSetSysctls() {
	keys := map[string]bool{}
	for _, st := range []*state{ref.base, ref.plus, ref.scale, ref.scale1, ref.scale2} {
		for name, s := range st.NS {
			was := ref.defaults
			if name == "node" {
				was = ref.fresh.NS["node"].Sysctls
			}
			for k, v := range s.Sysctls {
				if old, ok := was[k]; ok && old != v {
					keys[k] = true
				}
			}
		}
	}
	only := map[string]map[string]bool{"*": keys}
	for _, st := range []*state{ref.fresh, ref.base, ref.plus, ref.after, ref.scale, ref.scale1, ref.scale2} {
		st.onlySysctls(only)
	}
	d := map[string]string{}
	for k := range keys {
		d[k] = ref.defaults[k]
	}
	ref.defaults = d
	ref.keys = slicesKeys(keys)
}

func slicesKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
