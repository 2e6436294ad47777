#!/bin/bash
# The one place that installs idsync's build and test dependencies (Debian 12): apt packages,
# then the SCIM test server's npm packages. Idempotent; does nothing (and no apt) when all is present.
# usage: scripts/deps.sh            (root, or a user with sudo; no stdin needed; CI=true is fine)
# env:   IDSYNC_SKIP_DEPS=1 skips everything (for machines provisioned another way).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "${IDSYNC_SKIP_DEPS:-0}" = 1 ] && { echo "deps: skipped (IDSYNC_SKIP_DEPS=1)"; exit 0; }

PACKAGES=(build-essential cmake pkg-config libldap-dev libsasl2-dev libsqlite3-dev sqlite3 libpq-dev libcurl4-openssl-dev
  libjansson-dev libsodium-dev libssl-dev libcmocka-dev ca-certificates curl
  jq bc python3 xxd procps openssl
  samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules samba-common-bin winbind krb5-user
  ldap-utils slapd postgresql)
# Node: the machine may already have a newer node (e.g. 20 from NodeSource); Debian's only if none.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps: not root and sudo is missing; run as root" >&2; exit 1; }
  SUDO=(sudo -n)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

# System daemons a package install may start: name, pid file of the system instance.
DAEMONS=("slapd:/run/slapd/slapd.pid" "samba:/run/samba/samba.pid" "smbd:/run/samba/smbd.pid"
         "nmbd:/run/samba/nmbd.pid" "winbindd:/run/samba/winbindd.pid"
         "postgres:/run/postgresql/15-main.pid")
running_pid() {   # prints the PID recorded in $1 if that process is alive
  local f=$1 pid
  [ -r "$f" ] || return 0
  pid=$(head -n1 "$f" 2>/dev/null | tr -dc 0-9)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} Debian packages present"
else
  echo "deps: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the package lists are missing or older than a day.
  newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
  if [ -z "$newest" ] || [ $(( $(date +%s) - ${newest%.*} )) -gt 86400 ]; then
    "${SUDO[@]}" apt-get update -q
  fi
  declare -A before=()
  for d in "${DAEMONS[@]}"; do before[${d%%:*}]=$(running_pid "${d#*:}"); done
  # Ask maintainer scripts not to start services (Debian's policy-rc.d; deb-systemd-invoke honours it
  # too), so test ports stay free. Only if no policy is installed already, and removed afterwards.
  POLICY=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# written by idsync scripts/deps.sh during apt-get install; removed afterwards\nexit 101\n' |
      "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    own_policy=1
  fi
  rc=0
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    </dev/null || rc=$?
  [ "$own_policy" = 1 ] && "${SUDO[@]}" rm -f "$POLICY"
  [ "$rc" -eq 0 ] || { echo "deps: apt-get install failed (exit $rc)" >&2; exit "$rc"; }
  # Stop system instances that the install started anyway (not ones that ran before).
  for d in "${DAEMONS[@]}"; do
    name=${d%%:*}
    pid=$(running_pid "${d#*:}")
    if [ -n "$pid" ] && [ -z "${before[$name]}" ]; then
      echo "deps: stopping system $name (PID $pid) started by the package install"
      if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        case $name in
          postgres) "${SUDO[@]}" systemctl stop postgresql || true ;;
          samba) "${SUDO[@]}" systemctl stop samba-ad-dc || true ;;
          *) "${SUDO[@]}" systemctl stop "$name" || true ;;
        esac
      fi
      if kill -0 "$pid" 2>/dev/null; then
        "${SUDO[@]}" kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
    fi
  done
fi

command -v node >/dev/null 2>&1 || { echo "deps: node is still missing after the install" >&2; exit 1; }

# npm packages of the SCIM test server: `npm ci` unless node_modules already matches the lock file.
APP=$ROOT/tests/peers/scim
if [ -f "$APP/package.json" ]; then
  lock=$APP/package-lock.json
  mods=$APP/node_modules
  if [ -d "$mods/scimmy" ] && [ -d "$mods/scimmy-routers" ] && [ -d "$mods/express" ] &&
     [ -f "$mods/.package-lock.json" ] && { [ ! -f "$lock" ] || [ ! "$lock" -nt "$mods/.package-lock.json" ]; }; then
    echo "deps: npm packages of tests/peers/scim present"
  else
    echo "deps: installing npm packages of tests/peers/scim"
    if [ -f "$lock" ]; then
      (cd "$APP" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    else
      (cd "$APP" && npm install --no-audit --no-fund --loglevel=error </dev/null)
    fi
  fi
fi
echo "deps: ok"
