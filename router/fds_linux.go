package router

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/namespace"
)

// highFD is where the realizer moves the descriptors it keeps per router
// namespace (sysctl files, the notification socket). The nftables library
// waits for replies with select(2) and panics on a socket numbered 1024 or
// more (google/nftables#352); descriptors kept above that line leave the
// numbers below it to the sockets that library opens. Go raises the soft
// open-file limit to the hard one at start-up, so the numbers are there.
const highFD = 4096

// moveHigh returns a duplicate of fd numbered highFD or above, closing fd;
// where the limit does not allow it, fd itself.
func moveHigh(fd int) int {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, highFD)
	if err != nil {
		return fd
	}
	_ = unix.Close(fd)
	return nfd
}

// routerSysctls are the sysctls Neutron's L3 agent sets in a router
// namespace (namespaces.Namespace.create and ip_lib's netns add).
var routerSysctls = []struct{ key, value string }{
	{"net.ipv4.ip_forward", "1"},
	{"net.ipv4.conf.all.arp_ignore", "1"},   // answer ARP only for addresses of the incoming interface
	{"net.ipv4.conf.all.arp_announce", "2"}, // always use the best local source address
	{"net.ipv4.conf.all.promote_secondaries", "1"},
	{"net.ipv6.conf.all.forwarding", "1"},
	{"net.netfilter.nf_conntrack_tcp_be_liberal", "1"}, // tolerate TCP window-scaling problems
}

func sysctlFile(key string) string { return "/proc/sys/" + strings.ReplaceAll(key, ".", "/") }

// sysctlFiles are a namespace's router sysctls, opened once. A /proc/sys/net
// file shows the namespace of the thread that opened it, so the files are
// opened inside the namespace and then read and written from anywhere,
// without entering it again: opening six proc files costs a pass more than
// everything else it reads.
type sysctlFiles []int // per routerSysctls; -1 where the kernel has no such key

func openSysctls(ns *namespace.Handle) (sysctlFiles, error) {
	fds := make(sysctlFiles, len(routerSysctls))
	for i := range fds {
		fds[i] = -1
	}
	err := ns.Do(func() error {
		for i, s := range routerSysctls {
			fd, err := unix.Open(sysctlFile(s.key), unix.O_RDWR|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ENOENT) {
				continue // IPv6 disabled on the node, say: never written
			}
			if err != nil {
				return &os.PathError{Op: "open", Path: sysctlFile(s.key), Err: err}
			}
			fds[i] = moveHigh(fd)
		}
		return nil
	})
	if err != nil {
		fds.close()
		return nil, fmt.Errorf("open sysctls: %w", err)
	}
	return fds, nil
}

func (f sysctlFiles) close() {
	for _, fd := range f {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
}

// read returns the values of the keys the kernel has.
func (f sysctlFiles) read() (map[string]string, error) {
	out := make(map[string]string, len(routerSysctls))
	var buf [64]byte
	for i, s := range routerSysctls {
		if f[i] < 0 {
			continue
		}
		n, err := unix.Pread(f[i], buf[:], 0)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.key, err)
		}
		out[s.key] = strings.TrimSpace(string(buf[:n]))
	}
	return out, nil
}

// write sets key to value.
func (f sysctlFiles) write(key, value string) error {
	for i, s := range routerSysctls {
		if s.key != key || f[i] < 0 {
			continue
		}
		if _, err := unix.Pwrite(f[i], []byte(value), 0); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
		}
		return nil
	}
	return fmt.Errorf("sysctl %s: not available", key)
}
