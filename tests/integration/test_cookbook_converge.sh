#!/usr/bin/env bash
# The cookbook, converged for real: its recipes run under itamae (Debian's
# Chef-like runner; no Chef or Cinc client installs here) through the
# test-only loader cookbooks/quire/test/itamae/converge.rb, inside a
# systemd-booted Debian trixie container, with the package method installing
# quire's .deb from a file URL. Then:
#   - serverspec checks the machine with the InSpec profile's assertions;
#   - a second converge of quire::default changes nothing;
#   - the converged worker takes a real job from a redis-server on the host's
#     loopback and publishes a package `quire verify` accepts;
#   - quire::shutdown during a job that ends within the drain timeout lets it
#     finish: recorded once, no failure, the service stopped;
#   - on a platform that offers an older libvips than quire needs, quire::setup
#     fails naming the library, both versions and the container method.
# Skips (77) only where podman cannot run; .ci/run installs it.
# Functions called through qr_wait_for look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=lib_podman.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib_podman.sh"
qr_init converge
qr_podman_require
command -v redis-server >/dev/null || qr_skip "redis-server not installed"
command -v redis-cli >/dev/null || qr_skip "redis-cli not installed"
t="$QR_TMP"
cookbook="$QR_SRCDIR/cookbooks/quire"
CIDS=()
REDIS_PID=""
stop_all() {
    for c in "${CIDS[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
    if [[ -n "$REDIS_PID" ]]; then kill -KILL "$REDIS_PID" 2>/dev/null || true; fi
    qr_cleanup
}
trap stop_all EXIT

deb="$(qr_deb trixie)"
image="$(qr_image converge-systemd trixie systemd systemd-sysv dbus itamae ruby-serverspec curl ca-certificates procps)"
sha="$(sha256sum "$deb" | cut -d' ' -f1)"

PORT="$(qr_free_port)"
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$t" >"$t/redis.log" 2>&1 &
REDIS_PID=$!
rc() { redis-cli -p "$PORT" --raw "$@"; }
redis_up() { [[ "$(rc PING 2>/dev/null)" == PONG ]]; }
qr_wait_for 10 redis_up || qr_die "redis-server did not start"

# A systemd-booted container with the cookbook and the package mounted read-only.
boot() {
    local cid
    cid="$(qr_pod run -d --systemd=always -v "$cookbook:/cookbook:ro" -v "$(dirname "$deb"):/pkg:ro" "$image")" ||
        qr_die "the systemd container did not start"
    CIDS+=("$cid")
    local state=""
    for _ in $(seq 60); do
        state="$(podman exec "$cid" systemctl is-system-running 2>/dev/null || true)"
        [[ "$state" == running || "$state" == degraded ]] && break
        sleep 1
    done
    [[ "$state" == running || "$state" == degraded ]] || qr_die "systemd in the container is '$state'"
    echo "$cid"
}

# converge CID NAME RUNLIST [JSON ATTRIBUTES]: itamae with the node file NAME.json; output in $t/NAME.log.
converge() {
    local cid=$1 name=$2 runlist=$3 extra=${4:-}
    python3 - "$runlist" "$sha" "$(basename "$deb")" "$PORT" "$extra" >"$t/$name.json" <<'PY'
import json, sys
runlist, sha, deb, port, extra = sys.argv[1:6]
node = {"run_list": runlist.split(","), "quire": {
    "package_url": "file:///pkg/" + deb, "package_sha256": sha,
    "package_version": deb.split("_")[1],
    "redis_url": "redis://127.0.0.1:%s/0" % port, "queues": ["books"],
}}
if extra:
    node["quire"].update(json.loads(extra))
print(json.dumps(node))
PY
    podman cp "$t/$name.json" "$cid:/tmp/$name.json"
    local status=0
    podman exec "$cid" itamae local --no-color -j "/tmp/$name.json" /cookbook/test/itamae/converge.rb \
        >"$t/$name.log" 2>&1 || status=$?
    return "$status"
}
# The resources a converge changed (itamae says "will change" / "will be" for each).
changes() { grep -E ' will (change|be) ' "$t/$1.log" || true; }

# ---- converge: setup, the key file, then the whole machine ------------------------------
cid="$(boot)"
reasons=()
t0=$(date +%s)
converge "$cid" setup quire::setup || reasons+=("quire::setup failed: $(tail -n 20 "$t/setup.log")")
# The key is a file already on the machine (0600, owned by quire): the cookbook writes no secret.
podman exec "$cid" bash -c 'quire keys generate -o /etc/quire/service.key >/dev/null 2>&1 &&
    chown quire:quire /etc/quire/service.key && chmod 0600 /etc/quire/service.key' ||
    reasons+=("cannot make the key file")
converge "$cid" default1 quire::default || reasons+=("quire::default failed: $(tail -n 30 "$t/default1.log")")
converge_s=$(($(date +%s) - t0))
qr_case "quire::setup then quire::default converge under itamae in a systemd-booted trixie container (${converge_s} s)" "${reasons[@]}"

reasons=()
podman exec -e QUIRE_SUITE=default "$cid" rspec --no-color /cookbook/test/serverspec/quire_spec.rb \
    >"$t/serverspec.log" 2>&1 || reasons+=("$(grep -E 'Failure|expected|examples' "$t/serverspec.log" | head -n 12)")
qr_case "serverspec, with the InSpec profile's assertions: $(grep -E '^[0-9]+ examples' "$t/serverspec.log" || echo '?')" "${reasons[@]}"

reasons=()
converge "$cid" default2 quire::default || reasons+=("second converge failed: $(tail -n 20 "$t/default2.log")")
[[ -z "$(changes default2)" ]] || reasons+=("the second converge changed: $(changes default2 | head -n 10)")
qr_case "a second converge of quire::default changes nothing" "${reasons[@]}"

# ---- the converged worker takes a real job ---------------------------------------------
worker_up() { [[ -n "$(rc SMEMBERS resque:workers)" ]]; }
processed_is() { [[ "$(rc GET resque:stat:processed)" == "$1" ]]; }
reasons=()
qr_wait_for 30 worker_up || reasons+=("no worker registered: $(podman exec "$cid" journalctl -u quire --no-pager | tail -n 10)")
"$QUIRE_BIN" sample-book "$t/b1.epub" --chapters 4 --images 2 --size 800x600 >/dev/null 2>&1
"$QUIRE_BIN" sample-book "$t/b2.epub" --chapters 16 --images 14 --size 3600x2700 --seed 2 >/dev/null 2>&1
for b in b1 b2; do
    podman cp "$t/$b.epub" "$cid:/var/lib/quire/sources/$b.epub"
    podman exec "$cid" chown quire:quire "/var/lib/quire/sources/$b.epub"
done
REDIS_URL="redis://127.0.0.1:$PORT/0" "$QUIRE_BIN" enqueue /var/lib/quire/sources/b1.epub --book-id b1 --queue books >/dev/null
qr_wait_for 120 processed_is 1 || reasons+=("job b1 not processed: $(podman exec "$cid" journalctl -u quire --no-pager | tail -n 10)")
pkg="$(podman exec "$cid" find /var/lib/quire/store/books/b1 -name manifest.json | head -n 1)"
podman exec "$cid" runuser -u quire -- quire verify "$(dirname "$pkg")" --key-file /etc/quire/service.key \
    >"$t/verify.log" 2>&1 || reasons+=("verify: $(tail -n 5 "$t/verify.log")")
[[ "$(rc LLEN resque:failed)" == 0 ]] || reasons+=("failures: $(rc LRANGE resque:failed 0 -1)")
qr_case "the converged worker takes a job from redis-server on loopback and publishes a package quire verify accepts" "${reasons[@]}"

# ---- quire::shutdown during a job: the drain lets it finish ----------------------------
job_running() { [[ -n "$(rc KEYS 'resque:worker:*' | grep -v ':started$' || true)" ]]; }
reasons=()
REDIS_URL="redis://127.0.0.1:$PORT/0" "$QUIRE_BIN" enqueue /var/lib/quire/sources/b2.epub --book-id b2 --queue books >/dev/null
qr_wait_for 60 job_running || reasons+=("job b2 never started")
t0=$(date +%s)
converge "$cid" shutdown quire::shutdown || reasons+=("quire::shutdown failed: $(tail -n 20 "$t/shutdown.log")")
stop_s=$(($(date +%s) - t0))
state="$(podman exec "$cid" systemctl is-active quire.service || true)"
[[ "$state" == inactive ]] || reasons+=("quire.service is '$state' after quire::shutdown")
result="$(podman exec "$cid" systemctl show -p Result --value quire.service)"
[[ "$result" == success ]] || reasons+=("the service stopped with result '$result'")
processed_is 2 || reasons+=("processed is $(rc GET resque:stat:processed), want 2: b2 recorded once")
[[ "$(rc LLEN resque:failed)" == 0 ]] || reasons+=("a failure was recorded: $(rc LRANGE resque:failed 0 -1)")
[[ "$(rc LLEN resque:queue:books)" == 0 ]] || reasons+=("b2 went back to the queue")
pkg="$(podman exec "$cid" find /var/lib/quire/store/books/b2 -name manifest.json | head -n 1)"
[[ -n "$pkg" ]] && podman exec "$cid" runuser -u quire -- quire verify "$(dirname "$pkg")" \
    --key-file /etc/quire/service.key >/dev/null 2>&1 || reasons+=("b2 is not published")
podman exec "$cid" journalctl -u quire --no-pager -o cat >"$t/journal.log" 2>&1 || true
grep -q 'STOPPING\|drain\|unregistered' "$t/journal.log" || reasons+=("the journal shows no drain: $(tail -n 5 "$t/journal.log")")
qr_case "quire::shutdown during a job drains: the job finishes (in ${stop_s} s), recorded once, the service stops cleanly" "${reasons[@]}"

# ---- an old platform: the package method refuses with the way out ----------------------
reasons=()
cid2="$(boot)"
if converge "$cid2" old quire::setup '{"min_versions": {"libvips": "99.0", "qpdf": "11.3"}}'; then
    reasons+=("quire::setup succeeded where libvips is older than the minimum")
fi
grep -qE "this platform offers libvips [0-9][^;]*; quire [^ ]+ needs libvips >= 99.0" "$t/old.log" ||
    reasons+=("no message naming libvips, the version found and the version needed: $(grep -i quire: "$t/old.log" | head -n 5)")
grep -q "install_method'\] = 'container'" "$t/old.log" || reasons+=("the message does not name the container method")
podman exec "$cid2" test ! -e /usr/bin/quire || reasons+=("quire was installed anyway")
qr_case "on a platform with an older libvips, quire::setup stops naming the library, both versions and the container method" "${reasons[@]}"
qr_summary
