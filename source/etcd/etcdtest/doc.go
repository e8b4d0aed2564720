// Package etcdtest runs a real etcd server for tests: Debian's etcd-server
// binary, started as a child process on 127.0.0.1 with free ports and a
// temporary data directory, and stopped by its PID when the test ends. It
// also runs a 3-member cluster on loopback (StartCluster), a member inside a
// test's network namespace (StartIn), a TLS member with a throwaway PKI
// (StartTLS), and a TCP proxy that can cut a client off (Proxy). Tests skip,
// naming the missing binary, where it is not installed
// (scripts/install-deps.sh installs it). It is public, like net/http/httptest,
// so that embedders' tests and the etcd-sim command can start one too.
package etcdtest
