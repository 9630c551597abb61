# quire container image: Debian trixie, multi-stage.
# The build stage compiles with warnings as errors and runs the unit tests, so
# an image only exists if quire builds and passes its tests against trixie's
# libraries. The runtime stage holds the binary, its shared libraries, tini
# and CA certificates, and runs as an unprivileged user.
#   podman build --isolation=chroot --format docker -t quire:dev .
# (--format docker keeps HEALTHCHECK; docs/operations/container.md.)
ARG BASE=docker.io/library/debian:trixie-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config \
        libzip-dev libxml2-dev libvips-dev libjansson-dev zlib1g-dev \
        libjpeg62-turbo-dev libsodium-dev libssl-dev libcmocka-dev libhiredis-dev libmicrohttpd-dev \
        libcurl4-openssl-dev libqpdf-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG REVISION=unknown
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr/local \
        -DQR_COMMIT="${REVISION}" \
        -DQR_WERROR=ON -DQR_BUILD_TESTS=ON -DQR_STANDALONE_FUZZERS=ON \
    && cmake --build /build -j "$(nproc)"
# The corpus is not in the image: corpus tests skip, as do integration tests
# whose tools are absent (exit 77).
# The fleet template's checks (cfn-lint, cfn-guard, the simulator's python3-yaml) and the
# monitoring rules' (promtool) are about autoscale/ and deploy/, not this image, and their
# tools are not in the build stage: CI runs them.
RUN ctest --test-dir /build --output-on-failure -j "$(nproc)" -E 'test_autoscale_(sim|template)|test_monitoring_rules'

RUN DESTDIR=/staging cmake --install /build --strip

FROM ${BASE} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="quire" \
      org.opencontainers.image.description="Compresses, slices and encrypts publisher EPUB and PDF books for streaming" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (the -dev packages above minus headers): libvips 8.16
# and the libraries quire links directly or loads (libcurl, libzip, libxml2: docs/internals/dlmod.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libvips42t64 libzip5 libxml2 libjansson4 libjpeg62-turbo libsodium23 libssl3t64 zlib1g libhiredis1.1.0 libmicrohttpd12t64 \
        libcurl4t64 libqpdf30 \
        tini ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
    && useradd --uid 10001 --user-group --no-log-init --create-home --home-dir /var/lib/quire \
        --shell /usr/sbin/nologin quire
COPY --from=build /staging/usr/local/bin/quire /usr/local/bin/quire
# The libvips half of quire, loaded on the first image (docs/internals/vipsmod.md).
COPY --from=build /staging/usr/local/lib/quire/quire-vips.so /usr/local/lib/quire/quire-vips.so
# Fails the build if a shared library the binary or its libvips module needs
# is missing here, or older than quire's minimums.
RUN ["/usr/local/bin/quire", "version", "--check"]
USER 10001:10001
WORKDIR /var/lib/quire
# SIGTERM is the worker's drain signal (DESIGN.md §4); tini forwards it.
STOPSIGNAL SIGTERM
# Healthy while this host's worker is registered in Redis and heartbeating
# (quire health reads REDIS_URL / QUIRE_REDIS from the container's env).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/quire", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/quire"]
# Configure with REDIS_URL and QUIRE_* variables (docs/operations/worker.md).
CMD ["worker"]
