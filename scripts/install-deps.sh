#!/usr/bin/env bash
# Installs what Neutrino's tests, demo and benchmarks use on a Debian machine:
# the third-party peers of the interop tests (DHCP clients and a rogue DHCP
# server, a BGP daemon, a VRRP daemon (keepalived), the nft tool, socat, ping, the etcd server that the
# etcd source and IPAM store tests start on loopback), the baselines of the
# node-scale bench (ip, nft, dnsmasq) and, with --bench, Kea's perfdhcp for
# the DHCP benchmark, haproxy, wrk and nginx for the load-balancer and metadata
# benchmarks.
# Idempotent: packages already present are skipped, `apt-get update` runs at
# most once. Needs root.
set -euo pipefail

want=(
  nftables:nft iproute2:ip iputils-ping:ping isc-dhcp-client:dhclient
  udhcpc:udhcpc busybox:busybox gobgpd:gobgpd socat:socat conntrack:conntrack
  tcpdump:tcpdump dnsmasq-base:dnsmasq procps:sysctl util-linux:nsenter ndisc6:rdisc6
  curl:curl
  etcd-server:etcd
  # VPNaaS: charon without a pid file (one per router namespace), swanctl
  # for the hand-configured peer, kernel-libipsec (user-space ESP for
  # kernels without ESP transforms) and the openssl/gcm algorithms.
  charon-systemd:charon-systemd strongswan-swanctl:swanctl
  libcharon-extra-plugins:/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so
  libstrongswan-standard-plugins:/usr/lib/ipsec/plugins/libstrongswan-openssl.so
  keepalived:keepalived
  # the QoS rate test measures with iperf3
  iperf3:iperf3
  # BGP graceful-restart interop with FRR's bgpd (run without zebra)
  frr:/usr/lib/frr/bgpd
)
if [[ "${1:-}" == "--bench" ]]; then
  want+=(kea-admin:perfdhcp)
  # load-balancer benchmark: haproxy (the baseline), wrk (the client),
  # nginx-light (the members)
  want+=(haproxy:haproxy wrk:wrk nginx-light:nginx)
fi

missing=()
for pair in "${want[@]}"; do
  pkg=${pair%%:*} cmd=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd || -x /sbin/$cmd || ( $cmd == /* && -e $cmd ) ]] || missing+=("$pkg")
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
