/*
 * connection.c - one shim's connection (see connection.h).
 *
 * HELLO's strings are kept as sent (up to a NUL): the record encoder makes
 * any bytes safe, so there is one place that decides what "safe" means.
 */
#include "connection.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "docker_shim.h"
#include "ebpf_input.h"
#include "ulog/wire.h"

/* One byte more than any valid message, so that an oversized one shows. */
#define RECEIVE_SIZE (ULOG_WIRE_MAX_MESSAGE + 1)
/* Descriptors a misbehaving peer may push at us in one message and we close. */
#define MAX_STRAY_FDS 16

void connection_context_init(struct connection_context *ctx, struct assembler *assembler,
                             struct multiline *multiline, struct pipeline *pipeline,
                             struct record_sink sink, struct selflog *selflog, const char *host)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->assembler = assembler;
    ctx->multiline = multiline;
    ctx->pipeline = pipeline;
    ctx->sink = sink;
    ctx->selflog = selflog;
    ctx->host = host;
    ctx->buffer = must_malloc(RECEIVE_SIZE);
    list_init(&ctx->held);
}

void connection_context_free(struct connection_context *ctx)
{
    free(ctx->buffer);
    ctx->buffer = NULL;
}

void connection_context_set_procs(struct connection_context *ctx, struct procs *procs)
{
    ctx->procs = procs;
}

struct connection *connection_new(struct connection_context *ctx, int fd)
{
    struct connection *c = must_calloc(1, sizeof *c);

    list_init(&c->link);
    list_init(&c->held_link);
    c->ctx = ctx;
    c->fd = fd;
    c->source = "preload";
    line_set_init(&c->lines, c);
    multiline_set_init(&c->blocks, c);
    ctx->stats.accepted++;
    return c;
}

void connection_destroy(struct connection *c)
{
    c->ctx->stats.closed++;
    docker_shim_release(c); /* what waited for the engine, before the partial lines */
    assembler_flush_set(c->ctx->assembler, &c->lines);
    multiline_flush_set(c->ctx->multiline, &c->blocks);
    /* After the flush: its last lines are in the crash context before its exit is told. */
    if (c->greeted)
        procs_disconnected(c->ctx->procs, c->kernel_pid);
    list_remove(&c->link);
    close(c->fd);
    free(c->program);
    free(c->service);
    free(c->host);
    json_decref(c->context);
    free(c);
}

static const char *stream_name(uint8_t stream)
{
    return stream == ULOG_STREAM_STDERR ? "stderr" : "stdout";
}

/* json_integer() holds a signed 64-bit value; counters beyond it are capped. */
static json_t *count_value(uint64_t n)
{
    return json_integer(n > INT64_MAX ? INT64_MAX : (json_int_t)n);
}

static const char *display_name(const struct connection *c)
{
    return c->program && c->program[0] ? c->program : "an unidentified program";
}

/* Report a protocol fault; the caller closes the connection. */
static void fault(struct connection *c, const char *reason)
{
    struct connection_context *ctx = c->ctx;
    uint32_t pid = c->kernel_pid ? c->kernel_pid : c->pid;
    json_t *metadata = json_pack("{s:s, s:I, s:I}", "reason", reason, "pid", (json_int_t)pid,
                                 "messages", (json_int_t)c->messages);

    ctx->stats.failed++;
    if (c->program)
        json_object_set_new(metadata, "program", json_string(c->program));
    selflog_emit(ctx->selflog, ULOG_WARNING, "connection_error", metadata,
                 "closed the connection of %s (pid %" PRIu32 "): %s", display_name(c), pid, reason);
}

void connection_line_assembled(void *vctx, void *owner, const struct line *line)
{
    struct connection_context *ctx = vctx;
    struct connection *c = owner;

    ctx->stats.lines++;
    multiline_feed(ctx->multiline, &c->blocks, line);
}

void connection_emit_line(void *vctx, void *owner, const struct line *line,
                          const struct multiline_out *block)
{
    struct connection_context *ctx = vctx;
    struct connection *c = owner;
    json_t *metadata = NULL;

    if (line->part || (line->kernel_pid && line->kernel_pid != line->pid)) {
        metadata = json_object();
        if (line->part)
            json_object_set_new(metadata, "part", json_integer(line->part));
        if (line->partial)
            json_object_set_new(metadata, "partial", json_true());
        /* In another pid namespace: keep the pid ulogd (and the host) knows too. */
        if (line->kernel_pid && line->kernel_pid != line->pid)
            json_object_set_new(metadata, "host_pid", json_integer(line->kernel_pid));
    }
    struct record record = {
        .time_ns = line->time_ns,
        .level = ULOG_INFO,
        .service = c->service,
        .container = c->container,
        .host = c->host,
        .pid = line->pid,
        .tid = line->tid,
        .stream = stream_name(line->stream),
        .source = c->source,
        .message = (const char *)line->bytes,
        .message_len = line->len,
        .context = c->context,
        .metadata = metadata,
    };
    pipeline_line(ctx->pipeline, &record, line->stream == ULOG_STREAM_STDERR, block);
    json_decref(metadata);
    procs_line(ctx->procs, line->kernel_pid ? line->kernel_pid : c->kernel_pid,
               (const char *)line->bytes, line->len, line->stream == ULOG_STREAM_STDERR,
               line->time_ns);
}

static char *copy_string(struct ulog_wire_str s)
{
    return must_strndup(s.len ? s.ptr : "", s.len);
}

static void greet(struct connection *c, const struct ulog_wire_hello *hello, uint32_t sender)
{
    struct connection_context *ctx = c->ctx;
    const char *base;

    c->greeted = true;
    c->kernel_pid = sender;
    c->pid = hello->pid ? hello->pid : sender;
    c->program = copy_string(hello->program);
    base = strrchr(c->program, '/');
    base = base ? base + 1 : c->program;
    if (hello->service.len && hello->service.ptr[0])
        c->service = copy_string(hello->service);
    else
        c->service = must_strdup(base[0] ? base : "unknown");
    c->host = hello->host.len && hello->host.ptr[0] ? copy_string(hello->host)
                                                    : must_strdup(ctx->host);
    if (!container_of_pid((pid_t)sender, c->container) &&
        !container_from_guess(hello->container.ptr, hello->container.len, c->container))
        c->container[0] = '\0';

    if (hello->context.len) {
        json_error_t error;
        json_t *context = json_loadb(hello->context.ptr, hello->context.len,
                                     JSON_REJECT_DUPLICATES, &error);
        if (json_is_object(context)) {
            c->context = context;
        } else {
            json_decref(context);
            selflog_emit(ctx->selflog, ULOG_WARNING, "invalid_context",
                         json_pack("{s:I, s:s, s:s}", "pid", (json_int_t)c->pid, "program",
                                   c->program, "reason",
                                   context ? "not a JSON object" : error.text),
                         "ignoring ULOG_CONTEXT of %s (pid %" PRIu32 "): %s", display_name(c),
                         c->pid, context ? "not a JSON object" : error.text);
        }
    }
    /* The compose service and container name, when the engine knows the container. */
    docker_shim_greet(c, hello->service.len && hello->service.ptr[0]);
    ebpf_input_watch(ctx->ebpf, c->kernel_pid);
    procs_connected(ctx->procs, c->kernel_pid, c->pid, c->program, c->service, c->container,
                    c->host, c->context);
    if (record_sink_wants(&ctx->sink, ULOG_DEBUG))
        selflog_emit(ctx->selflog, ULOG_DEBUG, "connection_open",
                     json_pack("{s:I, s:s, s:s, s:I, s:I}", "pid", (json_int_t)c->pid, "program",
                               c->program, "service", c->service, "shim_version",
                               (json_int_t)hello->shim_version, "capture_mode",
                               (json_int_t)hello->capture_mode),
                     "%s (pid %" PRIu32 ") connected", display_name(c), c->pid);
}

static void report_drops(struct connection *c, const struct ulog_wire_dropped *d, uint32_t pid)
{
    struct connection_context *ctx = c->ctx;
    char message[128];
    int len;

    ctx->stats.drop_reports++;
    ctx->stats.dropped_messages += d->messages;
    if (!record_sink_wants(&ctx->sink, ULOG_WARNING))
        return;
    len = snprintf(message, sizeof message,
                   "%" PRIu64 " messages (%" PRIu64 " bytes) could not be sent by the shim",
                   d->messages, d->bytes);
    json_t *metadata = json_pack("{s:o, s:o}", "dropped_messages", count_value(d->messages),
                                 "dropped_bytes", count_value(d->bytes));
    struct record record = {
        .level = ULOG_WARNING,
        .service = c->service,
        .container = c->container,
        .host = c->host,
        .pid = pid,
        .source = c->source,
        .event_type = "dropped",
        .message = message,
        .message_len = (size_t)len,
        .context = c->context,
        .metadata = metadata,
    };
    ctx->sink.write(ctx->sink.ctx, &record);
    json_decref(metadata);
}

/* Act on one received message; false after a fault. */
bool connection_handle_message(struct connection *c, const unsigned char *bytes, size_t size,
                               uint32_t sender)
{
    struct connection_context *ctx = c->ctx;
    struct ulog_wire_msg msg;
    int status = ulog_wire_decode(bytes, size, &msg);

    if (status != ULOG_WIRE_OK) {
        fault(c, ulog_wire_strerror(status));
        return false;
    }
    /* Waiting for the engine to name it: kept as it came, once checked. */
    if (c->held && msg.type != ULOG_WIRE_HELLO && docker_shim_keep(c, bytes, size, sender))
        return true;
    c->messages++;
    ctx->stats.messages++;
    if (!c->greeted) {
        if (msg.type != ULOG_WIRE_HELLO) {
            fault(c, "the first message must be HELLO");
            return false;
        }
        greet(c, &msg.u.hello, sender);
        return true;
    }
    /*
     * A message from another pid than the one that said HELLO comes from a
     * child sharing the socket (vfork, posix_spawn) before it reconnects as
     * itself: its lines are its own, and it is single-threaded.
     */
    bool foreign = sender && c->kernel_pid && sender != c->kernel_pid;
    switch (msg.type) {
    case ULOG_WIRE_DATA: {
        const struct ulog_wire_data *d = &msg.u.data;
        struct chunk chunk = {
            .time_ns = d->timestamp_ns,
            .pid = foreign ? sender : c->pid,
            .kernel_pid = foreign ? sender : c->kernel_pid,
            .tid = foreign ? sender : d->tid,
            .stream = d->stream,
            .bytes = d->bytes,
            .len = d->len,
        };
        assembler_feed(ctx->assembler, &c->lines, &chunk);
        return true;
    }
    case ULOG_WIRE_DROPPED:
        report_drops(c, &msg.u.dropped, foreign ? sender : c->pid);
        return true;
    default:
        fault(c, "HELLO sent twice");
        return false;
    }
}

enum connection_state connection_read(struct connection *c, unsigned budget)
{
    for (unsigned count = 0; budget == 0 || count < budget; count++) {
        union {
            struct cmsghdr align;
            char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(MAX_STRAY_FDS * sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = c->ctx->buffer, .iov_len = RECEIVE_SIZE};
        struct msghdr msg = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = control.bytes,
            .msg_controllen = sizeof control.bytes,
        };
        /* MSG_TRUNC: the result is the message's real size, even past the buffer. */
        ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        uint32_t sender = 0;
        bool stray_fds = false;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return CONNECTION_IDLE;
            if (errno == ECONNRESET)
                return CONNECTION_EOF;
            char reason[128];
            snprintf(reason, sizeof reason, "receive failed: %s", strerror(errno));
            fault(c, reason);
            return CONNECTION_FAILED;
        }
        /* A message of 0 bytes is not the end: it still brings credentials
         * (SO_PASSCRED), and perhaps fds the kernel has already installed
         * here, which must be closed. Only a read with no control data at
         * all is the peer gone. */
        if (n == 0 && msg.msg_controllen == 0)
            return CONNECTION_EOF;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level != SOL_SOCKET)
                continue;
            if (cm->cmsg_type == SCM_CREDENTIALS &&
                cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(cm), sizeof cred);
                sender = cred.pid > 0 ? (uint32_t)cred.pid : 0;
            } else if (cm->cmsg_type == SCM_RIGHTS) {
                size_t count_fds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < count_fds; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
                    close(fd);
                }
                stray_fds = true;
            }
        }
        if (stray_fds || (msg.msg_flags & MSG_CTRUNC)) {
            fault(c, "sent file descriptors, which the protocol does not use");
            return CONNECTION_FAILED;
        }
        if (!c->greeted && sender)
            c->kernel_pid = sender; /* so that a fault before HELLO names someone */
        if (!connection_handle_message(c, c->ctx->buffer, (size_t)n, sender))
            return CONNECTION_FAILED;
    }
    return CONNECTION_BUSY;
}
