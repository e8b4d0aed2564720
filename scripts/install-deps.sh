#!/usr/bin/env bash
# Installs what Neutrino's tests, demo and benchmarks use on a Debian machine:
# the third-party peers of the interop tests (DHCP clients and a rogue DHCP
# server, a BGP daemon, a VRRP daemon (keepalived), the nft tool, socat, ping), the baselines of the
# node-scale bench (ip, nft, dnsmasq) and, with --bench, Kea's perfdhcp for
# the DHCP benchmark and iperf3 for the firewall throughput benchmark.
# Idempotent: packages already present are skipped, `apt-get update` runs at
# most once. Needs root.
set -euo pipefail

want=(
  nftables:nft iproute2:ip iputils-ping:ping isc-dhcp-client:dhclient
  udhcpc:udhcpc busybox:busybox gobgpd:gobgpd socat:socat conntrack:conntrack
  tcpdump:tcpdump dnsmasq-base:dnsmasq procps:sysctl util-linux:nsenter ndisc6:rdisc6
  keepalived:keepalived
)
if [[ "${1:-}" == "--bench" ]]; then
  want+=(kea-admin:perfdhcp iperf3:iperf3)
fi

missing=()
for pair in "${want[@]}"; do
  pkg=${pair%%:*} cmd=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd || -x /sbin/$cmd ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${missing[*]}; run as root to install them (privileged tests skip without them)" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
