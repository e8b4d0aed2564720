//go:build linux

package main

import (
	"strings"
)

// nftTable is one table of `nft list ruleset`, split into the objects the
// baselines create one by one.
type nftTable struct {
	Family, Name string
	Text         string   // as listed: loadable by nft -f
	Props        []string // table-level statements (flags, comment)
	Chains       []*nftChain
	Sets         []*nftSet // sets and maps
}

type nftChain struct {
	Name  string
	Props []string // "type filter hook forward priority 0; policy accept;"
	Rules []string
}

type nftSet struct {
	Kind, Name string   // kind: set or map
	Props      []string // type, flags, ...
	Elements   []string
}

func (t *nftTable) counts() (chains, rules, sets, elements int) {
	for _, c := range t.Chains {
		rules += len(c.Rules)
	}
	for _, s := range t.Sets {
		elements += len(s.Elements)
	}
	return len(t.Chains), rules, len(t.Sets), elements
}

// parseRuleset splits `nft list ruleset` output into tables.
func parseRuleset(text string) []*nftTable {
	var (
		tables []*nftTable
		t      *nftTable
		body   []string
	)
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "table "):
			f := strings.Fields(line)
			t = &nftTable{Family: f[1], Name: f[2]}
			body = []string{line}
		case line == "}" && t != nil:
			body = append(body, line)
			t.Text = strings.Join(body, "\n") + "\n"
			parseTable(t, body[1:len(body)-1])
			tables = append(tables, t)
			t = nil
		case t != nil:
			body = append(body, line)
		}
	}
	return tables
}

// parseTable reads a table's body: blocks "chain NAME {", "set NAME {",
// "map NAME {" at one tab, their contents at two, element lists wrapped
// over several lines.
func parseTable(t *nftTable, lines []string) {
	var (
		c       *nftChain
		s       *nftSet
		inElems bool
		elems   strings.Builder
	)
	for _, raw := range lines {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		depth := len(raw) - len(strings.TrimLeft(raw, "\t"))
		switch {
		case depth == 1 && strings.HasSuffix(line, "{"):
			f := strings.Fields(line)
			switch f[0] {
			case "chain":
				c = &nftChain{Name: f[1]}
				t.Chains = append(t.Chains, c)
			case "set", "map":
				s = &nftSet{Kind: f[0], Name: f[1]}
				t.Sets = append(t.Sets, s)
			}
		case depth == 1 && line == "}":
			c, s = nil, nil
		case depth == 1 && c == nil && s == nil:
			t.Props = append(t.Props, line)
		case s != nil && (inElems || strings.HasPrefix(line, "elements = {")):
			if !inElems {
				line = strings.TrimPrefix(line, "elements = {")
				inElems = true
			}
			if strings.HasSuffix(line, "}") {
				line = strings.TrimSuffix(line, "}")
				inElems = false
			}
			elems.WriteString(line)
			elems.WriteByte(' ')
			if !inElems {
				s.Elements = splitElements(elems.String())
				elems.Reset()
			}
		case s != nil:
			s.Props = append(s.Props, line)
		case c != nil && isChainProp(line):
			c.Props = append(c.Props, line)
		case c != nil:
			c.Rules = append(c.Rules, line)
		}
	}
}

func isChainProp(line string) bool {
	return strings.HasPrefix(line, "type ") || strings.HasPrefix(line, "policy ") ||
		strings.HasPrefix(line, "comment ") || strings.HasPrefix(line, "devices ") || strings.HasPrefix(line, "flags ")
}

// splitElements splits an element list at the commas outside braces and
// quotes.
func splitElements(s string) []string {
	var (
		out   []string
		depth int
		quote bool
		start int
	)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quote = !quote
		case '{':
			if !quote {
				depth++
			}
		case '}':
			if !quote {
				depth--
			}
		case ',':
			if !quote && depth == 0 {
				if e := strings.TrimSpace(s[start:i]); e != "" {
					out = append(out, e)
				}
				start = i + 1
			}
		}
	}
	if e := strings.TrimSpace(s[start:]); e != "" {
		out = append(out, e)
	}
	return out
}
