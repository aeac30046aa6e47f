#!/usr/bin/env bash
# Installs the Debian packages that the integration, browser, TLS and load tests need, if any is missing.
# Idempotent: when everything is present it only prints one line. Called by `npm test` before the tests run.
#
# Services: Debian's postinst scripts would start redis-server (port 6379), nginx (port 80), clamav-daemon and
# clamav-freshclam (which would try to download signatures: impossible here, and tests make their own). Our tests start
# their own instances on loopback and free ports (test/helpers/services.ts), so nothing may be left listening.
# During the install a /usr/sbin/policy-rc.d returning 101 ("action forbidden") stops invoke-rc.d and
# deb-systemd-invoke from starting anything; it is removed afterwards only if this script created it.
# Afterwards, any of the two services that is nevertheless running (a pre-existing permissive policy-rc.d) is
# stopped and disabled.
#
# --no-install-recommends was checked: the only recommends dropped that matter at all are chromium-common's
# (fonts-liberation, libgl1-mesa-dri, upower, ...); headless Chromium renders and runs scripts with just
# fonts-dejavu-core (pulled in by fontconfig-config's Depends) and its bundled SwiftShader. php-redis has no
# recommends.
set -euo pipefail
# nginx lives in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { printf 'ensure-system-packages: %s\n' "$*"; }
die() { printf 'ensure-system-packages: ERROR: %s\n' "$*" >&2; exit 1; }

has() { command -v "$1" >/dev/null 2>&1; }
has_sbin() { has "$1" || [[ -x /usr/sbin/$1 ]]; }
php_has_redis() { has php && php -m 2>/dev/null | grep -qx redis; }

# Debian package names of whatever is missing, one a line.
missing_packages() {
  local out=()
  has redis-server || out+=(redis-server)
  has nginx || out+=(nginx)
  # The edge's per-address connection limit is a stream block (deploy/nginx/generate.ts): a dynamic module on Debian.
  [[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] || out+=(libnginx-mod-stream)
  has php || out+=(php-cli)
  php_has_redis || out+=(php-redis)
  has chromium || out+=(chromium)
  has testssl || out+=(testssl.sh)
  has wrk || out+=(wrk)
  has_sbin clamd || out+=(clamav-daemon)
  if ((${#out[@]})); then printf '%s\n' "${out[@]}"; fi
}

mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]} == 0)); then
  say "all present (redis-server nginx+stream php+redis chromium testssl wrk clamd)"
  exit 0
fi
say "missing: ${MISSING[*]}"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if has sudo; then
    SUDO=(sudo)
    say "not root: using sudo"
  else
    die "not root and sudo is not available; as root run: apt-get install ${MISSING[*]}"
  fi
fi
has apt-get || die "apt-get not found: this script supports Debian (12) only; install: ${MISSING[*]}"

POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
remove_policy() {
  if ((CREATED_POLICY)); then
    "${SUDO[@]}" rm -f "$POLICY" && say "removed $POLICY"
  fi
}
trap remove_policy EXIT

if [[ -e $POLICY ]]; then
  say "$POLICY exists: leaving it as it is"
else
  printf '#!/bin/sh\n# created by lpa-front scripts/ensure-system-packages.sh: do not start services\nexit 101\n' |
    "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 0755 "$POLICY"
  CREATED_POLICY=1
  say "created $POLICY (services will not be started by the install)"
fi

# apt's own output goes to a log, shown only when a step fails.
APT_LOG=$(mktemp "${TMPDIR:-/tmp}/ensure-system-packages.XXXXXX")
apt_step() {
  local what=$1
  shift
  say "$what"
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$APT_LOG" 2>&1; then
    tail -n 25 "$APT_LOG" >&2
    die "$what failed (full log: $APT_LOG)"
  fi
}
apt_step "apt-get update" apt-get update
apt_step "apt-get install ${MISSING[*]}" apt-get install -y --no-install-recommends "${MISSING[@]}"
rm -f "$APT_LOG"

# Stop and disable a service the install may have started anyway.
is_running() {
  local svc=$1 pidfile
  case $svc in
    redis-server) pidfile=/run/redis/redis-server.pid ;;
    nginx) pidfile=/run/nginx.pid ;;
    clamav-daemon) pidfile=/run/clamav/clamd.pid ;;
    clamav-freshclam) pidfile=/run/clamav/freshclam.pid ;;
  esac
  if has systemctl && [[ -d /run/systemd/system ]] && systemctl is-active --quiet "$svc" 2>/dev/null; then
    return 0
  fi
  [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}
quiesce() {
  local svc=$1
  if has systemctl && [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    if has service; then "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true; fi
    if has update-rc.d; then "${SUDO[@]}" update-rc.d "$svc" disable >/dev/null 2>&1 || true; fi
  fi
  if is_running "$svc"; then
    local pidfile=/run/nginx.pid
    [[ $svc == redis-server ]] && pidfile=/run/redis/redis-server.pid
    [[ $svc == clamav-daemon ]] && pidfile=/run/clamav/clamd.pid
    [[ $svc == clamav-freshclam ]] && pidfile=/run/clamav/freshclam.pid
    "${SUDO[@]}" kill "$(cat "$pidfile")" 2>/dev/null || true
    sleep 1
  fi
  if is_running "$svc"; then
    die "$svc was started by its package and could not be stopped; stop it by hand"
  fi
  say "stopped and disabled Debian's $svc service"
}
for pkg in "${MISSING[@]}"; do
  case $pkg in
    redis-server | nginx)
      if is_running "$pkg"; then quiesce "$pkg"; fi
      ;;
    clamav-daemon)
      # clamav-freshclam comes with it (Depends) and would poll the signature mirrors.
      for svc in clamav-daemon clamav-freshclam; do
        if is_running "$svc"; then quiesce "$svc"; fi
      done
      ;;
  esac
done

mapfile -t STILL < <(missing_packages)
if ((${#STILL[@]})); then
  die "still missing after install: ${STILL[*]}"
fi
say "installed ${MISSING[*]}"
