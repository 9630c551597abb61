#!/usr/bin/env bash
# Builds the quire container image from this checkout and proves it works:
# the build stage compiled quire against Debian trixie with -Werror and its
# unit tests passed (the build fails otherwise), the image runs as uid 10001
# behind tini with STOPSIGNAL SIGTERM and a HEALTHCHECK, and inside it quire
# writes a sample book, compresses it and processes it into a store in a
# mounted host directory, then verifies the package; and the default command,
# the worker, takes a Resque job from a redis-server on the host, publishes it,
# passes its healthcheck (quire health) and drains on `stop`, exiting 0.
#   scripts/image-test.sh [--no-build]
# Env: QR_ENGINE=podman|docker (podman), QR_IMAGE (quire:dev),
#      QR_RUN_FLAGS (extra `run` flags; podman default below).
# Prints PASS/FAIL/SKIP lines; exits 1 on any FAIL. docs/operations/container.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
engine="${QR_ENGINE:-podman}"
image="${QR_IMAGE:-quire:dev}"
build=1
for arg in "$@"; do
    case "$arg" in
    --no-build) build=0 ;;
    *) echo "image-test.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
command -v "$engine" >/dev/null || { echo "FAIL $engine is not installed (scripts/setup.sh --image)"; exit 1; }

# podman here runs rootful with runc: rlimits above the host's must be set
# explicitly, and host networking avoids needing slirp/CNI.
if [ "$engine" = podman ]; then
    read -r -a run_flags <<<"${QR_RUN_FLAGS:---runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network=host}"
    # runtime is a global podman option: it must precede `run`.
    global_flags=()
    rest=()
    for ((i = 0; i < ${#run_flags[@]}; i++)); do
        if [ "${run_flags[$i]}" = --runtime ]; then
            global_flags+=(--runtime "${run_flags[$((i + 1))]}")
            i=$((i + 1))
        else
            rest+=("${run_flags[$i]}")
        fi
    done
    run_flags=("${rest[@]}")
else
    read -r -a run_flags <<<"${QR_RUN_FLAGS:---network=host}"
    global_flags=()
fi

failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# same WHAT GOT WANT: PASS when GOT equals WANT.
same() {
    if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}
# crun ARGS...: one container run, removed afterwards, never longer than 10
# min. One-shot runs need no health timer (the health command is run below).
crun() { timeout 600 "$engine" "${global_flags[@]}" run --rm --no-healthcheck "${run_flags[@]}" "$@"; }
inspect() { timeout 60 "$engine" image inspect --format "$1" "$image"; }

version="$(sed -n 's/^project(quire VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
revision="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "$build" -eq 1 ]; then
    if [ "$engine" = podman ]; then
        t0=$(date +%s)
        "$root/scripts/mkbase.sh"
        echo "time: base image $(($(date +%s) - t0)) s"
        build_cmd=(podman build --isolation=chroot --format docker --pull=never)
    else
        build_cmd=(docker build)
    fi
    log="$(mktemp)"
    t0=$(date +%s)
    if timeout 3600 "${build_cmd[@]}" --build-arg "VERSION=$version" \
        --build-arg "REVISION=$revision" -t "$image" "$root" >"$log" 2>&1; then
        echo "time: image build $(($(date +%s) - t0)) s"
        # A cached test layer means the same sources already passed.
        summary="$(grep -E 'tests passed|tests failed' "$log" | tail -n 1 || true)"
        pass "build stage: quire compiled on trixie with -Werror, unit tests: ${summary:-passed (cached layer)}"
        rm -f "$log"
    else
        # Compiler errors and failed tests first, then how the build ended.
        grep -E 'error:|\*\*\*Failed|\[  ERROR|\[   LINE' "$log" | head -n 40 || true
        tail -n 15 "$log"
        fail "image build (compile or unit tests in the build stage); full log: $log"
        exit 1
    fi
fi
timeout 60 "$engine" image exists "$image" 2>/dev/null || timeout 60 "$engine" image inspect "$image" >/dev/null ||
    { fail "image $image not found"; exit 1; }

# --- image configuration -------------------------------------------------
same "Config.User" "$(inspect '{{.Config.User}}')" 10001:10001
same "Config.StopSignal" "$(inspect '{{.Config.StopSignal}}')" SIGTERM
same "Config.Entrypoint" "$(inspect '{{json .Config.Entrypoint}}')" '["/usr/bin/tini","--","/usr/local/bin/quire"]'
# podman reports the healthcheck at top level, docker under Config.
if [ "$engine" = podman ]; then hc_field='{{json .HealthCheck}}'; else hc_field='{{json .Config.Healthcheck}}'; fi
hc="$(inspect "$hc_field")"
hc_test=()
if [ -n "$hc" ] && [ "$hc" != null ] && [ "$hc" != '{}' ]; then
    mapfile -t hc_test < <(python3 -c 'import json,sys; t=json.load(sys.stdin)["Test"]; print("\n".join(t[1:]) if t[0]=="CMD" else "")' <<<"$hc")
fi
if [ ${#hc_test[@]} -gt 0 ] && [ -n "${hc_test[0]}" ]; then
    pass "Healthcheck $hc"
else
    fail "no exec-form HEALTHCHECK in the image (podman needs --format docker): $hc"
fi
same "label org.opencontainers.image.title" "$(inspect '{{index .Config.Labels "org.opencontainers.image.title"}}')" quire
echo "info: image version label $(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')"

# --- running it ------------------------------------------------------------
# shellcheck disable=SC2016 # expanded by the container's shell
os="$(crun --entrypoint /bin/sh "$image" -c '. /etc/os-release; echo "$VERSION_CODENAME"; dpkg-query -W -f="\${Version}" libvips42t64')" ||
    os=""
if [ "$(sed -n 1p <<<"$os")" = trixie ]; then
    pass "runtime is Debian trixie, libvips $(sed -n 2p <<<"$os")"
else
    fail "runtime is not Debian trixie with libvips42t64: '$os'"
fi
same "uid inside the container (non-root)" "$(crun --entrypoint /usr/bin/id "$image" -u || true)" 10001
same "default command" "$(inspect '{{json .Config.Cmd}}')" '["worker"]'
help="$(crun "$image" --help 2>/dev/null || true)"
same "quire through tini" "$(sed -n 1p <<<"$help")" "usage: quire <command> [options]"
same "healthcheck command" "${hc_test[*]:-}" "/usr/local/bin/quire health"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The container user (10001) must be able to write here; rootful engines map
# it to host uid 10001.
chmod 0777 "$out"
t0=$(date +%s)
if crun -v "$out:/out" "$image" sample-book /out/sample.epub --chapters 4 --images 3 --size 1600x1200 &&
    [ -s "$out/sample.epub" ] && [ "$(head -c 4 "$out/sample.epub" | od -An -tx1 | tr -d ' ')" = 504b0304 ]; then
    pass "sample-book wrote /out/sample.epub ($(stat -c %s "$out/sample.epub") bytes, ZIP) in $(($(date +%s) - t0)) s"
else
    fail "sample-book in the container"
fi
same "owner of /out/sample.epub on the host" "$(stat -c %u "$out/sample.epub" 2>/dev/null || echo none)" 10001

t0=$(date +%s)
if crun -v "$out:/out" "$image" compress /out/sample.epub -o /out/small.epub --quiet &&
    [ -s "$out/small.epub" ]; then
    in_size=$(stat -c %s "$out/sample.epub")
    out_size=$(stat -c %s "$out/small.epub")
    if [ "$out_size" -lt "$in_size" ]; then
        pass "compress: $in_size -> $out_size bytes in $(($(date +%s) - t0)) s"
    else
        fail "compress did not shrink the sample: $in_size -> $out_size bytes"
    fi
else
    fail "compress in the container"
fi

# The main job: process into a local store with a key file made in the
# container, then verify the published package with the same key.
t0=$(date +%s)
if crun -v "$out:/out" "$image" keys generate -o /out/keys.json >/dev/null &&
    crun -v "$out:/out" "$image" process /out/sample.epub --store /out/store \
        --key-file /out/keys.json --book-id sample >/dev/null; then
    manifest="$(find "$out/store/books/sample" -name manifest.json | head -n 1)"
    pkg="$(dirname "${manifest#"$out"/}")"
    if [ -n "$manifest" ] && [ -s "${manifest}.sig" ] &&
        crun -v "$out:/out" "$image" verify "/out/$pkg" --key-file /out/keys.json >/dev/null; then
        pass "process published $(find "$out/store" -name '*.qs' | wc -l) slices to a local store and verify passed in $(($(date +%s) - t0)) s"
    else
        fail "process/verify in the container: no verifiable package under $out/store/books/sample"
    fi
else
    fail "keys generate / process in the container"
fi

# --- the worker: a job from a redis-server on the host, then a drain -------
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    fail "redis-server/redis-cli are not installed on the host (scripts/setup.sh installs them)"
else
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        >"$out/redis.log" 2>&1 &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null || true; rm -rf "$out"' EXIT
    rcli() { timeout 10 redis-cli -p "$port" "$@"; }
    for _ in $(seq 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done
    cid="$(timeout 60 "$engine" "${global_flags[@]}" run -d "${run_flags[@]}" -v "$out:/out" \
        -e REDIS_URL="redis://127.0.0.1:$port" -e QUIRE_QUEUES=books -e QUIRE_STORE=/out/wstore \
        -e QUIRE_KEY_FILE=/out/keys.json -e QUIRE_SOURCE_DIR=/out -e QUIRE_INTERVAL=1 \
        -e QUIRE_HEARTBEAT_INTERVAL=2 "$image")" || cid=""
    if [ -z "$cid" ]; then
        fail "worker container did not start"
    else
        rcli sadd resque:queues books >/dev/null
        rcli rpush resque:queue:books \
            '{"class":"Quire::ProcessBook","args":[{"book_id":"w1","source":"/out/sample.epub"}]}' >/dev/null
        t0=$(date +%s)
        done_jobs=0
        for _ in $(seq 240); do
            done_jobs="$(rcli get resque:stat:processed 2>/dev/null || echo 0)"
            [ "${done_jobs:-0}" = 1 ] && break
            sleep 0.5
        done
        wpkg="$(find "$out/wstore/books/w1" -name manifest.json 2>/dev/null | head -n 1)"
        if [ "${done_jobs:-0}" = 1 ] && [ -n "$wpkg" ] &&
            crun -v "$out:/out" "$image" verify "/out/$(dirname "${wpkg#"$out"/}")" \
                --key-file /out/keys.json >/dev/null; then
            pass "worker in the container took a Resque job from the host's redis and published a verified package in $(($(date +%s) - t0)) s"
        else
            fail "worker job: processed=$done_jobs, package '${wpkg:-none}'; logs: $("$engine" logs "$cid" 2>&1 | tail -n 5 | tr '\n' ' ')"
        fi
        if [ "$(rcli scard resque:workers)" = 1 ]; then
            pass "worker registered in resque:workers"
        else
            fail "worker not registered in resque:workers"
        fi
        sleep 3
        if timeout 60 "$engine" "${global_flags[@]}" healthcheck run "$cid" >/dev/null 2>&1; then
            pass "healthcheck (quire health) passes while the worker heartbeats"
        else
            fail "healthcheck failed on a running worker"
        fi
        t0=$(date +%s)
        timeout 120 "$engine" "${global_flags[@]}" stop -t 60 "$cid" >/dev/null 2>&1 || true
        code="$("$engine" inspect -f '{{.State.ExitCode}}' "$cid" 2>/dev/null || echo none)"
        same "worker exit status after $engine stop (drain)" "$code" 0
        same "resque:workers after the drain" "$(rcli scard resque:workers)" 0
        "$engine" rm -f "$cid" >/dev/null 2>&1 || true
    fi
    kill "$redis_pid" 2>/dev/null || true
fi

size="$(inspect '{{.Size}}')"
echo "image: $image $((size / 1000000)) MB ($size bytes)"
if [ "$failures" -gt 0 ]; then
    echo "image-test: $failures check(s) failed"
    exit 1
fi
echo "image-test: all checks passed"
