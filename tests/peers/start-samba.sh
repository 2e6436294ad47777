#!/bin/bash
# Throwaway Samba AD DC on loopback.
# usage: start-samba.sh DIR [PORT [IP [--provision-only]]]
#   DIR  : state directory (created; provisioned on first use, reused afterwards)
#   PORT : LDAP port. Samba 4.17 hard-codes LDAP 389 / LDAPS 636 / GC 3268,3269;
#          only 389 is accepted. Isolate parallel instances by IP instead.
#   IP   : loopback address to bind (default 127.0.0.1; any 127.x works, no lo alias
#          needed because it is written as "interfaces = IP/8").
# Prints the PID of the main samba process (also in DIR/server.pid). Stop: stop.sh DIR
# Env: SAMBA_TEMPLATE (provisioned+stopped DIR to clone instead of provisioning), SAMBA_ADMINPASS (default Passw0rd!Test1), SAMBA_REALM (EXAMPLE.TEST),
#      SAMBA_DOMAIN (EXAMPLE), SAMBA_SERVICES (default "ldap" ; add kdc for Kerberos)
# Test-only settings written to smb.conf: simple bind over plain LDAP allowed
# (ldap server require strong auth = no), ldb:nosync = true (~2x faster writes), 2 prefork workers.
# Needs root (binds 389; provision chowns/ACLs sysvol and fails as non-root).
set -euo pipefail
DIR=${1:?usage: start-samba.sh DIR [PORT [IP]]}
PORT=${2:-389}
IP=${3:-127.0.0.1}
REALM=${SAMBA_REALM:-EXAMPLE.TEST}
DOMAIN=${SAMBA_DOMAIN:-EXAMPLE}
PASS=${SAMBA_ADMINPASS:-Passw0rd!Test1}
SERVICES=${SAMBA_SERVICES:-ldap}
[ "$PORT" = 389 ] || { echo "samba: LDAP port is fixed at 389 (got $PORT); use a different 127.x IP" >&2; exit 2; }
case "$IP" in 127.*) ;; *) echo "refusing non-loopback IP $IP" >&2; exit 2;; esac
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
CONF=$DIR/etc/smb.conf

# Fast path (~0.5 s instead of ~5 s): clone a stopped, already provisioned DIR given in
# SAMBA_TEMPLATE. Only smb.conf holds absolute paths. Clones share domain SID/GUIDs.
# When SAMBA_TEMPLATE names a directory that does not hold a template yet, it is
# provisioned once (under a lock, so parallel callers wait) and reused afterwards.
if [ -n "${SAMBA_TEMPLATE:-}" ] && [ ! -f "$SAMBA_TEMPLATE/etc/smb.conf" ] && [ ! -f "$CONF" ]; then
  mkdir -p "$(dirname "$SAMBA_TEMPLATE")"
  (
    flock 9
    if [ ! -f "$SAMBA_TEMPLATE/etc/smb.conf" ]; then
      TMPL_NEW="$SAMBA_TEMPLATE.new.$$"
      rm -rf "$TMPL_NEW"
      SAMBA_TEMPLATE= "$0" "$TMPL_NEW" "$PORT" "$IP" --provision-only
      rm -rf "$SAMBA_TEMPLATE"; mv "$TMPL_NEW" "$SAMBA_TEMPLATE"
      sed -i "s#$TMPL_NEW#$SAMBA_TEMPLATE#g" "$SAMBA_TEMPLATE/etc/smb.conf"
      echo "$SAMBA_TEMPLATE" >"$SAMBA_TEMPLATE/origdir"
    fi
  ) 9>"$SAMBA_TEMPLATE.lock"
fi
if [ ! -f "$CONF" ] && [ -n "${SAMBA_TEMPLATE:-}" ] && [ -f "$SAMBA_TEMPLATE/etc/smb.conf" ]; then
  cp -a "$SAMBA_TEMPLATE/." "$DIR/"; rm -f "$DIR/server.pid"
  sed -i -e "s#$(cat "$SAMBA_TEMPLATE/origdir")#$DIR#g" \
         -e "s#^\tinterfaces = .*#\tinterfaces = $IP/8#" "$CONF"
  echo "$DIR" >"$DIR/origdir"
fi
if [ ! -f "$CONF" ]; then
  BASEDN=DC=${REALM//./,DC=}
  samba-tool domain provision --targetdir="$DIR" --realm="$REALM" --domain="$DOMAIN" \
    --server-role=dc --dns-backend=NONE --use-rfc2307 --host-name=dc1 \
    --adminpass="$PASS" --option="interfaces=$IP/8" --option="bind interfaces only=yes" \
    >"$DIR/provision.log" 2>&1 || { tail -20 "$DIR/provision.log" >&2; exit 1; }
  mkdir -p "$DIR/cache" "$DIR/log" "$DIR/run"
  # provision does not persist every --option; rewrite the knobs we care about
  sed -i -e "s#^\tlog file = .*#\tlog file = $DIR/log/log.samba#" \
         -e "s#^\tserver services = .*#\tserver services = $SERVICES#" "$CONF"
  sed -i "/^\[global\]/a\\
\tldap server require strong auth = no\\
\tpid directory = $DIR/run\\
\tntp signd socket directory = $DIR/run/ntp_signd\\
\twinbindd socket directory = $DIR/run/winbindd\\
\tprefork children = 2\\
\tldb:nosync = true\\
\tlog level = 1" "$CONF"
  echo "$BASEDN" >"$DIR/basedn"; echo "$DIR" >"$DIR/origdir"
fi
[ "${4:-}" = --provision-only ] && exit 0
if [ -f "$DIR/server.pid" ] && kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
  echo "already running: $(cat "$DIR/server.pid")" >&2; exit 1
fi

setsid samba -F --no-process-group -s "$CONF" </dev/null >"$DIR/log/samba.stdout" 2>&1 &
PID=$!
echo "$PID" >"$DIR/server.pid"; echo TERM >"$DIR/stop.signal"
for _ in $(seq 1 300); do   # up to 30 s
  if ldapsearch -x -LLL -H "ldap://$IP:389" -D "Administrator@$REALM" -w "$PASS" \
       -b '' -s base defaultNamingContext >/dev/null 2>&1; then echo "$PID"; exit 0; fi
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
echo "samba did not come up; see $DIR/log" >&2; tail -20 "$DIR/log/samba.stdout" >&2
kill -TERM "$PID" 2>/dev/null || true; exit 1
