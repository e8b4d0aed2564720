// Package nflog reads packets that nftables `log group N` statements send
// to user space (nfnetlink_log), in any network namespace, over a netlink
// socket: no libnetfilter_log, no process per namespace. The firewall
// realizer and the security group realizer read their flow logs with it.
//
// A Reader binds one group in one namespace, asks the kernel to copy the
// first bytes of each packet (enough for the IP and transport headers) and
// hands each packet's prefix, payload and timestamp to a callback on its
// own goroutine. Closing the socket unbinds the group.
package nflog
