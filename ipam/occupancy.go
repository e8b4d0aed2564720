package ipam

import (
	"math/bits"
	"slices"
)

// occupancy is the set of taken offsets 0..span of one allocation pool. It
// finds the lowest free offset, takes one and frees one in O(log64 size): a
// 64-ary tree whose nodes keep one bit per child meaning "no free offset in
// there", so the search follows the first clear bit down. Three levels cover
// an IPv4 /16, eleven an IPv6 /64.
//
// Nothing is materialized for free space: subtrees appear as offsets are
// taken and vanish when they are entirely free again, so memory follows the
// reservations, never the pool size. A subtree with few taken offsets is a
// short sorted list rather than 64 children, so the scattered addresses
// SLAAC produces in a /64 cost a list entry each, not a chain of nodes.
type occupancy struct {
	root *node
	top  int  // level of the root; a leaf (level 0) holds 64 offsets as bits
	span u128 // the largest offset; everything above is outside the pool
}

// sparseMax is how many taken offsets a subtree lists before it becomes 64
// children: small enough that scanning the list costs about what descending
// one level does.
const sparseMax = 32

// A node covers 64^(level+1) offsets and is one of three kinds:
//   - leaf (level 0): bit i of full is offset i;
//   - sparse (kids == nil): taken lists the taken offsets, sorted; full is 0
//     because a list never holds a whole subtree;
//   - dense: bit i of full says child i has no free offset; kids[i] is nil
//     when that child is wholly free. A full child is kept, not folded into
//     the bit: under churn it would be rebuilt on every release.
type node struct {
	full  uint64
	kids  *[64]*node
	taken []u128
}

func newOccupancy(span u128) *occupancy {
	top := 0
	if n := span.bitLen(); n > 6 {
		top = (n+5)/6 - 1
	}
	return &occupancy{root: &node{}, top: top, span: span}
}

// firstFree is the lowest free offset, false when all of 0..span are taken.
func (o *occupancy) firstFree() (u128, bool) {
	off, ok := o.root.firstFree(o.top, u128{})
	if !ok || off.cmp(o.span) > 0 {
		return u128{}, false
	}
	return off, true
}

// take marks off taken and reports whether it was free.
func (o *occupancy) take(off u128) bool { return o.root.take(o.top, off) }

// free marks off free and reports whether it was taken.
func (o *occupancy) free(off u128) bool { return o.root.free(o.top, off) }

func digit(off u128, level int) int { return int(off.shr(uint(6*level)).lo & 63) }

func (n *node) firstFree(level int, base u128) (u128, bool) {
	if level > 0 && n.kids == nil {
		// taken is sorted and starts at or above base: the first gap is free,
		// and there is one because a list is shorter than the subtree.
		cand := base
		for _, t := range n.taken {
			if t != cand {
				break
			}
			cand, _ = cand.inc()
		}
		return cand, true
	}
	free := ^n.full
	if free == 0 {
		return u128{}, false
	}
	i := u128{lo: uint64(bits.TrailingZeros64(free))}
	if level == 0 {
		return base.or(i), true
	}
	base = base.or(i.shl(uint(6 * level)))
	if c := n.kids[i.lo]; c != nil {
		return c.firstFree(level-1, base)
	}
	return base, true
}

func (n *node) take(level int, off u128) bool {
	switch {
	case level == 0:
		bit := uint64(1) << (off.lo & 63)
		if n.full&bit != 0 {
			return false
		}
		n.full |= bit
		return true
	case n.kids == nil:
		i, found := slices.BinarySearchFunc(n.taken, off, u128.cmp)
		if found {
			return false
		}
		n.taken = slices.Insert(n.taken, i, off)
		if len(n.taken) > sparseMax {
			n.densify(level)
		}
		return true
	}
	return n.takeInChild(level, off)
}

func (n *node) takeInChild(level int, off u128) bool {
	i := digit(off, level)
	bit := uint64(1) << i
	if n.full&bit != 0 {
		return false
	}
	c := n.kids[i]
	if c == nil {
		c = &node{}
		n.kids[i] = c
	}
	if !c.take(level-1, off) {
		return false
	}
	if c.isFull(level - 1) {
		n.full |= bit
	}
	return true
}

func (n *node) densify(level int) {
	taken := n.taken
	n.taken, n.kids = nil, new([64]*node)
	for _, t := range taken {
		n.takeInChild(level, t)
	}
}

func (n *node) free(level int, off u128) bool {
	switch {
	case level == 0:
		bit := uint64(1) << (off.lo & 63)
		if n.full&bit == 0 {
			return false
		}
		n.full &^= bit
		return true
	case n.kids == nil:
		i, found := slices.BinarySearchFunc(n.taken, off, u128.cmp)
		if !found {
			return false
		}
		n.taken = slices.Delete(n.taken, i, i+1)
		return true
	}
	i := digit(off, level)
	bit := uint64(1) << i
	c := n.kids[i]
	if c == nil {
		return false // the whole child is free
	}
	if !c.free(level-1, off) {
		return false
	}
	n.full &^= bit
	if c.isEmpty(level - 1) {
		n.kids[i] = nil
	}
	return true
}

func (n *node) isFull(level int) bool {
	return n.full == ^uint64(0) && (level == 0 || n.kids != nil)
}

func (n *node) isEmpty(level int) bool {
	switch {
	case level == 0:
		return n.full == 0
	case n.kids == nil:
		return len(n.taken) == 0
	}
	return n.full == 0 && *n.kids == [64]*node{}
}
