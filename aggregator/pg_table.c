/*
 * pg_table.c - system_logs in PostgreSQL (see pg_table.h).
 *
 * Each value of a row comes from the record's line in all.log, parsed by
 * jansson, so that PostgreSQL holds what all.log holds; the level comes
 * from the feed item, one of the five (the table's CHECK allows no other).
 * A key all.log omits (it omits empty ones) is NULL (\N).
 *
 * NUL: all.log spells a NUL byte \u0000, which PostgreSQL's text and jsonb
 * cannot hold. Each NUL becomes U+FFFD, the replacement character, in every
 * column and inside context and metadata; chosen over the six characters
 * "\u0000", which would read as a message that really had a backslash.
 */
#include "pg_table.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define REPLACEMENT_CHARACTER "\xEF\xBF\xBD"

/* The indexes are the SQLite store's, plus full text on the message. */
const char pg_table_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS system_logs ("
    " log_id BIGINT PRIMARY KEY,"
    " timestamp TIMESTAMPTZ NOT NULL,"
    " level TEXT NOT NULL CHECK (level IN ('DEBUG','INFO','WARNING','ERROR','CRITICAL')),"
    " service TEXT, container TEXT, host TEXT, pid INTEGER, tid INTEGER, stream TEXT,"
    " source TEXT, component TEXT, event_type TEXT,"
    " message TEXT NOT NULL,"
    " trace_id TEXT, span_id TEXT, agent_id TEXT, task_id TEXT,"
    " context JSONB, metadata JSONB);"
    "CREATE INDEX IF NOT EXISTS system_logs_timestamp ON system_logs (timestamp);"
    "CREATE INDEX IF NOT EXISTS system_logs_level_timestamp ON system_logs (level, timestamp);"
    "CREATE INDEX IF NOT EXISTS system_logs_service_timestamp ON system_logs (service, timestamp);"
    "CREATE INDEX IF NOT EXISTS system_logs_container ON system_logs (container);"
    "CREATE INDEX IF NOT EXISTS system_logs_component ON system_logs (component);"
    "CREATE INDEX IF NOT EXISTS system_logs_event_type ON system_logs (event_type);"
    "CREATE INDEX IF NOT EXISTS system_logs_trace_id ON system_logs (trace_id);"
    "CREATE INDEX IF NOT EXISTS system_logs_agent_id ON system_logs (agent_id);"
    "CREATE INDEX IF NOT EXISTS system_logs_task_id ON system_logs (task_id);"
    "CREATE INDEX IF NOT EXISTS system_logs_message_fts ON system_logs"
    " USING GIN (to_tsvector('simple', message));"
    /* Per connection; emptied by each commit. */
    "CREATE TEMP TABLE IF NOT EXISTS system_logs_staging (LIKE system_logs)"
    " ON COMMIT DELETE ROWS;";

/* The text columns after level, in PG_TABLE_COLUMNS' order, as all.log names them. */
static const char *const text_keys_before_pid[] = {"service", "container", "host"};
static const char *const text_keys_after_tid[] = {"stream", "source", "component", "event_type"};
static const char *const id_keys[] = {"trace_id", "span_id", "agent_id", "task_id"};

/* `len` bytes as one COPY text field: \, newline, CR and tab escaped, NUL as U+FFFD. */
static void put_text(struct bytebuf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\': bytebuf_append(out, "\\\\", 2); break;
        case '\n': bytebuf_append(out, "\\n", 2); break;
        case '\r': bytebuf_append(out, "\\r", 2); break;
        case '\t': bytebuf_append(out, "\\t", 2); break;
        case '\0': bytebuf_append(out, REPLACEMENT_CHARACTER, 3); break;
        default: bytebuf_append_byte(out, s[i]);
        }
    }
}

static void put_separator(struct bytebuf *out)
{
    bytebuf_append_byte(out, '\t');
}

static void put_null(struct bytebuf *out)
{
    bytebuf_append(out, "\\N", 2);
}

static void put_string_key(struct bytebuf *out, json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);

    put_separator(out);
    if (json_is_string(value))
        put_text(out, json_string_value(value), json_string_length(value));
    else
        put_null(out);
}

static void put_int32_key(struct bytebuf *out, json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    char digits[24];

    put_separator(out);
    if (json_is_integer(value) && json_integer_value(value) >= 0 &&
        json_integer_value(value) <= INT32_MAX) {
        int n = snprintf(digits, sizeof digits, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        bytebuf_append(out, digits, (size_t)n);
    } else {
        put_null(out);
    }
}

/* jsonb refuses \u0000: every NUL in the tree's strings becomes U+FFFD.
 * (jansson keeps NUL out of object keys.) */
static void replace_nuls(json_t *value)
{
    const char *key;
    json_t *member;
    size_t index;

    if (json_is_object(value)) {
        json_object_foreach(value, key, member)
            replace_nuls(member);
    } else if (json_is_array(value)) {
        json_array_foreach(value, index, member)
            replace_nuls(member);
    } else if (json_is_string(value) &&
               memchr(json_string_value(value), '\0', json_string_length(value))) {
        const char *s = json_string_value(value);
        size_t len = json_string_length(value);
        struct bytebuf fixed = BYTEBUF_INIT;

        for (size_t i = 0; i < len; i++) {
            if (s[i])
                bytebuf_append_byte(&fixed, s[i]);
            else
                bytebuf_append(&fixed, REPLACEMENT_CHARACTER, 3);
        }
        json_string_setn(value, fixed.data, fixed.len);
        bytebuf_free(&fixed);
    }
}

static void put_json_key(struct bytebuf *out, json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    char *text = NULL;

    put_separator(out);
    if (json_is_object(value)) {
        replace_nuls(value);
        text = json_dumps(value, JSON_COMPACT);
    }
    if (text)
        put_text(out, text, strlen(text));
    else
        put_null(out);
    free(text);
}

bool pg_table_row(struct bytebuf *out, const struct feed_item *item)
{
    char timestamp[RECORD_TIMESTAMP_SIZE];
    char id[24];
    json_t *line = json_loadb(item->line, item->line_len, JSON_ALLOW_NUL, NULL);
    json_t *message, *stamp;

    if (!json_is_object(line)) {
        json_decref(line);
        return false;
    }
    bytebuf_append(out, id, (size_t)snprintf(id, sizeof id, "%llu", (unsigned long long)item->id));
    put_separator(out);
    /* all.log's own spelling (RFC 3339, UTC): the item's time_ns may have been
     * read from the clock a moment apart from it. */
    stamp = json_object_get(line, "timestamp");
    if (json_is_string(stamp) && json_string_length(stamp) > 0) {
        put_text(out, json_string_value(stamp), json_string_length(stamp));
    } else {
        record_format_timestamp(item->time_ns, timestamp);
        bytebuf_append(out, timestamp, RECORD_TIMESTAMP_LEN);
    }
    put_separator(out);
    bytebuf_append(out, ulog_level_name(item->level), strlen(ulog_level_name(item->level)));
    for (size_t i = 0; i < sizeof text_keys_before_pid / sizeof *text_keys_before_pid; i++)
        put_string_key(out, line, text_keys_before_pid[i]);
    put_int32_key(out, line, "pid");
    put_int32_key(out, line, "tid");
    for (size_t i = 0; i < sizeof text_keys_after_tid / sizeof *text_keys_after_tid; i++)
        put_string_key(out, line, text_keys_after_tid[i]);
    put_separator(out);
    message = json_object_get(line, "message");
    if (json_is_string(message))
        put_text(out, json_string_value(message), json_string_length(message));
    for (size_t i = 0; i < sizeof id_keys / sizeof *id_keys; i++)
        put_string_key(out, line, id_keys[i]);
    put_json_key(out, line, "context");
    put_json_key(out, line, "metadata");
    bytebuf_append_byte(out, '\n');
    json_decref(line);
    return true;
}
