/*
 * main.c - ulogd: settings, wiring, start-up and the final report.
 *
 * Builds the pipeline once, against the direction of data so each stage
 * has its successor when it starts: the outputs (all.log, errors.log, the
 * console), the record pipeline, ulogd's own log, the socket, the
 * multiline stage, the line assembler, the connections and the event loop;
 * then runs the loop and tears it down in the opposite order. Everything that can be refused (settings, the log
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
#include "docker_engine.h"
#include "listener.h"
#include "logfile.h"
#include "multiline.h"
#include "outputs.h"
#include "pipeline.h"
#include "procs.h"
#include "ebpf_input.h"
#include "record.h"
#include "redact.h"
#include "reload.h"
#include "rules.h"
#include "selflog.h"
#include "server.h"
#include "serve.h"

#ifndef ULOG_VERSION
#define ULOG_VERSION "unknown"
#endif

/* ulogd's own records about its outputs go through the pipeline like any other. */
static void report_output(void *ctx, enum ulog_level level, const char *event_type,
                          json_t *metadata, const char *message)
{
    selflog_emit(ctx, level, event_type, metadata, "%s", message);
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

static void announce(const char *argv0, const struct ulogd_config *config, const char *log_path,
                     const char *socket_path, unsigned http_port)
{
    const char *log_dir = config->log_dir;
    bool socket_configured = config->socket != NULL;
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
    if (http_port)
        fprintf(stderr, "ulogd: watch it live:            http://%s:%u/%s  (API: /logs, /ws, /metrics)\n",
                config->service_host, http_port, config->token ? "?token=$ULOG_TOKEN" : "");
    free(ulog);
}

static json_t *describe_settings(const struct ulogd_config *config, const char *log_path,
                                const char *socket_path)
{
    const struct pipeline_settings *p = &config->pipeline;
    json_t *settings = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:b}", "version",
        ULOG_VERSION, "profile", config_profile_name(config->profile), "log_file", log_path,
        "socket", socket_path, "level", ulog_level_name(config->level), "console",
        console_mode_name(config->console), "rotation_size", (json_int_t)config->rotation_size,
        "backup_count", (json_int_t)config->backup_count, "max_line_bytes",
        (json_int_t)config->max_line_bytes, "errors_file",
        config->errors_file[0] ? config->errors_file : "off", "timestamp",
        config->line_timestamps ? "line" : "capture", "rules",
        (json_int_t)rule_set_count(p->rules), "redaction_patterns",
        (json_int_t)(p->redactor ? redactor_pattern_count(p->redactor) : 0), "multiline_formats",
        (json_int_t)(p->multiline ? multiline_formats_count(p->multiline) : 0), "lift", p->lift);
    if (config->config_file)
        json_object_set_new(settings, "config_file", json_string(config->config_file));
    json_object_set_new(settings, "docker", json_string(docker_mode_name(config->docker.mode)));
    if (config->docker.mode != DOCKER_MODE_OFF) {
        json_object_set_new(settings, "docker_socket", json_string(config->docker.socket));
        json_object_set_new(settings, "docker_collect",
                            json_string(docker_collect_name(config->docker.collect)));
    }
    return settings;
}

int main(int argc, char **argv)
{
    struct ulogd_config *config = must_malloc(sizeof *config);
    struct outputs outputs;
    struct pipeline pipeline;
    struct selflog selflog;
    struct listener listener;
    struct multiline multiline;
    struct assembler assembler;
    struct connection_context connections;
    struct reload reload;
    struct server server;
    struct procs *procs;
    struct ebpf_input *ebpf = NULL;
    struct docker_engine *docker = NULL;
    struct serve *serve;
    char host[256] = "";
    char err[1024];
    char *socket_path;
    size_t left;
    int status = 0;

    json_set_alloc_funcs(must_malloc, free);
    switch (config_load(config, argc, argv, err, sizeof err)) {
    case CONFIG_OK:
        break;
    case CONFIG_EXIT_SUCCESS:
        config_free(config);
        free(config);
        return 0;
    case CONFIG_ERROR:
        fprintf(stderr, "ulogd: %s\n", err);
        config_free(config);
        free(config);
        return 2;
    }
    if (server_block_signals() != 0) {
        fprintf(stderr, "ulogd: cannot block signals: %s\n", strerror(errno));
        return 1;
    }
    raise_descriptor_limit();
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "localhost");

    if (outputs_open(&outputs, config, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        config_free(config);
        free(config);
        return 1;
    }
    /* Before the first record: the store's last id is where the ids go on. */
    serve = serve_open(config, host);
    outputs.feed = serve_feed(serve);
    pipeline_init(&pipeline, config, &outputs);
    /* The pipeline applies every minimum level itself; the sink takes all. */
    struct record_sink sink = {.write = pipeline_sink_write, .ctx = &pipeline,
                               .min_level = ULOG_DEBUG};
    selflog_init(&selflog, sink, host);
    pipeline_set_selflog(&pipeline, &selflog);
    outputs.report = report_output;
    outputs.report_ctx = &selflog;

    socket_path = config->socket ? must_strdup(config->socket)
                                 : listener_default_path(err, sizeof err);
    if (!socket_path || listener_open(&listener, socket_path, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        pipeline_free(&pipeline);
        outputs_close(&outputs, &left);
        serve_stop(serve);
        free(socket_path);
        config_free(config);
        free(config);
        return 1;
    }
    /* Crash context and process records: fed by the connections (and eBPF). */
    procs = procs_new(&pipeline, &selflog, host, config->ebpf.crash_context_lines);
    multiline_init(&multiline, config->pipeline.multiline, config->pipeline.multiline_timeout_ns,
                   config->pipeline.multiline_max_lines, config->pipeline.multiline_max_bytes,
                   NULL, connection_emit_line, &connections);
    assembler_init(&assembler, config->max_line_bytes, ASSEMBLER_PARTIAL_LINE_TIMEOUT_NS, NULL,
                   connection_line_assembled, &connections);
    connection_context_init(&connections, &assembler, &multiline, &pipeline, sink, &selflog, host);
    connection_context_set_procs(&connections, procs);
    reload_init(&reload, argc, argv, config, &pipeline, &multiline, &outputs, &selflog);
    /* ebpf.mode on and no eBPF: refuse to start; auto: one WARNING, and on without it. */
    if (ebpf_input_start(&ebpf, config, procs, &connections, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        status = 1;
        goto out;
    }
    connections.ebpf = ebpf;
    /* docker.mode on and no engine: refuse to start; auto: it connects when it can. */
    if (docker_engine_start(&docker, config, &connections, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        status = 1;
        goto out;
    }
    connections.docker = docker;
    /* The store's writer, PostgreSQL and the HTTP thread (a port in use: on without it). */
    if (serve_start(serve, &pipeline, &selflog, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        status = 1;
        goto out;
    }
    reload.procs = procs;
    reload.ebpf = ebpf;
    struct server_parts parts = {
        .listener = &listener,
        .connections = &connections,
        .assembler = &assembler,
        .multiline = &multiline,
        .pipeline = &pipeline,
        .outputs = &outputs,
        .reload = &reload,
        .selflog = &selflog,
        .procs = procs,
        .ebpf = ebpf,
        .docker = docker,
        .serve = serve,
    };
    if (server_init(&server, &parts, err, sizeof err) != 0) {
        fprintf(stderr, "ulogd: %s\n", err);
        status = 1;
        goto out;
    }

    selflog_emit(&selflog, ULOG_INFO, "ulogd_start",
                 describe_settings(config, outputs.all.log.path, socket_path),
                 "ulogd %s started (%s profile): writing %s, listening on %s", ULOG_VERSION,
                 config_profile_name(config->profile), outputs.all.log.path, socket_path);
    announce(argv[0], config, outputs.all.log.path, socket_path, serve_http_port(serve));

    if (server_run(&server) != 0)
        status = 1;
    /* Its last events, captured partial lines and lost count, before the stop record. */
    connections.ebpf = NULL;
    reload.ebpf = NULL;
    ebpf_input_close(ebpf);
    ebpf = NULL;
    /* The containers' last lines, read from the engine, before the stop record. */
    uint64_t docker_lines, docker_events;
    docker_engine_counts(docker, &docker_lines, &docker_events); /* the loop read them all */
    connections.docker = NULL;
    docker_engine_close(docker);
    docker = NULL;
    /* A process whose connection closed while it was still exiting is looked
     * at again 20 ms later: at a stop, that look happens now (a pass with the
     * clock a second ahead), or its exit record would be lost. */
    procs_expire(procs, assembler_monotonic_now() + 1000000000u);
    /* Rate-limit counts not yet reported would otherwise go unsaid. */
    pipeline_housekeeping(&pipeline, UINT64_MAX);

    const struct connection_stats *stats = &connections.stats;
    const struct pipeline_stats *ps = &pipeline.stats;
    char signal_name[32] = "";
    if (server.stop_signal)
        snprintf(signal_name, sizeof signal_name, "SIG%s", sigabbrev_np(server.stop_signal));
    selflog_emit(&selflog, ULOG_INFO, "ulogd_stop",
                 json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                           "signal", server.stop_signal ? signal_name : NULL, "connections",
                           (json_int_t)stats->accepted, "messages", (json_int_t)stats->messages,
                           "lines", (json_int_t)stats->lines, "connection_errors",
                           (json_int_t)stats->failed, "records_lost",
                           (json_int_t)outputs.all.log.refused_lines, "records_written",
                           (json_int_t)ps->records_out, "dropped_by_rule",
                           (json_int_t)ps->dropped_by_rule, "rate_limited",
                           (json_int_t)ps->rate_limited, "below_level",
                           (json_int_t)ps->below_level, "redactions", (json_int_t)ps->redactions,
                           "reloads", (json_int_t)reload.reloads, "docker_lines",
                           (json_int_t)docker_lines, "docker_events", (json_int_t)docker_events),
                 "ulogd stopped: %" PRIu64 " connections, %" PRIu64 " lines, %" PRIu64
                 " connection errors",
                 stats->accepted, stats->lines, stats->failed);
    server_free(&server);
out:
    /* After the stop record, so that the store has it too. */
    serve_stop(serve);
    outputs.feed = NULL;
    connections.docker = NULL;
    docker_engine_close(docker); /* NULL unless server_init failed */
    ebpf_input_close(ebpf); /* NULL unless server_init failed */
    connection_context_free(&connections);
    procs_free(procs);
    assembler_free(&assembler);
    multiline_free(&multiline);
    if (outputs_close(&outputs, &left) != 0) {
        fprintf(stderr, "ulogd: writing %s failed: %s; %zu bytes of records are lost\n",
                LOGFILE_NAME, strerror(errno), left);
        status = 1;
    }
    pipeline_free(&pipeline);
    listener_close(&listener);
    free(socket_path);
    config = reload.config; /* a reload may have replaced it */
    reload_free(&reload);
    config_free(config);
    free(config);
    return status;
}
