#!/bin/sh
# Start the syslog and sendmail as a Debian host would at boot, then report ready
# once sendmail answers on port 25.
set -u
# The LAN's router is the way out (LAB_GATEWAY, set by labenv).
if [ -n "${LAB_GATEWAY:-}" ]; then
  ip route replace default via "$LAB_GATEWAY" || echo "labenv: cannot route via $LAB_GATEWAY" >&2
fi
rm -f /run/rsyslogd.pid
rsyslogd
# sendmail asks DNS about its own name as it starts and, without an answer, waits
# many seconds: the router (the LAN's DNS) may be starting at the same moment.
if [ -n "${LAB_GATEWAY:-}" ]; then
  i=0
  until timeout 1 nc -z "$LAB_GATEWAY" 53 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 300 ]; then
      echo "labenv: no DNS at $LAB_GATEWAY yet; sendmail may start slowly" >&2
      break
    fi
    sleep 0.05
  done
fi
/etc/init.d/sendmail start >/var/log/sendmail-start.log 2>&1
i=0
until printf 'QUIT\r\n' | nc -w 2 127.0.0.1 25 2>/dev/null | grep -q '^220 '; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then
    echo "labenv: sendmail did not answer on port 25" >&2
    cat /var/log/sendmail-start.log >&2
    exit 1
  fi
  sleep 0.1
done
echo "labenv: mailserver ready"
exec sleep infinity
