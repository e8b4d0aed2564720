package network

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/nl"
)

// A process killed between creating a device and labelling it leaves a
// device under a temporary name: the next Apply removes it and creates the
// real one, instead of refusing a "foreign" device forever.
func TestRealizeSweepsUnfinishedCreations(t *testing.T) {
	l := lab.New(t)
	host := l.Namespace("host")
	leftover := nl.TempName(Owner)
	require.NoError(t, host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: leftover}}))
	foreign := nl.TempName("router") // another realizer's, left alone
	require.NoError(t, host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: foreign}}))

	r := newRealizer(t, host)
	d := Desired{Networks: []Network{{ID: netB, NetworkType: TypeLocal, MTU: 1400}}}
	rep := apply(t, r, d)
	assert.Equal(t, map[string]int{"unfinished": 1}, rep.Deleted)
	assert.Equal(t, map[string]int{"bridge": 1}, rep.Created)
	_, err := host.Netlink().LinkByName(leftover)
	assert.Error(t, err, "leftover swept")
	_, err = host.Netlink().LinkByName(foreign)
	assert.NoError(t, err, "another owner's temporary device survives")
	assert.Zero(t, apply(t, r, d).Mutations())
}
