// Package nodestate shares what several realizers read of the host within
// one agent pass, so that the node is read once rather than once per
// realizer.
//
// Today that is the host's link dump: the network, port and DHCP realizers
// each need every link of the host namespace, and at 1,600 links a dump
// costs ~20 ms of CPU. The agent puts a Pass in the context of its
// realizers' Apply and Plan calls; the first realizer that asks for the
// links dumps them, the next ones reuse that dump, and the agent
// invalidates it after a realizer that changed (or may have changed) the
// node. A realizer used on its own, without a Pass in its context, dumps
// for itself. The shared dump is read-only: realizers build their own maps
// from it and never modify the links.
package nodestate
