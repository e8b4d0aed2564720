package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// udhcpcScript configures the instance from its lease, as a distribution's
// DHCP client script would, and saves the lease variables for the report.
// Classless static routes (option 121) replace the router option (RFC 3442).
const udhcpcScript = `#!/bin/sh
case "$1" in
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/$mask" dev "$interface"
  [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
  if [ -n "$staticroutes" ]; then
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
  elif [ -n "$router" ]; then
    ip route replace default via "${router%% *}" dev "$interface"
  fi
  env | grep -E '^(ip|mask|router|dns|domain|mtu|lease|hostname|staticroutes|serverid)=' > "$LEASEFILE"
  ;;
esac
exit 0
`

// lease is what an instance's DHCP client received.
type lease map[string]string

// dhcpLease runs busybox udhcpc in the instance until it holds a lease.
func dhcpLease(w *world, vm string) (lease, error) {
	script := filepath.Join(w.dir, "udhcpc.sh")
	if err := os.WriteFile(script, []byte(udhcpcScript), 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(w.dir, vm+".lease")
	cmd := w.command(bgContext(20*time.Second), vm, "busybox", "udhcpc", "-f", "-q", "-n", "-t", "8", "-T", "1", "-i", "eth0", "-s", script)
	cmd.Env = append(os.Environ(), "LEASEFILE="+file)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("udhcpc in %s: %v: %s", vm, err, strings.TrimSpace(string(out)))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	l := lease{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			l[k] = v
		}
	}
	return l, nil
}
