#!/bin/bash
# db.sh - stands in for a third-party image (a database) of the example
# stack: an image you pull and do not change, so no shim runs in it. Its
# lines reach all.log only through ulogd's Docker Engine collector
# (source "docker"). It writes LINES numbered lines in PostgreSQL's style,
# most on stderr as PostgreSQL does and every fourth on stdout, then idles;
# the end-to-end test expects each number exactly once, on its stream.
# Like a database, it starts no process per line: the time comes from
# bash's printf, and only the pause between lines is a process (sleep).

LINES=${LINES:-40}
export TZ=UTC

log() {
    local stamp
    printf -v stamp '%(%Y-%m-%d %H:%M:%S)T' -1
    printf '%s UTC [%d] %s\n' "$stamp" "$$" "$1"
}

trap 'log "LOG:  received fast shutdown request" >&2; exit 0' TERM INT

log "LOG:  starting PostgreSQL-compatible server (stand-in)" >&2
for ((i = 1; i <= LINES; i++)); do
    printf -v n '%04d' "$i"
    if ((i % 4 == 0)); then
        log "LOG:  checkpoint complete: wrote $((i * 3)) buffers (seq $n)"
    elif ((i % 7 == 0)); then
        log "WARNING:  could not flush dirty data: retrying (seq $n)" >&2
    else
        log "LOG:  duration: $((i * 13 % 97)).$((i % 10))12 ms  statement: SELECT * FROM orders WHERE id = $i (seq $n)" >&2
    fi
    sleep 0.2
done
log "LOG:  database system is ready to accept connections" >&2
while :; do
    sleep 3600 &
    wait $!
done
