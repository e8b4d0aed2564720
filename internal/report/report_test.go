package report

import "testing"

func TestReportCountsAndLines(t *testing.T) {
	var r Report
	Add(&r, Create, "bridge", "brq1")
	AddN(&r, Update, "element", 3, "set x")
	Record(&r, Delete, "rule", 0, "nothing")
	var o Report
	Addf(&o, Delete, "link", "%s in %s", "qr-1", "ns")
	r.Merge(&o)
	r.Merge(nil)
	if r.Mutations() != 5 {
		t.Fatalf("mutations %d", r.Mutations())
	}
	want := []string{"create bridge brq1", "update element set x", "delete link qr-1 in ns"}
	if len(r.Changes) != len(want) {
		t.Fatalf("changes %q", r.Changes)
	}
	for i := range want {
		if r.Changes[i] != want[i] {
			t.Errorf("change %d: %q, want %q", i, r.Changes[i], want[i])
		}
	}
	if s := r.String(); s != "created bridge=1; updated element=3; deleted link=1" {
		t.Errorf("String: %q", s)
	}
	var nilRep *Report
	if nilRep.Mutations() != 0 || nilRep.String() != "no changes" || (&Report{}).String() != "no changes" {
		t.Error("empty reports")
	}
}
