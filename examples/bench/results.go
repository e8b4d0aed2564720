//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// results are one bench run's figures, printed as a table and written as
// JSON.
type results struct {
	Command   string              `json:"command"`
	Machine   machine             `json:"machine"`
	Size      Size                `json:"size"`
	Reps      int                 `json:"reps"`
	Scenarios []*scenario         `json:"scenarios"`
	Goals     []goal              `json:"goals"`
	Steps     map[string][]timing `json:"reference_steps"` // per realizer, from the reference run
	State     map[string]string   `json:"state"`           // what one node holds, per kind of namespace
	Checks    []string            `json:"checks"`          // the state comparisons made
	Profile   string              `json:"cpu_profile,omitempty"`
}

type machine struct {
	Kernel    string `json:"kernel"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

// scenario is one row: Neutrino's figures and the baselines' (nil: not
// applicable).
type scenario struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Unit    string  `json:"unit"`
	N, A, B *series `json:"-"`
	Note    string  `json:"note,omitempty"`
	// JSON view.
	Neutrino *summary `json:"neutrino,omitempty"`
	BaseA    *summary `json:"baseline_a,omitempty"`
	BaseB    *summary `json:"baseline_b,omitempty"`
	RatioA   float64  `json:"neutrino_over_a,omitempty"`
	RatioB   float64  `json:"neutrino_over_b,omitempty"`
}

type series struct {
	Values    []float64
	Procs     int // processes one run of a baseline spawns
	Mutations []int
}

func (s *series) add(v float64) { s.Values = append(s.Values, v) }

type summary struct {
	Median    float64   `json:"median"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	Values    []float64 `json:"values"`
	Procs     int       `json:"processes,omitempty"`
	Mutations []int     `json:"mutations,omitempty"`
}

func (s *series) summary() *summary {
	if s == nil || len(s.Values) == 0 {
		return nil
	}
	v := slices.Clone(s.Values)
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return &summary{Median: med, Min: v[0], Max: v[len(v)-1], Values: s.Values, Procs: s.Procs, Mutations: s.Mutations}
}

// finish fills the JSON view and the ratios.
func (sc *scenario) finish() {
	sc.Neutrino, sc.BaseA, sc.BaseB = sc.N.summary(), sc.A.summary(), sc.B.summary()
	if sc.Neutrino != nil && sc.BaseA != nil && sc.BaseA.Median > 0 {
		sc.RatioA = sc.Neutrino.Median / sc.BaseA.Median
	}
	if sc.Neutrino != nil && sc.BaseB != nil && sc.BaseB.Median > 0 {
		sc.RatioB = sc.Neutrino.Median / sc.BaseB.Median
	}
}

type goal struct {
	Goal   string `json:"goal"`
	Figure string `json:"figure"`
	Met    bool   `json:"met"`
}

func (r *results) scenario(id string) *scenario {
	for _, s := range r.Scenarios {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func median(id string, r *results, side func(*scenario) *summary) float64 {
	if s := r.scenario(id); s != nil {
		if m := side(s); m != nil {
			return m.Median
		}
	}
	return math.NaN()
}

func neutrinoOf(s *scenario) *summary { return s.Neutrino }
func aOf(s *scenario) *summary        { return s.BaseA }
func bOf(s *scenario) *summary        { return s.BaseB }

// judge marks the goals of ARCHITECTURE.md section 8.
func (r *results) judge() {
	up := median("bringup", r, neutrinoOf)
	upA := median("bringup", r, aOf)
	upB := median("bringup-kernel", r, bOf)
	noop := median("noop", r, neutrinoOf)
	var noopMut int
	if s := r.scenario("noop"); s != nil && s.Neutrino != nil {
		noopMut = slices.Max(s.Neutrino.Mutations)
	}
	add := func(g string, met bool, format string, args ...any) {
		r.Goals = append(r.Goals, goal{Goal: g, Figure: fmt.Sprintf(format, args...), Met: met})
	}
	add("bring-up ≤ 2 s", up <= 2000, "%s", fmtMs(up))
	add("bring-up ≥ 30× faster than baseline A", upA/up >= 30, "%.1f× (A %s)", upA/up, fmtMs(upA))
	add("bring-up ≤ 1.5× baseline B (kernel state, no DHCP daemons)", up/upB <= 1.5, "%.2f× (B %s)", up/upB, fmtMs(upB))
	add("no-op Apply ≤ 100 ms, zero mutations", noop <= 100 && noopMut == 0, "%s, %d mutations", fmtMs(noop), noopMut)
	for _, x := range []struct{ id, what string }{
		{"member-realizer", fmt.Sprintf("SG membership change at %s members", count(r.Size.Members))},
		{"fip-realizer", fmt.Sprintf("FIP added at %s FIPs", count(r.Size.FIPs))},
		{"port-realizers", "one port added"},
	} {
		s := r.scenario(x.id)
		if s == nil || s.Neutrino == nil {
			continue
		}
		m := s.Neutrino.Median
		add(x.what+" ≤ 2 ms (the realizers concerned)", m <= 2, "%s, %d kernel objects", fmtMs(m), slices.Max(s.Neutrino.Mutations))
	}
	rss := median("rss", r, neutrinoOf)
	add("agent memory at the bring-up state ≤ 150 MB RSS", rss <= 150, "%.0f MB peak", rss)
}

func fmtMs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 10000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

func fmtVal(v float64, unit string) string {
	if unit == "MB" {
		return fmt.Sprintf("%.0f MB", v)
	}
	return fmtMs(v)
}

func cell(s *summary, unit string) string {
	if s == nil {
		return "—"
	}
	if s.Min == s.Max {
		return fmtVal(s.Median, unit)
	}
	lo, hi := fmtVal(s.Min, unit), fmtVal(s.Max, unit)
	if _, u, ok := strings.Cut(hi, " "); ok {
		lo = strings.TrimSuffix(lo, " "+u)
	}
	return fmt.Sprintf("%s [%s–%s]", fmtVal(s.Median, unit), lo, hi)
}

func ratio(r float64) string {
	if r == 0 {
		return "—"
	}
	if r < 0.1 {
		return fmt.Sprintf("1/%.0f", 1/r)
	}
	return fmt.Sprintf("%.2f", r)
}

// print writes the table, the goals and the notes.
func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nmachine: %d CPUs, kernel %s, %s; load average %s at start, %s at end\n", r.Machine.CPUs, r.Machine.Kernel, r.Machine.GoVersion, r.Machine.LoadStart, r.Machine.LoadEnd)
	fmt.Fprintf(w, "size: %d routers, %d ports on %d networks, %d rules per group in %d groups; scale variant: %d members, %d FIPs; %d repetitions (median [min–max])\n\n",
		r.Size.Routers, r.Size.Ports, r.Size.Networks, r.Size.Rules, r.Size.Groups, r.Size.Members, r.Size.FIPs, r.Reps)
	rows := [][]string{{"scenario", "Neutrino", "A: process per op", "B: ip -batch + nft -f", "N/A", "N/B"}}
	for _, s := range r.Scenarios {
		title := s.Title
		rows = append(rows, []string{title, cell(s.Neutrino, s.Unit), cellProcs(s.BaseA, s.Unit), cellProcs(s.BaseB, s.Unit), ratio(s.RatioA), ratio(s.RatioB)})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for i, row := range rows {
		var b strings.Builder
		for j, c := range row {
			pad := widths[j] - len([]rune(c))
			if j == 0 {
				b.WriteString(c + strings.Repeat(" ", pad))
			} else {
				b.WriteString("  " + strings.Repeat(" ", pad) + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i == 0 {
			fmt.Fprintln(w, strings.Repeat("-", len([]rune(b.String()))))
		}
	}
	fmt.Fprintln(w)
	for _, s := range r.Scenarios {
		if s.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", s.Title, s.Note)
		}
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "\nwhere Neutrino's time goes: the reference run, each realizer alone, in the agent's order (wall ms / CPU ms):")
		fds := 0
		for _, doc := range []string{"base", "plus", "destroy", "scale", "scale1", "scale2"} {
			var parts []string
			for _, t := range r.Steps[doc] {
				parts = append(parts, fmt.Sprintf("%s %.1f/%.1f", t.Realizer, t.Millis, t.CPUMillis))
				fds = max(fds, t.FDs)
			}
			fmt.Fprintf(w, "  %-8s %s\n", doc, strings.Join(parts, ", "))
		}
		fmt.Fprintf(w, "  (at most %d file descriptors open)\n", fds)
	}
	fmt.Fprintln(w, "\ngoals (ARCHITECTURE.md section 8):")
	for _, g := range r.Goals {
		mark := "met   "
		if !g.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  [%s] %s: %s\n", mark, g.Goal, g.Figure)
	}
}

func cellProcs(s *summary, unit string) string {
	c := cell(s, unit)
	if s != nil && s.Procs > 0 {
		c += fmt.Sprintf(" (%d procs)", s.Procs)
	}
	return c
}

// count writes 10000 as 10k.
func count(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
