/*
 * test_procs.c - the process registry (aggregator/procs.c, procs_report.c):
 * crash context, exit records from eBPF and from /proc, deferral, bounds.
 *
 * Records go through a real pipeline into all.log in a temporary directory
 * and are read back as JSON, so what is checked is what a person would see.
 * Pids above the kernel's pid_max stand for processes that do not exist;
 * the /proc cases fork real children and leave them zombies or reap them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "outputs.h"
#include "pipeline.h"
#include "procs.h"
#include "procs_private.h"
#include "selflog.h"

/* Beyond any pid_max (at most 2^22): /proc has no such process. */
#define NOPID 90000001u

struct fixture {
    char dir[64];
    struct ulogd_config config;
    struct outputs outputs;
    struct pipeline pipeline;
    struct selflog selflog;
    struct procs *procs;
    size_t read_so_far;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    strcpy(f->dir, "/tmp/test_procs.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    config_defaults(&f->config);
    assert_int_equal(config_apply_profile(&f->config, "testing", err, sizeof err), 0);
    free(f->config.log_dir);
    f->config.log_dir = strdup(f->dir);
    assert_int_equal(config_finish(&f->config, err, sizeof err), 0);
    assert_int_equal(outputs_open(&f->outputs, &f->config, err, sizeof err), 0);
    pipeline_init(&f->pipeline, &f->config, &f->outputs);
    struct record_sink sink = {.write = pipeline_sink_write, .ctx = &f->pipeline,
                               .min_level = ULOG_DEBUG};
    selflog_init(&f->selflog, sink, "testhost");
    pipeline_set_selflog(&f->pipeline, &f->selflog);
    f->procs = procs_new(&f->pipeline, &f->selflog, "testhost", 3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[128];
    size_t left;

    procs_free(f->procs);
    outputs_close(&f->outputs, &left);
    pipeline_free(&f->pipeline);
    config_free(&f->config);
    snprintf(path, sizeof path, "%s/all.log", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/errors.log", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The records written since the last call, as a JSON array. */
static json_t *take(struct fixture *f)
{
    char path[128], line[65536];
    json_t *records = json_array();
    size_t index = 0;
    FILE *in;

    outputs_flush(&f->outputs);
    snprintf(path, sizeof path, "%s/all.log", f->dir);
    in = fopen(path, "r");
    assert_non_null(in);
    while (fgets(line, sizeof line, in)) {
        if (index++ < f->read_so_far)
            continue;
        json_error_t error;
        json_t *record = json_loads(line, JSON_ALLOW_NUL, &error);
        if (!record)
            fail_msg("not JSON (%s): %s", error.text, line);
        json_array_append_new(records, record);
    }
    fclose(in);
    f->read_so_far = index;
    return records;
}

/* Exactly one new record, of this event type. */
static json_t *take_one(struct fixture *f, const char *event_type)
{
    json_t *records = take(f);
    if (json_array_size(records) != 1) {
        char *dump = json_dumps(records, 0);
        fail_msg("expected one %s record, got: %s", event_type, dump);
    }
    json_t *record = json_incref(json_array_get(records, 0));
    json_decref(records);
    assert_string_equal(json_string_value(json_object_get(record, "event_type")), event_type);
    if (strcmp(event_type, "process_registry_full") != 0) /* ulogd's own have no stream */
        assert_string_equal(json_string_value(json_object_get(record, "stream")), "event");
    return record;
}

static void assert_none(struct fixture *f)
{
    json_t *records = take(f);
    if (json_array_size(records) != 0) {
        char *dump = json_dumps(records, 0);
        fail_msg("expected no record, got: %s", dump);
    }
    json_decref(records);
}

static const char *str(const json_t *record, const char *key)
{
    const json_t *v = json_object_get(record, key);
    return v ? json_string_value(v) : NULL;
}

static const json_t *meta(const json_t *record, const char *key)
{
    return json_object_get(json_object_get(record, "metadata"), key);
}

static long long meta_int(const json_t *record, const char *key)
{
    const json_t *v = meta(record, key);
    if (!json_is_integer(v))
        fail_msg("metadata.%s is not an integer", key);
    return json_integer_value(v);
}

static void line(struct fixture *f, uint32_t kpid, const char *text, bool is_stderr)
{
    procs_line(f->procs, kpid, text, strlen(text), is_stderr, 0);
}

static void connect_api(struct fixture *f, uint32_t kpid)
{
    json_t *context = json_pack("{s:s}", "env", "test");
    procs_connected(f->procs, kpid, 7, "api", "api-svc", "3f4e5d6c7b8a", "web-1", context);
    json_decref(context);
}

/* Last N lines, oldest first, each capped; the ring follows a new N. */
static void crash_context_kept(void **state)
{
    struct fixture *f = *state;
    char big[3000];

    procs_set_exact(f->procs, true);
    connect_api(f, NOPID);
    line(f, NOPID, "one", false);
    line(f, NOPID, "two", false);
    line(f, NOPID, "three", true);
    line(f, NOPID, "four", false);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[1023] = '\xc3', big[1024] = '\xa9'; /* é across the cap: cut before it */
    line(f, NOPID, big, true);
    procs_line(f->procs, NOPID, "bad \xff byte", 10, false, 0);
    procs_exit(f->procs, NOPID, 1, 3 << 8, "api", NULL, 0);
    assert_none(f); /* a connection is open: its lines may still come */
    line(f, NOPID, "last words", true);
    procs_disconnected(f->procs, NOPID);

    json_t *r = take_one(f, "process_exit");
    assert_string_equal(str(r, "level"), "ERROR");
    assert_string_equal(str(r, "source"), "ebpf");
    assert_string_equal(str(r, "service"), "api-svc");
    assert_string_equal(str(r, "container"), "3f4e5d6c7b8a");
    assert_string_equal(str(r, "host"), "web-1");
    assert_int_equal(json_integer_value(json_object_get(r, "pid")), 7);
    assert_string_equal(str(json_object_get(r, "context"), "env"), "test");
    assert_string_equal(str(r, "message"), "api (pid 7) exited with status 3");
    assert_int_equal(meta_int(r, "exit_status"), 3);
    assert_int_equal(meta_int(r, "host_pid"), NOPID);
    assert_int_equal(meta_int(r, "ppid"), 1);
    assert_string_equal(json_string_value(meta(r, "program")), "api");
    assert_int_equal(meta_int(r, "lines_before_exit"), 3);
    const json_t *lines = meta(r, "last_lines");
    assert_int_equal(json_array_size(lines), 3);
    const json_t *l0 = json_array_get(lines, 0), *l1 = json_array_get(lines, 1),
                 *l2 = json_array_get(lines, 2);
    assert_int_equal(strlen(str(l0, "message")), 1023);
    assert_string_equal(str(l0, "stream"), "stderr");
    assert_true(json_is_true(json_object_get(l0, "truncated")));
    assert_string_equal(str(l1, "message"), "bad \\xFF byte");
    assert_string_equal(str(l1, "stream"), "stdout");
    assert_null(json_object_get(l1, "truncated"));
    assert_string_equal(str(l2, "message"), "last words");
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);

    /* A smaller N keeps the newest lines. */
    procs_set_context_lines(f->procs, 5);
    connect_api(f, NOPID);
    for (int i = 0; i < 5; i++) {
        char text[16];
        snprintf(text, sizeof text, "l%d", i);
        line(f, NOPID, text, false);
    }
    procs_set_context_lines(f->procs, 2);
    line(f, NOPID, "l5", false);
    procs_disconnected(f->procs, NOPID);
    procs_exit(f->procs, NOPID, 1, 1 << 8, NULL, NULL, 0);
    r = take_one(f, "process_exit");
    lines = meta(r, "last_lines");
    assert_int_equal(json_array_size(lines), 2);
    assert_string_equal(str(json_array_get(lines, 0), "message"), "l4");
    assert_string_equal(str(json_array_get(lines, 1), "message"), "l5");
    json_decref(r);
}

static void clean_exit_is_info_without_lines(void **state)
{
    struct fixture *f = *state;

    procs_set_exact(f->procs, true);
    connect_api(f, NOPID);
    line(f, NOPID, "bye", false);
    procs_disconnected(f->procs, NOPID);
    assert_none(f); /* with eBPF, a close says nothing */
    assert_true(procs_next_deadline(f->procs) != UINT64_MAX);
    procs_exit(f->procs, NOPID, 1, 0, "api", NULL, 1700000000000000000ull);
    json_t *r = take_one(f, "process_exit");
    assert_string_equal(str(r, "level"), "INFO");
    assert_string_equal(str(r, "message"), "api (pid 7) exited with status 0");
    assert_string_equal(str(r, "timestamp"), "2023-11-14T22:13:20.000000Z");
    assert_int_equal(meta_int(r, "exit_status"), 0);
    assert_null(meta(r, "last_lines"));
    assert_null(meta(r, "lines_before_exit"));
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
    assert_int_equal(procs_next_deadline(f->procs), UINT64_MAX);
}

static void killed_by_signal_names_sender(void **state)
{
    struct fixture *f = *state;

    procs_set_exact(f->procs, true);
    connect_api(f, NOPID);
    line(f, NOPID, "working", false);
    procs_signal(f->procs, NOPID, SIGKILL, 77, "kill", NULL, 0);
    json_t *r = take_one(f, "signal");
    assert_string_equal(str(r, "level"), "WARNING");
    assert_string_equal(str(r, "source"), "ebpf");
    assert_string_equal(str(r, "message"), "SIGKILL sent to api (pid 7) by kill (pid 77)");
    assert_int_equal(meta_int(r, "sig"), SIGKILL);
    assert_string_equal(json_string_value(meta(r, "signal_name")), "SIGKILL");
    assert_int_equal(meta_int(r, "sender_pid"), 77);
    assert_string_equal(json_string_value(meta(r, "sender_program")), "kill");
    json_decref(r);

    procs_exit(f->procs, NOPID, 1, SIGKILL, "api", NULL, 0);
    procs_disconnected(f->procs, NOPID);
    r = take_one(f, "process_exit");
    assert_string_equal(str(r, "level"), "CRITICAL");
    assert_string_equal(str(r, "message"), "api (pid 7) was killed by SIGKILL, sent by kill (pid 77)");
    assert_int_equal(meta_int(r, "signal"), SIGKILL);
    assert_string_equal(json_string_value(meta(r, "signal_name")), "SIGKILL");
    assert_true(json_is_false(meta(r, "core_dumped")));
    assert_int_equal(meta_int(r, "sender_pid"), 77);
    assert_string_equal(json_string_value(meta(r, "sender_program")), "kill");
    assert_null(meta(r, "exit_status"));
    assert_int_equal(json_array_size(meta(r, "last_lines")), 1);
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
}

/*
 * The exit of a process no HELLO named waits PROCS_HELLO_WAIT_NS for one
 * (it may be queued in a socket ulogd has not read yet): nothing is written
 * before, and the wait's end writes it.
 */
static void hello_never_came(struct fixture *f)
{
    assert_none(f);
    procs_expire(f->procs, procs_next_deadline(f->procs));
}

/* A process ulogd never met: named by `who`, else by its comm. */
static void unknown_process_core_dump(void **state)
{
    struct fixture *f = *state;
    struct proc_identity who = {.program = "worker", .service = "worker-svc",
                                .container = "aabbccddeeff"};

    procs_set_exact(f->procs, true);
    procs_exit(f->procs, 5, 1, SIGSEGV | 0x80, "worker", &who, 0);
    hello_never_came(f);
    json_t *r = take_one(f, "process_exit");
    assert_string_equal(str(r, "level"), "CRITICAL");
    assert_string_equal(str(r, "message"), "worker (pid 5) was killed by SIGSEGV (core dumped)");
    assert_string_equal(str(r, "service"), "worker-svc");
    assert_string_equal(str(r, "container"), "aabbccddeeff");
    assert_string_equal(str(r, "host"), "testhost");
    assert_true(json_is_true(meta(r, "core_dumped")));
    assert_null(meta(r, "last_lines"));
    assert_null(meta(r, "host_pid"));
    json_decref(r);

    procs_exit(f->procs, 6, 0, 2 << 8, "x", NULL, 0);
    hello_never_came(f);
    r = take_one(f, "process_exit");
    assert_string_equal(str(r, "service"), "x");
    assert_string_equal(str(r, "message"), "x (pid 6) exited with status 2");
    assert_null(json_object_get(r, "container"));
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
}

/* Its exit overtook its HELLO: one record, under the shim's name, after its lines. */
static void exit_before_hello_is_one_record(void **state)
{
    struct fixture *f = *state;
    struct proc_identity who = {.program = "sh", .service = "sh", .container = "3f4e5d6c7b8a",
                                .pid = 8};

    procs_set_exact(f->procs, true);
    procs_exit(f->procs, NOPID, 1, 1 << 8, "sh", &who, 0);
    assert_none(f);
    connect_api(f, NOPID);
    line(f, NOPID, "job failed", true);
    assert_none(f);
    procs_disconnected(f->procs, NOPID);
    json_t *r = take_one(f, "process_exit");
    assert_string_equal(str(r, "service"), "api-svc");
    assert_string_equal(str(r, "host"), "web-1");
    assert_int_equal(json_integer_value(json_object_get(r, "pid")), 7);
    assert_int_equal(meta_int(r, "host_pid"), NOPID);
    assert_string_equal(str(r, "message"), "api (pid 7) exited with status 1");
    assert_int_equal(json_array_size(meta(r, "last_lines")), 1);
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
    procs_expire(f->procs, UINT64_MAX);
    assert_none(f);
}

/* Without a HELLO, the kernel's word: the pid in the process's own namespace. */
static void unknown_exit_gives_the_namespace_pid(void **state)
{
    struct fixture *f = *state;
    struct proc_identity who = {.program = "job", .service = "job", .container = "3f4e5d6c7b8a",
                                .pid = 12};

    procs_set_exact(f->procs, true);
    procs_exit(f->procs, NOPID, 1, 0, "job", &who, 0);
    hello_never_came(f);
    json_t *r = take_one(f, "process_exit");
    assert_int_equal(json_integer_value(json_object_get(r, "pid")), 12);
    assert_int_equal(meta_int(r, "host_pid"), NOPID);
    assert_string_equal(str(r, "message"), "job (pid 12) exited with status 0");
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
}

static void oom_kill(void **state)
{
    struct fixture *f = *state;

    procs_set_exact(f->procs, true);
    procs_oom(f->procs, 9, "x", NULL, 0);
    json_t *r = take_one(f, "oom_kill");
    assert_string_equal(str(r, "level"), "CRITICAL");
    assert_string_equal(str(r, "message"), "x (pid 9) was chosen by the OOM killer");
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 1); /* the mark waits for the exit */
    procs_exit(f->procs, 9, 1, SIGKILL, "x", NULL, 0);
    hello_never_came(f);
    r = take_one(f, "process_exit");
    assert_string_equal(str(r, "level"), "CRITICAL");
    assert_string_equal(str(r, "message"), "x (pid 9) was killed by the OOM killer");
    assert_true(json_is_true(meta(r, "oom_killed")));
    assert_int_equal(meta_int(r, "signal"), SIGKILL);
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);

    /* A mark whose exit never comes is forgotten. */
    procs_oom(f->procs, 10, "y", NULL, 0);
    json_decref(take(f));
    procs_expire(f->procs, procs_next_deadline(f->procs));
    assert_int_equal(procs_count(f->procs), 0);
}

static void exec_record(void **state)
{
    struct fixture *f = *state;

    connect_api(f, NOPID);
    procs_exec(f->procs, NOPID, 42, "/bin/ls", "ls -l /tmp", NULL, 0);
    json_t *r = take_one(f, "process_exec");
    assert_string_equal(str(r, "level"), "INFO");
    assert_string_equal(str(r, "source"), "ebpf");
    assert_string_equal(str(r, "service"), "api-svc");
    assert_string_equal(str(r, "message"), "exec /bin/ls ls -l /tmp");
    assert_string_equal(json_string_value(meta(r, "filename")), "/bin/ls");
    assert_string_equal(json_string_value(meta(r, "args")), "ls -l /tmp");
    assert_int_equal(meta_int(r, "ppid"), 42);
    json_decref(r);
}

/* An eBPF exit waits while a connection is open, at most PROCS_EXIT_WAIT_NS. */
static void deferred_exit_expires(void **state)
{
    struct fixture *f = *state;

    procs_set_exact(f->procs, true);
    connect_api(f, NOPID);
    line(f, NOPID, "before", false);
    uint64_t before = assembler_monotonic_now();
    procs_exit(f->procs, NOPID, 1, 4 << 8, "api", NULL, 0);
    uint64_t due = procs_next_deadline(f->procs);
    assert_true(due >= before + PROCS_EXIT_WAIT_NS);
    assert_true(due <= assembler_monotonic_now() + PROCS_EXIT_WAIT_NS);
    procs_expire(f->procs, due - 1);
    assert_none(f);
    procs_expire(f->procs, due);
    json_t *r = take_one(f, "process_exit");
    assert_string_equal(str(r, "message"), "api (pid 7) exited with status 4");
    assert_int_equal(json_array_size(meta(r, "last_lines")), 1);
    json_decref(r);
    /* Its connection closes later: nothing more is said, nothing is left. */
    line(f, NOPID, "straggler", false);
    procs_exit(f->procs, NOPID, 1, 4 << 8, "api", NULL, 0);
    procs_disconnected(f->procs, NOPID);
    assert_none(f);
    assert_int_equal(procs_count(f->procs), 0);
    assert_int_equal(procs_next_deadline(f->procs), UINT64_MAX);
}

static pid_t child_exiting(int how)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (how < 0)
            raise(-how);
        _exit(how);
    }
    return pid;
}

/* Wait until the child is a zombie, without reaping it. */
static void wait_zombie(pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        struct proc_stat st;
        procs_read_stat((uint32_t)pid, 0, &st);
        if (st.state == PROC_ZOMBIE)
            return;
        usleep(10000);
    }
    fail_msg("child %d never became a zombie", (int)pid);
}

/* Without eBPF: a zombie's status is read from /proc. */
static void proc_zombie_status(void **state)
{
    struct fixture *f = *state;
    pid_t pid = child_exiting(3);
    char name[64];

    wait_zombie(pid);
    procs_connected(f->procs, (uint32_t)pid, (uint32_t)pid, "child", "child", "", NULL, NULL);
    line(f, (uint32_t)pid, "boom", true);
    procs_disconnected(f->procs, (uint32_t)pid);
    json_t *r = take_one(f, "process_exit");
    snprintf(name, sizeof name, "child (pid %d) exited with status 3", (int)pid);
    assert_string_equal(str(r, "message"), name);
    assert_string_equal(str(r, "level"), "ERROR");
    assert_string_equal(str(r, "source"), "preload");
    assert_string_equal(json_string_value(meta(r, "status_from")), "proc");
    assert_int_equal(meta_int(r, "exit_status"), 3);
    assert_int_equal(meta_int(r, "ppid"), getpid());
    assert_string_equal(str(json_array_get(meta(r, "last_lines"), 0), "message"), "boom");
    assert_null(meta(r, "host_pid"));
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
    waitpid(pid, NULL, 0);

    pid = child_exiting(-SIGKILL);
    wait_zombie(pid);
    procs_connected(f->procs, (uint32_t)pid, (uint32_t)pid, "child", "child", "", NULL, NULL);
    procs_disconnected(f->procs, (uint32_t)pid);
    r = take_one(f, "process_exit");
    assert_string_equal(str(r, "level"), "CRITICAL");
    assert_int_equal(meta_int(r, "signal"), SIGKILL);
    json_decref(r);
    waitpid(pid, NULL, 0);
}

/* Without eBPF: a reaped process's status is gone; it is said so. */
static void proc_reaped_unknown(void **state)
{
    struct fixture *f = *state;
    pid_t pid = child_exiting(3);
    char name[64];

    waitpid(pid, NULL, 0);
    procs_connected(f->procs, (uint32_t)pid, 1, "child", "child", "", NULL, NULL);
    line(f, (uint32_t)pid, "why", false);
    procs_disconnected(f->procs, (uint32_t)pid);
    json_t *r = take_one(f, "process_exit");
    snprintf(name, sizeof name, "child (pid 1) ended (exit status unknown without eBPF)");
    assert_string_equal(str(r, "message"), name);
    assert_string_equal(str(r, "level"), "WARNING");
    assert_string_equal(str(r, "source"), "preload");
    assert_true(json_is_false(meta(r, "status_known")));
    assert_int_equal(meta_int(r, "host_pid"), pid);
    assert_int_equal(json_array_size(meta(r, "last_lines")), 1);
    json_decref(r);
    assert_int_equal(procs_count(f->procs), 0);
}

/* Without eBPF: a process that lives on after closing its socket is looked at again. */
static void proc_still_running(void **state)
{
    struct fixture *f = *state;
    uint32_t self = (uint32_t)getpid();

    procs_connected(f->procs, self, self, "me", "me", "", NULL, NULL);
    procs_disconnected(f->procs, self);
    assert_none(f);
    assert_int_equal(procs_count(f->procs), 1);
    uint64_t due = procs_next_deadline(f->procs);
    assert_true(due != UINT64_MAX);
    procs_expire(f->procs, due);
    assert_none(f);
    assert_true(procs_next_deadline(f->procs) > due);
    /* It reconnects (an exec): no deadline while connected. */
    procs_connected(f->procs, self, self, "me2", "me2", "", NULL, NULL);
    assert_int_equal(procs_next_deadline(f->procs), UINT64_MAX);
    assert_int_equal(procs_count(f->procs), 1);
}

/* The registry is bounded: the oldest idle entry goes first, reported once. */
static void bounded(void **state)
{
    struct fixture *f = *state;

    procs_set_exact(f->procs, true);
    procs_set_max_entries(f->procs, 3);
    for (uint32_t i = 0; i < 3; i++)
        connect_api(f, NOPID + i);
    procs_disconnected(f->procs, NOPID + 1); /* idle now */
    connect_api(f, NOPID + 3);
    connect_api(f, NOPID + 4);
    assert_int_equal(procs_count(f->procs), 3);
    json_t *r = take_one(f, "process_registry_full");
    assert_string_equal(str(r, "source"), "ulogd");
    json_decref(r);
    /* NOPID + 1 went first (idle), then the oldest: NOPID. */
    procs_exit(f->procs, NOPID + 1, 0, 1 << 8, "gone", NULL, 0);
    hello_never_came(f);
    r = take_one(f, "process_exit");
    assert_null(meta(r, "last_lines")); /* forgotten: no crash context left */
    json_decref(r);
    procs_exit(f->procs, NOPID + 2, 0, 1 << 8, "api", NULL, 0);
    assert_none(f); /* still connected: deferred */
    assert_int_equal(procs_count(f->procs), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(crash_context_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(clean_exit_is_info_without_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_by_signal_names_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_process_core_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(exit_before_hello_is_one_record, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_exit_gives_the_namespace_pid, setup, teardown),
        cmocka_unit_test_setup_teardown(oom_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(exec_record, setup, teardown),
        cmocka_unit_test_setup_teardown(deferred_exit_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(proc_zombie_status, setup, teardown),
        cmocka_unit_test_setup_teardown(proc_reaped_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(proc_still_running, setup, teardown),
        cmocka_unit_test_setup_teardown(bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
