/*
 * main.c - ulogd: settings, wiring, start-up and the final report.
 *
 * Builds the pipeline once, in data order: all.log, the record sink that
 * writes to it, ulogd's own log, the socket, the line assembler, the
 * connections and the event loop; then runs the loop and tears it down in
 * the opposite order. Everything that can be refused (settings, the log
 * directory, the socket) is refused here, before anything runs, with one
 * line on stderr and exit status 1 (2 for a usage error).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "assembler.h"
#include "bytebuf.h"
#include "config.h"
#include "connection.h"
#include "listener.h"
#include "logfile.h"
#include "record.h"
#include "selflog.h"
#include "server.h"

#ifndef ULOG_VERSION
#define ULOG_VERSION "unknown"
#endif

/* The record sink: one JSON line per record, appended to all.log. */
struct output {
    struct logfile *logfile;
    struct bytebuf line;
    enum ulog_level min_level;
    uint64_t records;
    uint64_t unencodable;
};

static void write_record(void *ctx, const struct record *record)
{
    struct output *out = ctx;

    if (record->level < out->min_level)
        return;
    out->line.len = 0;
    if (record_append_json(record, &out->line) != 0) {
        out->unencodable++;
        return;
    }
    if (logfile_append(out->logfile, out->line.data, out->line.len) == 0)
        out->records++;
}

/* Every connection holds a descriptor: allow as many as the hard limit does. */
static void raise_descriptor_limit(void)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

/*
 * How the user would type the `ulog` that sits next to this ulogd: "build/ulog"
 * after `make`, plain "ulog" when installed on the PATH.
 */
static char *ulog_command(const char *argv0)
{
    char exe[PATH_MAX], *slash;
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 6);

    if (len <= 0)
        return must_strdup("ulog");
    exe[len] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return must_strdup("ulog");
    strcpy(slash + 1, "ulog");
    if (access(exe, X_OK) != 0 || !strchr(argv0, '/'))
        return must_strdup("ulog");
    slash = strrchr(argv0, '/');
    size_t dir_len = (size_t)(slash - argv0) + 1;
    char *command = must_malloc(dir_len + sizeof "ulog");
    memcpy(command, argv0, dir_len);
    memcpy(command + dir_len, "ulog", sizeof "ulog");
    return command;
}

static void announce(const char *argv0, const char *log_dir, const char *log_path,
                     const char *socket_path, bool socket_configured)
{
    char *ulog = ulog_command(argv0);

    /* The first thing a person sees after `make run`: where the log is, how
     * to put a program under the shim, and how to read what it wrote. */
    fprintf(stderr, "ulogd: writing %s, listening on %s\n", log_path, socket_path);
    if (socket_configured)
        fprintf(stderr, "ulogd: run a program under it:  %s run --socket %s -- CMD\n", ulog,
                socket_path);
    else
        fprintf(stderr, "ulogd: run a program under it:  %s run -- CMD\n", ulog);
    fprintf(stderr, "ulogd: read the unified log:     %s tail -f --log-dir %s\n", ulog,
            log_dir);
    free(ulog);
}

int main(int argc, char **argv)
{
    struct ulogd_config config;
    struct logfile logfile;
    struct output output = {.line = BYTEBUF_INIT};
    struct selflog selflog;
    struct listener listener;
    struct assembler assembler;
    struct connection_context connections;
    struct server server;
    char host[256] = "";
    char err[1024];
    char *socket_path;
    int status = 0;

    json_set_alloc_funcs(must_malloc, free);
    switch (config_load(&config, argc, argv, err, sizeof err)) {
    case CONFIG_OK:
        break;
    case CONFIG_EXIT_SUCCESS:
        config_free(&config);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "ulogd: %s\n", err);
        config_free(&config);
        return 2;
    }
    if (server_block_signals() != 0) {
        fprintf(stderr, "ulogd: cannot block signals: %s\n", strerror(errno));
        return 1;
    }
    raise_descriptor_limit();
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "localhost");

    if (logfile_open(&logfile, config.log_dir, config.rotation_size, config.backup_count) != 0) {
        fprintf(stderr, "ulogd: cannot open %s/%s: %s\n", config.log_dir, LOGFILE_NAME,
                strerror(errno));
        config_free(&config);
        return 1;
    }
    output.logfile = &logfile;
    output.min_level = config.level;
    struct record_sink sink = {.write = write_record, .ctx = &output, .min_level = config.level};
    selflog_init(&selflog, sink, host);

    socket_path = config.socket ? must_strdup(config.socket) : listener_default_path(err, sizeof err);
    if (!socket_path || listener_open(&listener, socket_path, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        logfile_close(&logfile);
        free(socket_path);
        config_free(&config);
        return 1;
    }
    assembler_init(&assembler, config.max_line_bytes, ASSEMBLER_PARTIAL_LINE_TIMEOUT_NS, NULL,
                   connection_emit_line, &connections);
    connection_context_init(&connections, &assembler, sink, &selflog, host);
    if (server_init(&server, &listener, &connections, &assembler, &logfile, &selflog, err,
                    sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        status = 1;
        goto out;
    }

    json_t *settings = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "version", ULOG_VERSION,
                                 "log_file", logfile.path, "socket", socket_path, "level",
                                 ulog_level_name(config.level), "rotation_size",
                                 (json_int_t)config.rotation_size, "backup_count",
                                 (json_int_t)config.backup_count, "max_line_bytes",
                                 (json_int_t)config.max_line_bytes);
    if (config.config_file)
        json_object_set_new(settings, "config_file", json_string(config.config_file));
    selflog_emit(&selflog, ULOG_INFO, "ulogd_start", settings,
                 "ulogd %s started: writing %s, listening on %s", ULOG_VERSION, logfile.path,
                 socket_path);
    announce(argv[0], config.log_dir, logfile.path, socket_path, config.socket != NULL);

    if (server_run(&server) != 0)
        status = 1;

    const struct connection_stats *stats = &connections.stats;
    char signal_name[32] = "";
    if (server.stop_signal)
        snprintf(signal_name, sizeof signal_name, "SIG%s", sigabbrev_np(server.stop_signal));
    selflog_emit(&selflog, ULOG_INFO, "ulogd_stop",
                 json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I}", "signal",
                           server.stop_signal ? signal_name : NULL,
                           "connections", (json_int_t)stats->accepted, "messages",
                           (json_int_t)stats->messages, "lines", (json_int_t)stats->lines,
                           "connection_errors", (json_int_t)stats->failed, "records_lost",
                           (json_int_t)logfile.refused_lines),
                 "ulogd stopped: %" PRIu64 " connections, %" PRIu64 " lines, %" PRIu64
                 " connection errors",
                 stats->accepted, stats->lines, stats->failed);
    server_free(&server);
out:
    connection_context_free(&connections);
    assembler_free(&assembler);
    if (logfile_flush(&logfile) != 0) {
        fprintf(stderr, "ulogd: writing %s failed: %s; %zu bytes of records are lost\n",
                logfile.path, strerror(errno), logfile.queued.len);
        status = 1;
    }
    logfile_close(&logfile);
    listener_close(&listener);
    bytebuf_free(&output.line);
    free(socket_path);
    config_free(&config);
    return status;
}
