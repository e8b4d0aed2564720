// Package loadbalancer models Octavia's v2 objects — load balancers,
// listeners, pools, members, health monitors, L7 policies and rules — and
// realizes them on a node without a process or VM per load balancer.
//
// # Model
//
// The document's collections are Octavia's names: loadbalancers,
// listeners, pools, members (a collection of its own with our pool_id
// field: Octavia nests members under their pool's URL), healthmonitors and
// l7policies (with their rules inline). A load balancer's VIP is a Neutron
// port (vip_port_id, device_owner "Octavia" or "neutron:LOADBALANCERV2")
// whose binding:host_id schedules it, Neutron's way. Desired.Validate
// checks every object and reference with field paths; values Octavia
// accepts that Neutrino does not realize (HTTPS and TERMINATED_HTTPS
// listeners, PROXY pools, APP_COOKIE, SOURCE_IP_PORT, TLS and UDP-CONNECT
// monitors, IPv6 VIPs and members, members on another network than the
// VIP's) are refused with errors.ErrUnsupported and their path.
//
// # What a node holds
//
// Per load balancer, a namespace <node-prefix>qlbaas-<lb-id> (Neutron's
// LBaaS naming) holding the VIP port: a veth pair whose host end,
// tap<port11>, joins the VIP network's bridge, and whose namespace end,
// ns-<port11>, carries the port's MAC and the VIP address, a default route
// via the subnet's gateway (so a floating IP on the VIP works through the
// router) and forwarding on. Both ends carry the ownership alias
// "neutrino:lb-port:<port-id>".
//
// TCP and UDP listeners balanced by ROUND_ROBIN or SOURCE_IP without a
// connection limit run in the kernel, in the namespace's own table
// "inet neutrino-lb": a prerouting verdict map from protocol and port to a
// chain per listener, whose one rule DNATs through a map of slots to member
// address and port — "numgen inc mod N" for weighted round robin (a member
// holds weight/gcd slots, interleaved), "jhash ip saddr mod N" for
// SOURCE_IP — and a postrouting masquerade of DNATed flows, so replies come
// back through the load balancer as with haproxy. A member joining or
// leaving (by the document or by its health) changes map elements, and the
// modulus if the slot count changes, in one nftables transaction.
//
// HTTP listeners, and TCP listeners that need per-connection state
// (LEAST_CONNECTIONS, connection_limit), are served by the in-process
// proxy (package proxy): one per realizer, its sockets opened inside each
// load balancer's namespace. Health monitors run in-process too (package
// health); their verdicts feed both the kernel maps and the proxy.
//
// The proxy and the health checker open their sockets inside the load
// balancer's namespace through namespace.Handle.Do (a socket has no
// namespace option); a connect waits on the thread Do locked, so each
// check or member connection in progress holds a thread while it connects.
//
// The kernel path does not depend on the process: while the agent
// restarts, TCP and UDP listeners keep balancing; a new Realizer takes the
// node over with zero mutations and starts the proxy's listeners and the
// monitors again (monitors start with every member in rotation, as
// haproxy's servers do).
//
// # Status
//
// Apply's Report carries, beside the mutation counts of every realizer,
// each load balancer's provisioning_status (ACTIVE, or ERROR when realizing
// it failed) and operating_status, and each member's operating_status:
// NO_MONITOR, OFFLINE (admin down, or not checked yet), ONLINE or ERROR.
//
// Realizer.Status gives the same statuses live, between Applies: a
// member's operating_status follows its checks as they run.
//
// # Deviations
//
// The VIP port is an ordinary bound port to the other realizers: the
// security-group realizer applies its port security and security groups to
// its host end, as Neutron does to an Octavia VIP port, so a document must
// give the VIP port security groups that admit the listeners' ports (or
// port_security_enabled false). No gratuitous ARP is sent when a VIP
// appears (the router realizer's GARP is not shared yet): neighbours learn
// the VIP's MAC on their next ARP.
//
// The L4 path translates the client's connections to the members from the
// VIP address (masquerade), as haproxy does, so members see the load
// balancer as the client. Source-IP stickiness is a hash over the slots in
// rotation: it holds while the rotation is unchanged (haproxy's stick table
// survives changes; nftables has no per-client memory without conntrack
// state per source, which the kernel keeps only per flow).
//
// Timeouts: an HTTP listener's timeout_client_data is the idle time allowed
// between a client's requests, timeout_member_connect bounds a connect to a
// member and timeout_member_data the whole exchange with it (haproxy's are
// inactivity timeouts). TCP connections relayed by the proxy have no idle
// timeout; kernel-balanced ones follow conntrack's. A disabled load
// balancer keeps its namespace and VIP (Neutron's driver removed the
// namespace) and serves no listener.
package loadbalancer
