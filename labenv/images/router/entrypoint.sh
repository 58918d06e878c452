#!/bin/sh
# Configure forwarding, NAT, the ISP's port-25 block and DNS, then report ready.
# Environment: LAN_SUBNET, INTERNET_SUBNET (CIDR), HOST_RECORDS ("name=address ..."),
# MX_RECORDS ("domain=host ...").
set -eu
: "${LAN_SUBNET:?}" "${INTERNET_SUBNET:?}"
iface_for() {  # the interface whose address lies in the given subnet
  ip -o -4 route show "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1
}
# The Internet side is connected just after the container starts: wait for it.
i=0
while :; do
  LAN_IF=$(iface_for "$LAN_SUBNET")
  INET_IF=$(iface_for "$INTERNET_SUBNET")
  [ -n "$LAN_IF" ] && [ -n "$INET_IF" ] && break
  i=$((i + 1)); [ "$i" -gt 200 ] && break
  sleep 0.05
done
if [ -z "$LAN_IF" ] || [ -z "$INET_IF" ]; then
  echo "labenv: router is not on both networks ($LAN_SUBNET, $INTERNET_SUBNET)" >&2
  exit 1
fi
# Nothing leaves the lab: no default route, and only the Internet side is forwarded to.
ip route del default 2>/dev/null || true
# Home router: LAN hosts leave through NAT.
iptables -t nat -A POSTROUTING -s "$LAN_SUBNET" -o "$INET_IF" -j MASQUERADE
iptables -A FORWARD -i "$INET_IF" -o "$LAN_IF" -m state --state ESTABLISHED,RELATED -j ACCEPT
iptables -A FORWARD -i "$INET_IF" -o "$LAN_IF" -j REJECT --reject-with tcp-reset -p tcp
iptables -A FORWARD -i "$INET_IF" -o "$LAN_IF" -j DROP
iptables -A FORWARD -i "$LAN_IF" ! -d "$INTERNET_SUBNET" -j REJECT
iptables -N ISP
iptables -A FORWARD -i "$LAN_IF" -o "$INET_IF" -j ISP
echo "$LAN_IF $INET_IF" > /run/lab-ifaces
/usr/local/sbin/isp-block on >/dev/null
# DNS: the router answers for every name of the lab itself (HOST_RECORDS,
# MX_RECORDS) and NXDOMAIN for anything else: nothing is ever asked outside.
{
  echo "no-resolv"
  echo "no-hosts"
  echo "listen-address=$(ip -o -4 addr show "$LAN_IF" | awk '{print $4}' | cut -d/ -f1)"
  echo "bind-interfaces"
  for pair in ${HOST_RECORDS:-}; do
    echo "host-record=${pair%%=*},${pair#*=}"
  done
  for pair in ${MX_RECORDS:-}; do
    echo "mx-host=${pair%%=*},${pair#*=},10"
  done
  echo "address=/#/"
} > /etc/dnsmasq.conf
dnsmasq --conf-file=/etc/dnsmasq.conf --keep-in-foreground --log-facility=/var/log/dnsmasq.log &
echo "labenv: router ready (lan $LAN_IF, internet $INET_IF)"
wait
