package namespace_test

import (
	"errors"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/namespace"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "qrouter-8a6b1c2d", "qdhcp-1", "a.b", "..a", "x y"} {
		if err := namespace.CheckName(ok); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "/a", "a\x00b"} {
		if err := namespace.CheckName(bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("checkName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSysctlPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":                  "/proc/sys/net/ipv4/ip_forward",
		"net/ipv4/ip_forward":                  "/proc/sys/net/ipv4/ip_forward",
		"net.ipv6.conf.all.disable_ipv6":       "/proc/sys/net/ipv6/conf/all/disable_ipv6",
		"net/ipv4/conf/eth0.100/rp_filter":     "/proc/sys/net/ipv4/conf/eth0.100/rp_filter", // a VLAN device's name has a dot
		"net/ipv6/conf/qr-8a6b1c2d/forwarding": "/proc/sys/net/ipv6/conf/qr-8a6b1c2d/forwarding",
	} {
		got, err := namespace.SysctlPath(key)
		if err != nil || got != want {
			t.Errorf("sysctlPath(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, bad := range []string{"", "net", "net.", "kernel.hostname", "vm/swappiness", "net/../kernel/hostname",
		"net/ipv4/conf/../../../kernel/x", "net//ipv4", "netfoo/x", "/net/ipv4/ip_forward"} {
		if _, err := namespace.SysctlPath(bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("sysctlPath(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestManagerNames(t *testing.T) {
	m := namespace.NewManager("n1-")
	if m.Prefix() != "n1-" || m.FullName("qrouter-1") != "n1-qrouter-1" || m.Path("qrouter-1") != namespace.RunDir+"/n1-qrouter-1" {
		t.Fatalf("names: %q %q %q", m.Prefix(), m.FullName("qrouter-1"), m.Path("qrouter-1"))
	}
	var zero namespace.Manager
	if zero.Path("x") != namespace.RunDir+"/x" {
		t.Fatalf("zero Manager path %q", zero.Path("x"))
	}
}
