/*
 * test_store.c - the embedded store (aggregator/store*.c): records go in
 * through the feed as ulogd sends them and come back out as the same
 * objects; ids go on across restarts; a full queue drops whole batches and
 * counts them; retention by age and by size removes rows and their
 * full-text entries together; a file that is not a database is moved aside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "log_query.h"
#include "store_fixture.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static int64_t count_rows(const char *path, const char *sql)
{
    char err[256];
    sqlite3 *db = store_reader_open(path, err, sizeof err);
    sqlite3_stmt *stmt = NULL;
    int64_t n = -1;

    assert_non_null(db);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* The full-text index agrees with the table (FTS5 checks it against the content). */
static void assert_fts_in_step(const char *path)
{
    sqlite3 *db = NULL;
    char *message = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    int rc = sqlite3_exec(db,
                          "INSERT INTO system_logs_fts(system_logs_fts) VALUES('integrity-check')",
                          NULL, NULL, &message);
    if (rc != SQLITE_OK)
        fail_msg("FTS integrity-check: %s", message);
    sqlite3_close(db);
}

static const char *const every_key_order[] = {
    "log_id",  "timestamp", "level",    "service",  "container", "host",    "pid",
    "tid",     "stream",    "source",   "component", "event_type", "message", "trace_id",
    "span_id", "agent_id",  "task_id",  "context",  "metadata"};

static void round_trip_of_every_key(void **state)
{
    struct store_fixture *f = *state;
    static const char message[] = "first line\n\tsecond: bad \xff\xfe byte, NUL \0 inside, é";
    json_t *context = json_pack("{s:[s,s], s:i}", "lines", "a", "b", "exit_code", 3);
    json_t *metadata = json_pack("{s:s, s:{s:b}, s:f}", "client", "127.0.0.1", "nested", "ok", 1,
                                 "ratio", 0.5);
    struct record r = {
        .time_ns = 1763733738214521000ull, .level = ULOG_ERROR, .service = "api",
        .container = "0123456789ab", .host = "box", .pid = 42, .tid = 43, .stream = "stderr",
        .source = "shim", .component = "http", .event_type = "request", .message = message,
        .message_len = sizeof message - 1, .trace_id = "t-1", .span_id = "s-1",
        .agent_id = "agent-7", .task_id = "task-9", .context = context, .metadata = metadata,
    };
    struct bytebuf line = BYTEBUF_INIT;

    assert_non_null(fixture_open(f, true));
    assert_int_equal(f->notice[0], '\0');
    uint64_t id = fixture_add(f, &r);
    struct record plain = {.time_ns = 1763733739000000000ull, .level = ULOG_INFO, .message = "m",
                           .message_len = 1};
    uint64_t id2 = fixture_add(f, &plain);
    feed_commit(&f->feed);
    assert_true(fixture_wait(f, id2));
    fixture_close(f);

    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);

    char err[256];
    sqlite3 *db = store_reader_open(f->path, err, sizeof err);
    assert_non_null(db);
    struct log_query q;
    log_query_init(&q);
    json_t *result;
    bool bad;
    assert_int_equal(log_query_run(db, &q, &result, &bad, err, sizeof err), 0);
    json_t *logs = json_object_get(result, "logs");
    assert_int_equal(json_array_size(logs), 2);

    /* The first record: the line's object plus log_id, in all.log's key order. */
    json_t *got = json_array_get(logs, 1);
    assert_int_equal(json_integer_value(json_object_get(got, "log_id")), id);
    assert_int_equal(record_append_json(&r, &line), 0);
    json_t *expected = json_loadb(line.data, line.len, JSON_ALLOW_NUL, NULL);
    assert_non_null(expected);
    json_object_set_new(expected, "log_id", json_integer((json_int_t)id));
    assert_true(json_equal(got, expected));
    size_t k = 0;
    const char *key;
    json_t *value;
    json_object_foreach(got, key, value) {
        assert_true(k < sizeof every_key_order / sizeof every_key_order[0]);
        assert_string_equal(key, every_key_order[k++]);
    }
    assert_int_equal(k, sizeof every_key_order / sizeof every_key_order[0]);
    /* The message's NUL and escaped bytes survived. */
    json_t *text = json_object_get(got, "message");
    assert_int_equal(json_string_length(text),
                     json_string_length(json_object_get(expected, "message")));
    assert_non_null(strstr(json_string_value(text), "bad \\xFF\\xFE byte"));

    /* The second: only what it has, log_id first. */
    got = json_array_get(logs, 0);
    assert_int_equal(json_object_size(got), 4);
    assert_string_equal(json_object_iter_key(json_object_iter(got)), "log_id");
    assert_string_equal(json_string_value(json_object_get(got, "timestamp")),
                        "2025-11-21T14:02:19.000000Z");

    json_decref(result);
    json_decref(expected);
    json_decref(context);
    json_decref(metadata);
    bytebuf_free(&line);
    sqlite3_close(db);
    assert_fts_in_step(f->path);
}

static uint64_t add_many(struct store_fixture *f, int count, uint64_t time_ns, const char *text,
                         int per_batch)
{
    char message[512];
    uint64_t id = 0;

    for (int i = 0; i < count; i++) {
        snprintf(message, sizeof message, "%s number %d padding %0200d", text, i, i);
        struct record r = {.time_ns = time_ns + (uint64_t)i * 1000, .level = ULOG_INFO,
                           .service = "svc", .message = message, .message_len = strlen(message)};
        id = fixture_add(f, &r);
        if ((i + 1) % per_batch == 0)
            feed_commit(&f->feed);
    }
    feed_commit(&f->feed);
    return id;
}

static void ids_go_on_across_reopen(void **state)
{
    struct store_fixture *f = *state;
    struct store_stats stats;

    assert_non_null(fixture_open(f, true));
    assert_int_equal(store_max_id(f->store), 0);
    uint64_t last = add_many(f, 25, record_now_ns(), "first", 10);
    assert_int_equal(last, 25);
    assert_true(fixture_wait(f, last));
    store_get_stats(f->store, &stats);
    assert_int_equal(stats.committed_id, 25);
    assert_int_equal(stats.committed_total, 25);
    assert_int_equal(stats.rows, 25);
    assert_int_equal(stats.queued_records, 0);
    assert_int_equal(stats.queued_bytes, 0);
    assert_int_equal(stats.oldest_queued_ns, 0);
    assert_true(stats.commits_total >= 1 && stats.commits_total <= 3);
    assert_true(stats.file_bytes > 0);
    assert_int_equal(stats.errors_total, 0);
    fixture_close(f);

    assert_non_null(fixture_open(f, true));
    assert_int_equal(store_max_id(f->store), 25);
    assert_int_equal(store_committed_id(f->store), 25);
    store_get_stats(f->store, &stats);
    assert_int_equal(stats.rows, 25);
    last = add_many(f, 5, record_now_ns(), "second", 5);
    assert_int_equal(last, 30);
    assert_true(fixture_wait(f, last));
    fixture_close(f);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs"), 30);
    assert_int_equal(count_rows(f->path, "SELECT max(log_id) FROM system_logs"), 30);
}

static int hook_calls;
static void on_commit(void *ctx)
{
    (void)ctx;
    __atomic_add_fetch(&hook_calls, 1, __ATOMIC_SEQ_CST);
}

static void commit_hook_and_bad_lines(void **state)
{
    struct store_fixture *f = *state;
    struct store_stats stats;
    struct record r = {.level = ULOG_INFO, .message = "x", .message_len = 1};

    assert_non_null(fixture_open(f, true));
    hook_calls = 0;
    store_set_commit_hook(f->store, on_commit, NULL);
    feed_add(&f->feed, &r, "not json", 8);
    uint64_t last = add_many(f, 3, record_now_ns(), "good", 10);
    assert_true(fixture_wait(f, last));
    assert_true(__atomic_load_n(&hook_calls, __ATOMIC_SEQ_CST) >= 1);
    store_get_stats(f->store, &stats);
    assert_int_equal(stats.committed_total, 3);
    assert_int_equal(stats.errors_total, 1);
    assert_int_equal(stats.dropped_total, 1);
    assert_non_null(strstr(stats.last_error, "record 1 is not a JSON object"));
    fixture_close(f);
}

static void a_full_queue_drops_whole_batches(void **state)
{
    struct store_fixture *f = *state;
    struct store_stats stats;

    f->settings.queue_bytes = 100 << 10; /* two batches of ~37 KB, not three */
    assert_non_null(fixture_open(f, false)); /* no writer yet: everything waits */
    add_many(f, 100, record_now_ns(), "kept", 100);   /* ~30 KB */
    add_many(f, 100, record_now_ns(), "kept too", 100);
    store_get_stats(f->store, &stats);
    assert_int_equal(stats.queued_records, 200);
    assert_int_equal(stats.dropped_total, 0);
    assert_true(stats.oldest_queued_ns > 0);
    uint64_t last = add_many(f, 100, record_now_ns(), "dropped", 100);
    store_get_stats(f->store, &stats);
    assert_int_equal(stats.queued_records, 200);
    assert_int_equal(stats.dropped_total, 100);
    assert_true(stats.queued_bytes <= 100 << 10);

    assert_int_equal(store_start(f->store, f->err, sizeof f->err), 0);
    assert_true(fixture_wait(f, 200));
    assert_int_equal(store_committed_id(f->store), 200);
    (void)last;
    fixture_close(f);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs"), 200);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs_fts "
                                         "WHERE system_logs_fts MATCH 'dropped'"),
                     0);
}

static void close_drains_then_gives_up(void **state)
{
    struct store_fixture *f = *state;

    assert_non_null(fixture_open(f, true));
    add_many(f, 500, record_now_ns(), "drained", 50);
    store_close(f->store, 10000); /* everything queued is written first */
    feed_free(&f->feed);
    f->store = NULL;
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs"), 500);

    /* Never started, closed at once: the queue is dropped, not written. */
    assert_non_null(fixture_open(f, false));
    add_many(f, 10, record_now_ns(), "lost", 10);
    fixture_close(f);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs"), 500);
}

static void retention_by_age(void **state)
{
    struct store_fixture *f = *state;
    struct store_stats stats;
    uint64_t now = record_now_ns(), hour = 3600ull * 1000000000ull;

    f->settings.max_age_s = 3600;
    assert_non_null(fixture_open(f, false));
    add_many(f, 12000, now - 3 * hour, "ancient", 1000); /* more than one chunk */
    uint64_t last = add_many(f, 50, now - hour / 2, "recent", 50);
    assert_int_equal(store_start(f->store, f->err, sizeof f->err), 0);
    assert_true(fixture_wait(f, last));
    for (int i = 0; i < 1000; i++) {
        store_get_stats(f->store, &stats);
        if (stats.retention_deleted_total == 12000)
            break;
        usleep(10000);
    }
    assert_int_equal(stats.retention_deleted_total, 12000);
    assert_int_equal(stats.rows, 50);
    assert_int_equal(stats.errors_total, 0);
    fixture_close(f);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs"), 50);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs_fts "
                                         "WHERE system_logs_fts MATCH 'ancient'"),
                     0);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs_fts "
                                         "WHERE system_logs_fts MATCH 'recent'"),
                     50);
    assert_fts_in_step(f->path);
}

static void retention_by_size(void **state)
{
    struct store_fixture *f = *state;
    struct store_stats stats;
    uint64_t max = 2u << 20;

    f->settings.max_size = max;
    assert_non_null(fixture_open(f, true));
    uint64_t last = add_many(f, 20000, record_now_ns(), "sized", 500); /* ~8 MB of rows */
    assert_true(fixture_wait(f, last));
    int64_t pages = 0, page_size = 4096;
    for (int i = 0; i < 3000; i++) {
        store_get_stats(f->store, &stats);
        pages = count_rows(f->path, "PRAGMA page_count");
        if (stats.retention_deleted_total > 0 && (uint64_t)(pages * page_size) <= max)
            break;
        usleep(10000);
    }
    assert_true((uint64_t)(pages * page_size) <= max);
    assert_true(stats.retention_deleted_total > 10000);
    assert_int_equal(stats.rows + stats.retention_deleted_total, 20000);
    assert_int_equal(stats.errors_total, 0);
    fixture_close(f);
    /* The oldest went, the newest stayed. */
    assert_int_equal(count_rows(f->path, "SELECT max(log_id) FROM system_logs"), 20000);
    assert_true(count_rows(f->path, "SELECT min(log_id) FROM system_logs") > 10000);
    assert_fts_in_step(f->path);
}

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void a_broken_file_is_moved_aside(void **state)
{
    struct store_fixture *f = *state;
    char text[8192];

    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text, "this is not a database", 22);
    write_file(f->path, text);
    assert_non_null(fixture_open(f, true));
    assert_non_null(strstr(f->notice, "was not a usable database"));
    assert_non_null(strstr(f->notice, ".corrupt-"));
    uint64_t last = add_many(f, 3, record_now_ns(), "fresh", 3);
    assert_true(fixture_wait(f, last));
    fixture_close(f);
    assert_int_equal(count_rows(f->path, "SELECT count(*) FROM system_logs"), 3);

    /* The old file is kept, under the name the notice gives. */
    const char *moved = strstr(f->notice, "moved to ") + strlen("moved to ");
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(moved, ","), moved);
    FILE *file = fopen(name, "r");
    assert_non_null(file);
    char head[32] = "";
    assert_non_null(fgets(head, sizeof head, file));
    fclose(file);
    assert_memory_equal(head, "this is not a database", 22);
}

static void foreign_and_newer_files_are_refused(void **state)
{
    struct store_fixture *f = *state;
    sqlite3 *db;

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE mine (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_null(fixture_open(f, true));
    assert_non_null(strstr(f->err, "ulogd did not make"));

    unlink(f->path);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA user_version=99", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_null(fixture_open(f, true));
    assert_non_null(strstr(f->err, "newer ulogd"));

    char err[256];
    assert_null(store_reader_open("/nonexistent/dir/ulog.db", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/dir/ulog.db"));
}

static void relative_and_absolute_paths(void **state)
{
    struct store_fixture *f = *state;
    char absolute[160];

    f->settings.path = "sub/dir/other.db";
    assert_non_null(fixture_open(f, false));
    char expected[160];
    snprintf(expected, sizeof expected, "%s/sub/dir/other.db", f->dir);
    assert_string_equal(store_path(f->store), expected);
    fixture_close(f);
    unlink(expected);
    snprintf(absolute, sizeof absolute, "%s/sub/dir", f->dir);
    fixture_remove_dir(absolute);
    snprintf(absolute, sizeof absolute, "%s/sub", f->dir);
    fixture_remove_dir(absolute);

    snprintf(absolute, sizeof absolute, "%s/abs.db", f->dir);
    f->settings.path = absolute;
    assert_non_null(fixture_open(f, false));
    assert_string_equal(store_path(f->store), absolute);
    fixture_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_of_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(ids_go_on_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_hook_and_bad_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_queue_drops_whole_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(close_drains_then_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(retention_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(a_broken_file_is_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_and_newer_files_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(relative_and_absolute_paths, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
