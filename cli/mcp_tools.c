/*
 * mcp_tools.c - the table of `ulog mcp`'s tools and of their arguments,
 * from which both tools/list's JSON Schemas and the checks of tools/call
 * are made (they cannot disagree), and the bound on every answer.
 *
 * A call whose arguments break the schema (an unknown name, a wrong type,
 * a number out of range, a level that is none) is answered as a tool
 * result with isError and a text naming the argument, so the assistant can
 * correct itself; only an unknown tool is a protocol error (mcp.c).
 *
 * Every text is at most MCP_TEXT_LIMIT bytes: records are dropped from the
 * end of the list (from its start where the newest are last, tail_logs)
 * until the JSON fits, and the answer says so in a "truncated" field, the
 * note telling the assistant to narrow the query.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_tools.h"
#include "ulog/level.h"

enum arg_type { ARG_STRING, ARG_INTEGER, ARG_BOOLEAN, ARG_LEVEL };

struct arg {
    const char *name;
    enum arg_type type;
    long long min, max; /* ARG_INTEGER */
    bool required;
    const char *description;
};

struct tool {
    const char *name, *title, *description;
    mcp_tool_fn *run;
    const struct arg *args; /* ends with {NULL} */
};

#define TIME_TEXT "an age before now (90s, 15m, 2h, 7d) or an RFC 3339 time (2026-11-21T14:00:00Z)"
#define EXACT(field, what) {field, ARG_STRING, 0, 0, false, "only records whose " field " is exactly this" what}

static const struct arg query_args[] = {
    {"start_time", ARG_STRING, 0, 0, false, "records from this time on (inclusive): " TIME_TEXT},
    {"end_time", ARG_STRING, 0, 0, false, "records before this time (exclusive): " TIME_TEXT},
    {"level", ARG_STRING, 0, 0, false,
     "exactly these levels: one of DEBUG, INFO, WARNING, ERROR, CRITICAL or a comma list "
     "(ERROR,CRITICAL)"},
    {"min_level", ARG_LEVEL, 0, 0, false, "this level and above"},
    EXACT("service", ""),
    {"container", ARG_STRING, 0, 0, false, "the container's 12-hex id, or a prefix of it"},
    EXACT("component", " (the logger name, app.db)"),
    EXACT("event_type", " (process_exit, oom_kill, container_die, dropped ...)"),
    EXACT("trace_id", ""),
    EXACT("agent_id", ""),
    EXACT("task_id", ""),
    EXACT("source", " (preload, ebpf, docker, ulogd, api)"),
    EXACT("host", ""),
    {"q", ARG_STRING, 0, 0, false,
     "full-text search of the message: every bare word must appear; \"a phrase\", word*, OR, "
     "NOT as in SQLite FTS5"},
    {"limit", ARG_INTEGER, 1, 1000, false, "at most this many records (default 100)"},
    {"offset", ARG_INTEGER, 0, 1000000000, false, "skip the newest N matching records (paging: "
                                                  "use the answer's next_offset)"},
    {NULL, 0, 0, 0, false, NULL},
};

static const struct arg tail_args[] = {
    {"limit", ARG_INTEGER, 1, 500, false, "how many of the latest records (default 50)"},
    EXACT("service", ""),
    {"min_level", ARG_LEVEL, 0, 0, false, "only records of this level and above"},
    {NULL, 0, 0, 0, false, NULL},
};

static const struct arg context_args[] = {
    {"since", ARG_STRING, 0, 0, false, "start of the window (default 15m): " TIME_TEXT},
    {"until", ARG_STRING, 0, 0, false, "end of the window (default now): " TIME_TEXT},
    EXACT("service", ""),
    {"level", ARG_LEVEL, 0, 0, false,
     "the lowest level that counts as a problem, shown in full with the lines before it "
     "(default ERROR; counts and templates cover every level)"},
    {"budget", ARG_INTEGER, 1000, 60000, false,
     "the most characters of Markdown to return (default 8000; about 4 characters a token)"},
    {NULL, 0, 0, 0, false, NULL},
};

static const struct arg services_args[] = {
    {"since", ARG_STRING, 0, 0, false, "start of the window (default 1h): " TIME_TEXT},
    {"until", ARG_STRING, 0, 0, false, "end of the window (default now): " TIME_TEXT},
    {NULL, 0, 0, 0, false, NULL},
};

static const struct arg events_args[] = {
    {"since", ARG_STRING, 0, 0, false, "start of the window (default 1h): " TIME_TEXT},
    {"until", ARG_STRING, 0, 0, false, "end of the window (default now): " TIME_TEXT},
    EXACT("service", ""),
    {"only_abnormal", ARG_BOOLEAN, 0, 0, false,
     "only abnormal ends: a non-zero or unknown exit status, a fatal signal, an OOM kill, a "
     "container that died with a non-zero code (default false)"},
    {"limit", ARG_INTEGER, 1, 500, false, "at most this many events, the newest (default 100)"},
    {NULL, 0, 0, 0, false, NULL},
};

static const struct arg trace_args[] = {
    {"trace_id", ARG_STRING, 0, 0, true, "the trace id, exactly as in the records"},
    {"limit", ARG_INTEGER, 1, 1000, false, "at most this many records (default 1000)"},
    {NULL, 0, 0, 0, false, NULL},
};

static const struct tool tools[] = {
    {"log_context", "Digest of recent logs",
     "Start here. A Markdown digest of a time window of the stack's logs, sized to a budget: "
     "services and counts per level, repeated messages collapsed into templates with counts, "
     "and the latest errors and crashes in full with the lines that preceded them and the "
     "process exit record. structuredContent has the same as JSON. Reads ulogd's store, or "
     "all.log when there is none.",
     mcp_log_context, context_args},
    {"query_logs", "Search the logs",
     "Records of ulogd's store matching every filter given (the filters of GET /logs), newest "
     "first, at most `limit` (1 to 1000) per call; next_offset pages on. Returns {logs, count, "
     "limit, offset, next_offset}; the text is cut to 64 KiB (oldest records dropped, said in "
     "\"truncated\").",
     mcp_query_logs, query_args},
    {"tail_logs", "Latest log records",
     "The latest records (default 50, at most 500), oldest first, optionally of one service "
     "and from a minimum level. Returns {logs, count, origin}; cut to 64 KiB keeping the "
     "newest. Reads all.log when there is no store.",
     mcp_tail_logs, tail_args},
    {"list_services", "Services and containers",
     "Every service seen in a window (default the last hour): its records, counts per level, "
     "errors (ERROR + CRITICAL), first and last record time, and its containers (id, name, "
     "records). Busiest first.",
     mcp_list_services, services_args},
    {"process_events", "Process exits, crashes and OOM kills",
     "process_exit, oom_kill, container_die, container_kill, container_oom and "
     "container_restart records of a window (default the last hour), newest first, at most "
     "`limit` (default 100, at most 500). A process_exit's metadata has exit_status or "
     "signal/signal_name, and for an abnormal end its last_lines.",
     mcp_process_events, events_args},
    {"trace", "Records of one trace",
     "Every record carrying one trace_id, across services, oldest first (by timestamp), at "
     "most `limit` (default and most 1000).",
     mcp_trace, trace_args},
};
#define TOOL_COUNT (sizeof tools / sizeof tools[0])

/* ---- tools/list ------------------------------------------------------------------ */

static json_t *input_schema(const struct arg *args)
{
    json_t *properties = json_object(), *required = json_array();

    for (const struct arg *a = args; a->name; a++) {
        json_t *p = json_object();
        static const char *const types[] = {"string", "integer", "boolean", "string"};
        json_object_set_new(p, "type", json_string(types[a->type]));
        json_object_set_new(p, "description", json_string(a->description));
        if (a->type == ARG_LEVEL) {
            json_t *levels = json_array();
            for (int l = 0; l < ULOG_LEVEL_COUNT; l++)
                json_array_append_new(levels, json_string(ulog_level_name((enum ulog_level)l)));
            json_object_set_new(p, "enum", levels);
        } else if (a->type == ARG_INTEGER) {
            json_object_set_new(p, "minimum", json_integer(a->min));
            json_object_set_new(p, "maximum", json_integer(a->max));
        } else if (a->type == ARG_STRING) {
            json_object_set_new(p, "minLength", json_integer(1));
        }
        json_object_set_new(properties, a->name, p);
        if (a->required)
            json_array_append_new(required, json_string(a->name));
    }
    json_t *schema = json_pack("{s:s, s:o}", "type", "object", "properties", properties);
    if (json_array_size(required))
        json_object_set(schema, "required", required);
    json_decref(required);
    json_object_set_new(schema, "additionalProperties", json_false());
    return schema;
}

json_t *mcp_tools_list(void)
{
    json_t *list = json_array();
    for (size_t i = 0; i < TOOL_COUNT; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o}", "name", tools[i].name,
                                              "title", tools[i].title, "description",
                                              tools[i].description, "inputSchema",
                                              input_schema(tools[i].args)));
    return json_pack("{s:o}", "tools", list);
}

/* ---- checking the arguments ---------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* One argument's value; -1 with err. A whole number written 10.0 becomes 10. */
static int check_value(const struct arg *a, json_t *arguments, json_t *v, char *err, size_t size)
{
    static const char *const wanted[] = {"a string", "an integer", "a boolean", "a string"};
    bool ok;

    switch (a->type) {
    case ARG_STRING:
    case ARG_LEVEL:
        ok = json_is_string(v);
        break;
    case ARG_BOOLEAN:
        ok = json_is_boolean(v);
        break;
    default:
        if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
            fabs(json_real_value(v)) < 1e15) {
            json_object_set_new(arguments, a->name, json_integer((json_int_t)json_real_value(v)));
            v = json_object_get(arguments, a->name);
        }
        ok = json_is_integer(v);
    }
    if (!ok) {
        snprintf(err, size, "argument \"%s\": must be %s, not %s", a->name, wanted[a->type],
                 type_name(v));
        return -1;
    }
    if (a->type == ARG_INTEGER &&
        (json_integer_value(v) < a->min || json_integer_value(v) > a->max)) {
        snprintf(err, size, "argument \"%s\": must be between %lld and %lld, not %lld", a->name,
                 a->min, a->max, (long long)json_integer_value(v));
        return -1;
    }
    if ((a->type == ARG_STRING || a->type == ARG_LEVEL) && !json_string_length(v)) {
        snprintf(err, size, "argument \"%s\": must not be empty", a->name);
        return -1;
    }
    if (a->type == ARG_LEVEL && ulog_level_parse(json_string_value(v)) < 0) {
        snprintf(err, size, "argument \"%s\": must be one of DEBUG, INFO, WARNING, ERROR, "
                            "CRITICAL, not \"%.64s\"", a->name, json_string_value(v));
        return -1;
    }
    return 0;
}

static int check_arguments(const struct tool *t, json_t *arguments, char *err, size_t size)
{
    const char *key;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(arguments, tmp, key, v) {
        const struct arg *a = t->args;
        while (a->name && strcmp(a->name, key) != 0)
            a++;
        if (!a->name) {
            int n = snprintf(err, size, "unknown argument \"%.64s\": %s takes", key, t->name);
            for (a = t->args; a->name && n > 0 && (size_t)n < size; a++)
                n += snprintf(err + n, size - (size_t)n, "%s %s", a == t->args ? "" : ",",
                              a->name);
            return -1;
        }
        if (check_value(a, arguments, v, err, size) != 0)
            return -1;
    }
    for (const struct arg *a = t->args; a->name; a++)
        if (a->required && !json_object_get(arguments, a->name)) {
            snprintf(err, size, "argument \"%s\": required", a->name);
            return -1;
        }
    return 0;
}

/* ---- the bound ------------------------------------------------------------------- */

static size_t dumped_size(const json_t *v)
{
    return json_dumpb(v, NULL, 0, JSON_COMPACT);
}

/* Cut out->object's list until its compact JSON fits in `limit`; the text (malloc'd). */
static char *bounded_json(struct mcp_output *out, size_t limit)
{
    json_t *list = out->list_key ? json_object_get(out->object, out->list_key) : NULL;
    size_t total = json_array_size(list), shown = total;

    if (dumped_size(out->object) > limit && list) {
        size_t *sizes = calloc(total ? total : 1, sizeof *sizes), used;
        json_incref(list);
        for (size_t i = 0; i < total; i++)
            sizes[i] = dumped_size(json_array_get(list, i)) + 1;
        json_t *kept = json_array();
        json_object_set(out->object, out->list_key, kept);
        json_object_set_new(out->object, "truncated",
                            json_pack("{s:I, s:I, s:s}", "shown", (json_int_t)total, "total",
                                      (json_int_t)total, "note", ""));
        size_t base = dumped_size(out->object) + 200; /* the note and the numbers to come */
        for (shown = 0, used = base; shown < total; shown++) {
            size_t i = out->keep_last ? total - 1 - shown : shown;
            if (used + sizes[i] > limit)
                break;
            used += sizes[i];
        }
        for (size_t k = 0; k < shown; k++)
            json_array_append(kept, json_array_get(list, out->keep_last ? total - shown + k : k));
        char note[200];
        snprintf(note, sizeof note, "%zu more %s not shown (the answer is limited to %u KiB): "
                                    "narrow the query (a shorter window, a service, a level, a "
                                    "smaller limit)", total - shown,
                 out->keep_last ? "older records" : "records", MCP_TEXT_LIMIT / 1024);
        json_object_set_new(out->object, "truncated",
                            json_pack("{s:I, s:I, s:s}", "shown", (json_int_t)shown, "total",
                                      (json_int_t)total, "note", note));
        json_decref(kept);
        json_decref(list);
        free(sizes);
    }
    return json_dumps(out->object, JSON_COMPACT);
}

/* Markdown cut at `limit` bytes on a character boundary, with a last line saying so. */
static void bound_markdown(char *text, size_t limit)
{
    static const char note[] = "\n\n… cut to fit the answer: narrow the query\n";
    size_t len = strlen(text);
    if (len <= limit)
        return;
    len = limit - sizeof note;
    while (len && ((unsigned char)text[len] & 0xc0) == 0x80)
        len--;
    memcpy(text + len, note, sizeof note);
}

/* ---- tools/call ------------------------------------------------------------------ */

static json_t *text_result(const char *text, bool error)
{
    return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text, "isError",
                     error);
}

json_t *mcp_tools_call(const struct mcp_source *source, const char *name, json_t *arguments,
                       bool structured)
{
    const struct tool *t = NULL;
    struct mcp_output out = {0};
    char err[1024];
    json_t *result;

    for (size_t i = 0; i < TOOL_COUNT; i++)
        if (strcmp(tools[i].name, name) == 0)
            t = &tools[i];
    if (!t)
        return NULL;
    json_t *args = arguments ? json_incref(arguments) : json_object();
    if (check_arguments(t, args, err, sizeof err) != 0 ||
        t->run(source, args, &out, err, sizeof err) != 0) {
        json_decref(args);
        return text_result(err, true);
    }
    json_decref(args);
    char *text;
    if (out.markdown) {
        bound_markdown(out.markdown, MCP_TEXT_LIMIT);
        text = out.markdown;
    } else {
        text = bounded_json(&out, MCP_TEXT_LIMIT);
    }
    result = text_result(text ? text : "", false);
    /* structuredContent: only where it is worth its size (a digest's JSON is bounded too). */
    if (structured && json_is_object(out.object) &&
        (!out.markdown || dumped_size(out.object) <= 4 * MCP_TEXT_LIMIT))
        json_object_set(result, "structuredContent", out.object);
    free(text);
    json_decref(out.object);
    return result;
}
