#!/usr/bin/env bash
# What the cookbook computes and renders, without converging: the helpers'
# Ruby unit tests (cookbooks/quire/test/unit), and the units it writes
# (the container method's quire.service and the drop-in) rendered from its
# templates with the helpers' values and accepted by `systemd-analyze
# verify` beside the package's own unit. Skips (77) without ruby or
# systemd-analyze.
set -euo pipefail
src="${QR_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cb="$src/cookbooks/quire"
for t in ruby systemd-analyze; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

if ruby "$cb/test/unit/helpers_test.rb" >"$tmp/unit.out" 2>&1; then
    pass "helpers: $(grep -E '^[0-9]+ runs' "$tmp/unit.out")"
else
    fail "helpers unit tests:"
    sed 's/^/    /' "$tmp/unit.out"
fi

# Render the container unit and the drop-in as the recipes would, for podman and docker.
for engine in podman docker; do
    mkdir -p "$tmp/$engine/quire.service.d"
    ruby -rerb -e '
        require ARGV[0]
        cb, engine, out = ARGV[1], ARGV[2], ARGV[3]
        q = { "install_method" => "container", "container_engine" => engine,
              "image" => "registry.example.org/quire@sha256:" + "c" * 64,
              "store" => "/var/lib/quire/store", "work_dir" => "/var/lib/quire/work",
              "source_dir" => "/var/lib/quire/sources", "key_file" => "/etc/quire/service.key",
              "callback_secret_file" => nil, "drain_timeout" => 3600, "term_timeout" => 10,
              "stop_margin" => 90, "memory_max" => "6G", "nofile" => 65536 }
        render = lambda do |name, vars|
          ctx = Object.new
          vars.each { |k, v| ctx.instance_variable_set("@#{k}", v) }
          ERB.new(File.read(File.join(cb, "templates/default", name)), trim_mode: "-").result(ctx.instance_eval { binding })
        end
        File.write(File.join(out, "quire.service"), render.call("quire-container.service.erb",
          command: Quire::Helpers.container_command(q), engine: engine, stop_timeout: Quire::Helpers.stop_timeout(q)))
        File.write(File.join(out, "quire.service.d/50-quire-cookbook.conf"), render.call("quire-dropin.conf.erb",
          stop_timeout: Quire::Helpers.stop_timeout(q), nofile: q["nofile"], memory_max: q["memory_max"],
          writable: Quire::Helpers.writable_dirs(q)))
    ' "$cb/libraries/helpers.rb" "$cb" "$engine" "$tmp/$engine"
    # verify wants the unit's binaries to exist; the engine may not be installed here.
    if [ -x "/usr/bin/$engine" ]; then
        if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$tmp/$engine/quire.service" >"$tmp/$engine.out" 2>&1; then
            pass "systemd-analyze verify: the $engine unit"
        else
            fail "systemd-analyze verify: the $engine unit:"
            sed 's/^/    /' "$tmp/$engine.out"
        fi
    else
        echo "info: /usr/bin/$engine absent: the $engine unit is rendered, not verified"
    fi
    grep -q "^TimeoutStopSec=3730$" "$tmp/$engine/quire.service" || fail "$engine unit: TimeoutStopSec is not the stop timeout + 30"
    grep -q "^TimeoutStopSec=3700$" "$tmp/$engine/quire.service.d/50-quire-cookbook.conf" || fail "drop-in: TimeoutStopSec"
done
if ! grep -q '^Type=notify$' "$tmp/podman/quire.service" || ! grep -q -- '--sdnotify=container' "$tmp/podman/quire.service"; then
    fail "the podman unit is not Type=notify with --sdnotify=container"
fi
if ! grep -q '^Type=simple$' "$tmp/docker/quire.service" || ! grep -q -- '--init' "$tmp/docker/quire.service"; then
    fail "the docker unit is not Type=simple with --init"
fi
[ "$fails" -eq 0 ]
