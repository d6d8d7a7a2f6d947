/*
 * reload.c - replacing the running configuration (see reload.h).
 */
#include "reload.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "alloc.h"
#include "ebpf_input.h"
#include "procs.h"
#include "redact.h"
#include "rules.h"

static void watch(struct reload *r)
{
    const char *file = r->config->config_file;
    char *copy, *dir;

    r->inotify_fd = -1;
    if (!file || !r->config->watch)
        return;
    r->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (r->inotify_fd < 0) {
        fprintf(stderr, "ulogd: cannot watch %s (%s): send SIGHUP after editing it\n", file,
                strerror(errno));
        return;
    }
    copy = must_strdup(file);
    dir = dirname(copy);
    if (inotify_add_watch(r->inotify_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
        fprintf(stderr, "ulogd: cannot watch %s (%s): send SIGHUP after editing it\n", file,
                strerror(errno));
        close(r->inotify_fd);
        r->inotify_fd = -1;
    }
    free(copy);
    copy = must_strdup(file);
    r->watched_name = must_strdup(basename(copy));
    free(copy);
}

void reload_init(struct reload *r, int argc, char **argv, struct ulogd_config *config,
                 struct pipeline *pipeline, struct multiline *multiline, struct outputs *outputs,
                 struct selflog *selflog)
{
    memset(r, 0, sizeof *r);
    r->argc = argc;
    r->argv = argv;
    r->config = config;
    r->pipeline = pipeline;
    r->multiline = multiline;
    r->outputs = outputs;
    r->selflog = selflog;
    watch(r);
}

void reload_free(struct reload *r)
{
    if (r->inotify_fd >= 0)
        close(r->inotify_fd);
    free(r->watched_name);
    r->inotify_fd = -1;
    r->watched_name = NULL;
}

void reload_file_changed(struct reload *r, uint64_t now_ns)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(r->inotify_fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->len && strcmp(ev->name, r->watched_name) == 0)
                r->due = now_ns + RELOAD_SETTLE_NS;
            p += sizeof *ev + ev->len;
        }
    }
}

void reload_housekeeping(struct reload *r, uint64_t now_ns)
{
    if (r->due && now_ns >= r->due) {
        r->due = 0;
        reload_now(r, "file changed");
    }
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * Settings the running process cannot change: keep the running values and
 * name each one that differs, so the user knows a restart is needed.
 */
static void keep_fixed_settings(struct ulogd_config *next, const struct ulogd_config *now,
                                char *changed, size_t size)
{
    changed[0] = '\0';
#define KEEP_STRING(field, name)                                                            \
    if (!same(next->field, now->field)) {                                                   \
        strncat(changed, changed[0] ? ", " name : name, size - strlen(changed) - 1);        \
        free(next->field);                                                                  \
        next->field = now->field ? must_strdup(now->field) : NULL;                          \
    }
#define KEEP_VALUE(field, name)                                                             \
    if (next->field != now->field) {                                                        \
        strncat(changed, changed[0] ? ", " name : name, size - strlen(changed) - 1);        \
        next->field = now->field;                                                           \
    }
    KEEP_STRING(log_dir, "log_dir");
    KEEP_STRING(socket, "socket");
    KEEP_STRING(service_host, "service_host");
    KEEP_VALUE(max_line_bytes, "max_line_bytes");
    KEEP_VALUE(service_port, "service_port");
    KEEP_VALUE(buffer_size, "buffer_size");
    KEEP_VALUE(ebpf.mode, "ebpf.mode");
    KEEP_VALUE(ebpf.scope, "ebpf.scope");
    KEEP_VALUE(ebpf.capture_bytes, "ebpf.capture_bytes");
    /* The collector keeps the engine connection it opened with these. */
    KEEP_VALUE(docker.mode, "docker.mode");
    KEEP_VALUE(docker.collect, "docker.collect");
    KEEP_STRING(docker.socket, "docker.socket");
    /* The store's writer opened its file, its queue and its retention with these. */
    KEEP_VALUE(store.enabled, "store.mode");
    KEEP_STRING(store.path, "store.path");
    KEEP_VALUE(store.max_age_s, "store.max_age");
    KEEP_VALUE(store.max_size, "store.max_size");
    KEEP_VALUE(store.queue_bytes, "store.queue_bytes");
    KEEP_STRING(store.postgresql, "store.postgresql");
#undef KEEP_STRING
#undef KEEP_VALUE
}

void reload_now(struct reload *r, const char *why)
{
    struct ulogd_config *next = must_malloc(sizeof *next);
    char err[1024], fixed[256];

    if (config_load(next, r->argc, r->argv, err, sizeof err) != CONFIG_OK) {
        config_free(next);
        free(next);
        r->refusals++;
        fprintf(stderr, "ulogd: configuration not reloaded (%s), the running one stays: %s\n",
                why, err);
        selflog_emit(r->selflog, ULOG_ERROR, "config_rejected",
                     json_pack("{s:s, s:s}", "trigger", why, "error", err),
                     "configuration not reloaded (%s), the running one stays: %s", why, err);
        return;
    }
    keep_fixed_settings(next, r->config, fixed, sizeof fixed);

    /* Blocks pending under the old formats leave before those formats go. */
    multiline_flush_all(r->multiline);
    multiline_reconfigure(r->multiline, next->pipeline.multiline, next->pipeline.multiline_timeout_ns,
                          next->pipeline.multiline_max_lines, next->pipeline.multiline_max_bytes);
    rule_set_take_reports(next->pipeline.rules, r->config->pipeline.rules);
    pipeline_reconfigure(r->pipeline, next);
    outputs_reconfigure(r->outputs, next);
    if (r->procs)
        procs_set_context_lines(r->procs, next->ebpf.crash_context_lines);
    /* New program names and pids to capture; capture itself is set up at start only. */
    if (!ebpf_input_reload(r->ebpf, next))
        strncat(fixed, fixed[0] ? ", ebpf.capture_writes" : "ebpf.capture_writes",
                sizeof fixed - strlen(fixed) - 1);
    config_free(r->config);
    free(r->config);
    r->config = next;
    r->reloads++;

    const struct pipeline_settings *s = &next->pipeline;
    selflog_emit(r->selflog, ULOG_INFO, "config_reloaded",
                 json_pack("{s:s, s:s?, s:s, s:I, s:I, s:I, s:s?}", "trigger", why, "config_file",
                           next->config_file, "level", ulog_level_name(next->level), "rules",
                           (json_int_t)rule_set_count(s->rules), "redaction_patterns",
                           (json_int_t)(s->redactor ? redactor_pattern_count(s->redactor) : 0),
                           "multiline_formats",
                           (json_int_t)(s->multiline ? multiline_formats_count(s->multiline) : 0),
                           "needs_restart", fixed[0] ? fixed : NULL),
                 "configuration reloaded (%s)%s%s", why,
                 fixed[0] ? "; a restart is needed to change " : "", fixed);
    if (fixed[0])
        fprintf(stderr, "ulogd: configuration reloaded; a restart is needed to change %s\n", fixed);
}
