package ipam

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// occModel is the obvious implementation occupancy must agree with.
type occModel struct {
	span  u128
	taken map[u128]bool
}

func (m *occModel) firstFree() (u128, bool) {
	for off := (u128{}); off.cmp(m.span) <= 0; off, _ = off.inc() {
		if !m.taken[off] {
			return off, true
		}
	}
	return u128{}, false
}

// checkOps runs ops (take or free of small offsets, or of offsets near the
// top of the span) against occupancy and the model, comparing after each.
func checkOps(t *testing.T, span u128, ops []byte) {
	t.Helper()
	o, m := newOccupancy(span), &occModel{span: span, taken: map[u128]bool{}}
	for len(ops) >= 3 {
		op, raw := ops[0], u128{lo: uint64(binary.LittleEndian.Uint16(ops[1:3]))}
		ops = ops[3:]
		off := raw
		if op&2 != 0 && span.cmp(raw) >= 0 { // the top end, where partial subtrees live
			off = span.sub(raw)
		}
		if off.cmp(span) > 0 {
			continue
		}
		if op&1 == 0 {
			require.Equal(t, !m.taken[off], o.take(off), "take %v", off)
			m.taken[off] = true
		} else {
			require.Equal(t, m.taken[off], o.free(off), "free %v", off)
			delete(m.taken, off)
		}
		if span.hi == 0 && span.lo < 1<<16 { // the model scans; keep it cheap
			wantOff, wantOK := m.firstFree()
			gotOff, gotOK := o.firstFree()
			require.Equal(t, wantOK, gotOK)
			require.Equal(t, wantOff, gotOff)
		}
	}
}

func TestOccupancyAgreesWithModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, span := range []u128{{lo: 0}, {lo: 1}, {lo: 62}, {lo: 63}, {lo: 64}, {lo: 200}, {lo: 4095}, {lo: 4096}, {lo: 9000}} {
		for range 20 {
			ops := make([]byte, 3*2000)
			for i := range ops {
				ops[i] = byte(r.Uint32())
			}
			// Bias offsets into the span so it fills up and empties again.
			for i := 1; i < len(ops); i += 3 {
				v := r.Uint64N(span.lo + 1)
				binary.LittleEndian.PutUint16(ops[i:], uint16(v))
			}
			checkOps(t, span, ops)
		}
	}
}

func TestOccupancyFillsAndDrainsCompletely(t *testing.T) {
	span := u128{lo: 64*64*3 + 17}
	o := newOccupancy(span)
	for want := (u128{}); want.cmp(span) <= 0; want, _ = want.inc() {
		got, ok := o.firstFree()
		require.True(t, ok)
		require.Equal(t, want, got)
		require.True(t, o.take(got))
	}
	_, ok := o.firstFree()
	require.False(t, ok, "a full pool has nothing free")
	require.Equal(t, uint64(0b111), o.root.full, "full subtrees are marked in their parent")

	// Free in reverse: each release becomes the lowest free offset.
	for off := span; ; off = off.sub(u128{lo: 1}) {
		require.True(t, o.free(off))
		got, ok := o.firstFree()
		require.True(t, ok)
		require.Equal(t, off, got)
		if off.isZero() {
			break
		}
	}
	require.True(t, o.root.isEmpty(o.top), "an empty pool keeps no subtrees")
}

func TestOccupancyOfASlash64StaysSparse(t *testing.T) {
	span := u128{lo: ^uint64(0) - 1} // 2001:db8::1 to 2001:db8::ffff:ffff:ffff:ffff
	o := newOccupancy(span)
	require.Equal(t, 10, o.top)
	r := rand.New(rand.NewPCG(3, 4))
	var offs []u128
	for range 5000 {
		off := u128{lo: r.Uint64N(span.lo)}
		if o.take(off) {
			offs = append(offs, off)
		}
	}
	slices.SortFunc(offs, u128.cmp)
	first, ok := o.firstFree()
	require.True(t, ok)
	want := u128{}
	for _, off := range offs {
		if off != want {
			break
		}
		want, _ = want.inc()
	}
	require.Equal(t, want, first)
	for _, off := range offs {
		require.True(t, o.free(off))
	}
	require.True(t, o.root.isEmpty(o.top))
	// Sequential allocation at the top of the span.
	for i := range uint64(300) {
		require.True(t, o.take(u128{lo: span.lo - i}))
	}
	require.True(t, o.take(u128{}))
	got, _ := o.firstFree()
	require.Equal(t, u128{lo: 1}, got)
}

func TestOccupancyOfTheWholeIPv6Space(t *testing.T) {
	u128Max := hostMask(128)
	o := newOccupancy(u128Max)
	require.Equal(t, 21, o.top)
	require.True(t, o.take(u128{}))
	require.True(t, o.take(u128Max))
	got, ok := o.firstFree()
	require.True(t, ok)
	require.Equal(t, u128{lo: 1}, got)
	require.False(t, o.take(u128Max))
	require.True(t, o.free(u128Max))
}

func FuzzOccupancy(f *testing.F) {
	f.Add(uint16(63), []byte{0, 1, 0, 1, 1, 0})
	f.Add(uint16(4096), []byte{2, 0, 0, 0, 0, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, span uint16, ops []byte) {
		checkOps(t, u128{lo: uint64(span)}, ops)
	})
}
