package nft

import (
	"fmt"

	"github.com/google/nftables"
)

// ChunkSize is the most elements QueueElements puts in one netlink message.
// Far below both the library's 64 KiB split and the ~2,047 elements at which
// a single message used to be truncated silently.
const ChunkSize = 1000

// QueueElements queues on c the deletion of del, then the addition of add,
// in messages of at most ChunkSize elements, without flushing: the caller's
// next Flush commits them, with whatever else it queued, as one kernel
// transaction. An interval's end element is never separated from its start.
func QueueElements(c *nftables.Conn, set *nftables.Set, del, add []nftables.SetElement) error {
	for _, chunk := range chunks(del) {
		if err := c.SetDeleteElements(set, chunk); err != nil {
			return fmt.Errorf("set %s: queue %d deletions: %w", set.Name, len(chunk), err)
		}
	}
	for _, chunk := range chunks(add) {
		if err := c.SetAddElements(set, chunk); err != nil {
			return fmt.Errorf("set %s: queue %d additions: %w", set.Name, len(chunk), err)
		}
	}
	return nil
}

// AddElements adds elems to set and flushes c: everything queued on c so
// far and all the chunks commit atomically, or nothing does.
func AddElements(c *nftables.Conn, set *nftables.Set, elems []nftables.SetElement) error {
	return queueAndFlush(c, set, nil, elems)
}

// DeleteElements deletes elems from set and flushes c, atomically like
// AddElements. Deleting an absent element fails the whole batch with an
// error wrapping errdefs.ErrNotFound.
func DeleteElements(c *nftables.Conn, set *nftables.Set, elems []nftables.SetElement) error {
	return queueAndFlush(c, set, elems, nil)
}

func queueAndFlush(c *nftables.Conn, set *nftables.Set, del, add []nftables.SetElement) error {
	if err := QueueElements(c, set, del, add); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("set %s: commit -%d +%d elements: %w", set.Name, len(del), len(add), Err(err))
	}
	return nil
}

// VerifyCount reads set back from the kernel and returns how many elements
// it stores, for comparison with the number sent (an interval is two
// elements, an open interval one).
func VerifyCount(c *nftables.Conn, set *nftables.Set) (int, error) {
	elems, err := c.GetSetElements(set)
	if err != nil {
		return 0, fmt.Errorf("set %s: read elements: %w", set.Name, Err(err))
	}
	return len(elems), nil
}

// ReadIntervals reads an interval set back as intervals, for diffing
// against the desired ones (DiffIntervals).
func ReadIntervals(c *nftables.Conn, set *nftables.Set) ([]Interval, error) {
	elems, err := c.GetSetElements(set)
	if err != nil {
		return nil, fmt.Errorf("set %s: read elements: %w", set.Name, Err(err))
	}
	ivs, err := ElementIntervals(elems)
	if err != nil {
		return nil, fmt.Errorf("set %s: %w", set.Name, err)
	}
	return ivs, nil
}

// chunks splits elems into runs of at most ChunkSize, cutting before an
// interval's start rather than between its start and end element.
func chunks(elems []nftables.SetElement) [][]nftables.SetElement {
	var out [][]nftables.SetElement
	for len(elems) > 0 {
		n := min(ChunkSize, len(elems))
		if n < len(elems) && elems[n].IntervalEnd && n > 1 {
			n--
		}
		out = append(out, elems[:n:n])
		elems = elems[n:]
	}
	return out
}
