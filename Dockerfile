# Dockerfile - the ulog image: ulogd (the aggregator), ulog (the command) and
# the shim libraries, built from this repository the way a user's CI would.
#
#   docker build -t ulog:latest .          (compose/docker-compose.yml does it too)
#
# Two stages: the build stage has the compilers and -dev packages; the image
# that ships has their runtime libraries only. Other images take the shim
# from this one without building anything:
#
#   COPY --from=ulog:latest /usr/local/lib/ulog/ /usr/local/lib/ulog/
#   ENV LD_PRELOAD=/usr/local/lib/ulog/libulog.so          (glibc images)
#   ENV LD_PRELOAD=/usr/local/lib/ulog/libulog-musl.so     (musl images, Alpine)

FROM debian:bookworm-slim AS build
# clang and bpftool build the eBPF programs; vmlinux.h comes from the build
# machine's kernel BTF when /sys shows it, else from ebpf/vmlinux/ (CO-RE
# relocates either to the kernel ulogd runs on). musl-tools builds
# libulog-musl.so for musl-based images.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        gcc make pkg-config libc6-dev \
        libjansson-dev libyaml-dev libpcre2-dev libcurl4-openssl-dev \
        libsqlite3-dev libwebsockets-dev libpq-dev \
        clang bpftool libbpf-dev libelf-dev zlib1g-dev \
        musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore lets in only what `make` reads.
COPY . .
RUN make -j"$(nproc)" install PREFIX=/usr/local DESTDIR=/out

FROM debian:bookworm-slim
# The libraries ulogd and ulog link (pkg-config's names in the Makefile):
# jansson, libyaml, PCRE2, libbpf (with libelf and zlib), libcurl, SQLite,
# libwebsockets and libpq.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libjansson4 libyaml-0-2 libpcre2-8-0 libbpf1 libelf1 zlib1g libcurl4 \
        libsqlite3-0 libwebsockets17 libpq5 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/ /usr/local/
RUN mkdir -p /app/logs /run/ulog

# Every file lands in /app/logs (map it to the host's ./logs); programs in
# other containers reach ulogd through /run/ulog/ulog.sock (share /run/ulog
# with them through a volume). The production profile: INFO and up, no
# console mirror of every record.
ENV LOG_DIR=/app/logs \
    ULOG_SOCKET=/run/ulog/ulog.sock \
    ULOG_ENV=production
WORKDIR /app

# Healthy once ulogd listens: services that depend on it start after that.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD test -S "$ULOG_SOCKET"

# ulogd stays in the foreground; SIGTERM (docker stop) makes it write out
# what it holds and exit 0.
ENTRYPOINT ["ulogd"]
