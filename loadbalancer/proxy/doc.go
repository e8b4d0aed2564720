// Package proxy is the load balancer's in-process proxy: one per agent,
// serving the listeners that the kernel cannot balance alone — HTTP
// listeners (X-Forwarded-For/-Proto, L7 policies, HTTP_COOKIE persistence)
// and TCP listeners with LEAST_CONNECTIONS or a connection_limit. Its
// listening sockets and its connections to members are opened through a
// Net bound to each load balancer's namespace; once open, a socket is
// served from any goroutine.
//
// HTTP is served by a loop per client connection over kept-alive member
// connections (see http.go for why not net/http's server and Transport);
// protocol upgrades (WebSocket) are not proxied.
//
// A configuration change (members leaving rotation, a new L7 policy) swaps
// the listener's state atomically: requests in flight finish with the state
// they started with, the next ones see the new one. A listener is
// rebound only when its address, mode or connection limit changes.
//
// Connection limits work as haproxy's maxconn does: beyond the limit the
// proxy stops accepting, and clients wait in the kernel's backlog.
package proxy
