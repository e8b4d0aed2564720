package neutrino_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// netlinkDumps are the list calls of vishvananda/netlink that dump a kernel
// table. The kernel interrupts a dump that races with a change
// (ErrDumpInterrupted), so every one goes through the retrying wrapper
// (nl.Dump, re-exported as namespace.Dump) — the CNI plugins' lint rule.
var netlinkDumps = map[string]bool{
	"LinkList": true, "AddrList": true, "RouteList": true, "RouteListFiltered": true,
	"NeighList": true, "NeighProxyList": true, "RuleList": true, "RuleListFiltered": true,
	"ConntrackTableList": true, "QdiscList": true, "ClassList": true, "FilterList": true,
	"XfrmStateList": true, "XfrmPolicyList": true, "BridgeVlanList": true, "LinkSubscribeWithOptions": false,
}

// goFiles parses every Go file of the module, tests included, and calls fn
// with its slash path relative to the module root.
func goFiles(t *testing.T, fn func(path string, f *ast.File, fset *token.FileSet)) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(path), f, fset)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// importName is the name under which f imports path, or "".
func importName(f *ast.File, path string) string {
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == path {
			if im.Name != nil {
				return im.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

// TestOnlyNamespaceSwitchesNamespaces fails on a call of netns.Set,
// netns.Setns or unix.Setns outside namespace/: a thread switched anywhere
// else is a thread nobody switches back (ARCHITECTURE.md, section 1).
func TestOnlyNamespaceSwitchesNamespaces(t *testing.T) {
	goFiles(t, func(path string, f *ast.File, fset *token.FileSet) {
		if strings.HasPrefix(path, "namespace/") {
			return
		}
		banned := map[string]map[string]bool{}
		if n := importName(f, "github.com/vishvananda/netns"); n != "" {
			banned[n] = map[string]bool{"Set": true, "Setns": true}
		}
		if n := importName(f, "golang.org/x/sys/unix"); n != "" {
			banned[n] = map[string]bool{"Setns": true}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && banned[x.Name][sel.Sel.Name] {
				t.Errorf("%s: %s.%s outside namespace/: use namespace.Do or a per-namespace handle", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
			}
			return true
		})
	})
}

// TestNetlinkDumpsGoThroughTheRetryWrapper fails on a netlink list call
// that is not made by Dump: either passed to it as a method value
// (nl.Dump(h.LinkList)) or called inside a function literal passed to it.
// Tests are exempt: they read a namespace nothing else changes.
func TestNetlinkDumpsGoThroughTheRetryWrapper(t *testing.T) {
	goFiles(t, func(path string, f *ast.File, fset *token.FileSet) {
		if strings.HasSuffix(path, "_test.go") {
			return
		}
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !netlinkDumps[sel.Sel.Name] || insideDump(stack) {
				return true
			}
			t.Errorf("%s: %s called outside nl.Dump/namespace.Dump: an interrupted dump would not be retried", fset.Position(call.Pos()), sel.Sel.Name)
			return true
		})
	})
}

// insideDump reports whether the innermost enclosing function literal of
// the node at the top of stack is an argument of a call to Dump.
func insideDump(stack []ast.Node) bool {
	for i := len(stack) - 1; i > 0; i-- {
		lit, ok := stack[i].(*ast.FuncLit)
		if !ok {
			continue
		}
		call, ok := stack[i-1].(*ast.CallExpr)
		if !ok {
			return false
		}
		var name string
		switch fn := call.Fun.(type) {
		case *ast.SelectorExpr:
			name = fn.Sel.Name
		case *ast.Ident:
			name = fn.Name
		case *ast.IndexExpr: // Dump[T](...)
			if s, ok := fn.X.(*ast.SelectorExpr); ok {
				name = s.Sel.Name
			}
		}
		for _, a := range call.Args {
			if a == lit {
				return name == "Dump"
			}
		}
		return false
	}
	return false
}

// TestExamplesUseOnlyThePublicAPI fails when an example program imports an
// internal/ package: the examples show what an embedder can write, and an
// embedder cannot import them.
func TestExamplesUseOnlyThePublicAPI(t *testing.T) {
	goFiles(t, func(path string, f *ast.File, fset *token.FileSet) {
		if !strings.HasPrefix(path, "examples/") || strings.HasSuffix(path, "_test.go") {
			return
		}
		for _, im := range f.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); strings.HasPrefix(p, "github.com/neutrino-net/neutrino/internal/") {
				t.Errorf("%s: imports %s", fset.Position(im.Pos()), p)
			}
		}
	})
}
