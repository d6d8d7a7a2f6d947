#!/bin/sh
# crontab.sh - a "legacy" cron-style loop of the example stack, written as
# if ulog did not exist: every few seconds it starts the jobs that are due,
# each one a process of its own that prints its pid, the way a container
# running a shell loop instead of crond does. Its image knows nothing of
# ulog; compose adopts it (way b: the shim from a volume, LD_PRELOAD in the
# environment), and every process this shell starts inherits the shim.

trap 'echo "cron pid=$$: SIGTERM, exiting"; exit 0' TERM INT

echo "cron pid=$$: started, 3 jobs scheduled"
tick=0
while :; do
    tick=$((tick + 1))
    echo "cron pid=$$: ($(date -u +%H:%M:%S)) running jobs due at tick $tick"
    # Each job is its own process: its $$ is its own pid.
    sh -c 'echo "cleanup-tmp pid=$$: removed $(( $1 % 5 )) stale files from /tmp"' job "$tick"
    if [ $((tick % 3)) -eq 0 ]; then
        sh -c 'echo "rotate-reports pid=$$: compressed report-$1.csv"; echo "rotate-reports pid=$$: warning: report-$1.csv.gz already exists, overwritten" >&2' job "$tick"
    fi
    # Sleep in the background and wait, so that TERM is handled at once.
    sleep 2 &
    wait $!
done
