// Package health runs Octavia health monitors in-process: one goroutine
// per monitored member, checking it every delay with a TCP connect, an
// HTTP request or an ICMP echo, through a Net that opens its sockets inside
// the load balancer's namespace. A member in rotation leaves it after
// max_retries_down failed checks in a row (Fall) and returns after
// max_retries successful ones (Rise); each change of rotation is reported
// through a callback, which the loadbalancer realizer turns into one
// nftables transaction (and a proxy configuration swap).
//
// A member starts in rotation, as haproxy's servers do, and its operating
// status is OFFLINE until its first check, then ONLINE or ERROR.
package health
