#!/usr/bin/env bash
# quire's Debian package, for Debian 12 (bookworm) and 13 (trixie): built by
# scripts/package.sh (lintian: no error, no unexplained warning), installed
# into a fresh container of that release (debootstrap base, nothing but apt
# resolving the dependencies), where `quire version --check` runs as the
# quire user, the unit and the environment file are where they belong, and
# `systemd-analyze verify` accepts the unit; then purged, which leaves
# nothing the package made. Skips (77) only where podman cannot run.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=lib_podman.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_podman.sh"
qr_init package
qr_podman_require
t="$QR_TMP"
trap qr_cleanup EXIT

for suite in bookworm trixie; do
    reasons=()
    deb="$(qr_deb "$suite")" || qr_die "no $suite package"
    depends="$(dpkg-deb -f "$deb" Depends)"
    for lib in libvips libqpdf libcurl libhiredis libsodium libzip libxml2 libssl3; do
        grep -qE "(^|, )${lib}[^ ]* \\((>=|>>) [0-9.~]+\\)" <<<"$depends" || reasons+=("Depends has no minimum for $lib: $depends")
    done
    grep -q '^package: lintian: no errors or warnings' "$(dirname "$deb")/build.log" ||
        reasons+=("lintian: $(grep -E '^[EW]: ' "$(dirname "$deb")/build.log" | head -n 5)")
    qr_case "$suite: $(basename "$deb") built ($(du -k "$deb" | cut -f1) KiB), lintian clean, Depends carry quire's minimums" "${reasons[@]}"

    # A fresh system of that release: apt installs the package and what it depends on.
    reasons=()
    base="$(qr_base "$suite")"
    # shellcheck disable=SC2016 # expanded by the container's shell
    qr_pod run --rm -v "$(dirname "$deb"):/pkg:ro" "$base" bash -c '
        set -e
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /pkg/'"$(basename "$deb")"' >/tmp/apt.log 2>&1 ||
            { tail -n 20 /tmp/apt.log; exit 1; }
        echo "user: $(getent passwd quire | cut -d: -f1,6,7)"
        echo "version: $(runuser -u quire -- quire version --check >/dev/null && echo ok)"
        runuser -u quire -- quire version | head -n 1 | sed "s/^/runs: /"
        echo "env: $(stat -c "%U:%G:%a" /etc/quire/quire.env)"
        echo "conffile: $(dpkg-query -W -f="\${Conffiles}" quire | awk "{print \$1}" | tr "\n" " ")"
        echo "unit: $(dpkg -L quire | grep -E "/systemd/system/quire.service$")"
        echo "state: $(stat -c "%U:%G:%a" /var/lib/quire /var/lib/quire/store | tr "\n" " ")"
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq quire >/tmp/purge.log 2>&1 || { tail /tmp/purge.log; exit 1; }
        left=""
        for p in /usr/bin/quire /usr/lib/quire/quire-vips.so /etc/quire /var/lib/quire /lib/systemd/system/quire.service /usr/lib/systemd/system/quire.service; do
            [ -e "$p" ] && left="$left $p"
        done
        getent passwd quire >/dev/null && left="$left user:quire"
        getent group quire >/dev/null && left="$left group:quire"
        echo "after purge:${left:- nothing left}"
    ' >"$t/$suite.out" 2>&1 || reasons+=("install or purge failed: $(tail -n 15 "$t/$suite.out")")
    expect_line() { grep -qxF "$1" "$t/$suite.out" || reasons+=("want '$1' in: $(tr '\n' '|' <"$t/$suite.out")"); }
    expect_line "user: quire:/var/lib/quire:/usr/sbin/nologin"
    expect_line "version: ok"
    expect_line "env: root:quire:640"
    expect_line "conffile: /etc/quire/quire.env "
    expect_line "state: quire:quire:750 quire:quire:750 "
    expect_line "after purge: nothing left"
    grep -qE '^unit: (/usr)?/lib/systemd/system/quire.service$' "$t/$suite.out" || reasons+=("the unit is not installed")
    qr_case "$suite: installs into a fresh $suite with apt, quire version --check passes as quire ($(sed -n 's/^runs: //p' "$t/$suite.out")), purge removes it all" "${reasons[@]}"
done

# The unit as systemd itself reads it (trixie's systemd, in a systemd-booted container).
reasons=()
deb="$(qr_deb trixie)"
image="$(qr_image quire-systemd trixie systemd systemd-sysv dbus man-db)"
cid="$(qr_pod run -d --systemd=always -v "$(dirname "$deb"):/pkg:ro" "$image")" || qr_die "systemd container did not start"
trap 'podman rm -f "$cid" >/dev/null 2>&1 || true; qr_cleanup' EXIT
for _ in $(seq 60); do
    state="$(podman exec "$cid" systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 1
done
podman exec "$cid" bash -c "apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /pkg/$(basename "$deb") >/dev/null 2>&1" ||
    reasons+=("install in the systemd container failed")
podman exec "$cid" systemd-analyze verify /lib/systemd/system/quire.service >"$t/verify.out" 2>&1 ||
    reasons+=("systemd-analyze verify: $(cat "$t/verify.out")")
podman exec "$cid" systemd-analyze security --no-pager quire.service >"$t/security.out" 2>&1 || true
score="$(sed -n 's/^→ Overall exposure level for quire.service: \([0-9.]*\) \(.*\)$/\1 \2/p' "$t/security.out")"
[[ -n "$score" ]] || reasons+=("no exposure score: $(tail -n 3 "$t/security.out")")
awk -v s="${score%% *}" 'BEGIN {exit !(s + 0 <= 2.5)}' || reasons+=("exposure $score is over 2.5")
state="$(podman exec "$cid" systemctl show -p UnitFileState,Type,NotifyAccess,KillMode,KillSignal,TimeoutStopUSec quire.service | sort | tr '\n' ' ')"
[[ "$state" == "KillMode=mixed KillSignal=15 NotifyAccess=main TimeoutStopUSec=1h 1min 40s Type=notify UnitFileState=disabled " ]] ||
    reasons+=("unit settings: $state")
qr_case "trixie: systemd-analyze verify accepts quire.service; security exposure ${score:-?}; installed disabled, Type=notify, KillMode=mixed" "${reasons[@]}"
podman rm -f "$cid" >/dev/null 2>&1 || true
qr_summary
