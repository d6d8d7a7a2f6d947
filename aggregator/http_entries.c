/*
 * http_entries.c - what POST /logs accepts: the body's media type, and each
 * entry checked field by field and put in the one form the event loop
 * takes (see http_internal.h).
 *
 * Everything a client can get wrong is refused here, on the HTTP thread,
 * with a reason that names the entry and the field, before anything reaches
 * the pipeline: a request is taken whole or not at all.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_internal.h"
#include "timestamp.h"
#include "ulog/level.h"

#define POST_ENTRIES_MAX 1000u
#define POST_FIELD_MAX 256u

bool http_entries_content_type_ok(struct lws *wsi)
{
    char type[256], *p, *params;
    bool ok;

    if (lws_hdr_copy(wsi, type, sizeof type, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        return false;
    params = strchr(type, ';');
    if (params)
        *params++ = '\0';
    for (p = type + strlen(type); p > type && p[-1] == ' '; p--)
        p[-1] = '\0';
    for (p = type; *p == ' '; p++)
        ;
    ok = strcasecmp(p, "application/json") == 0;
    while (ok && params) {
        char *next = strchr(params, ';'), *name = params, *value;
        if (next)
            *next++ = '\0';
        while (*name == ' ')
            name++;
        value = strchr(name, '=');
        if (value) {
            *value++ = '\0';
            if (strcasecmp(name, "charset") == 0) {
                if (*value == '"')
                    value++;
                ok = strncasecmp(value, "utf-8", 5) == 0 &&
                     (value[5] == '\0' || value[5] == '"' || value[5] == ' ');
            }
        }
        params = next;
    }
    return ok;
}

static const char *const known_fields[] = {
    "message", "level",   "service",  "component", "event_type", "trace_id",
    "span_id", "agent_id", "task_id", "metadata",  "timestamp",
};
static const char known_fields_text[] = "message, level, service, component, event_type, "
                                        "trace_id, span_id, agent_id, task_id, metadata, timestamp";

static int level_named(const char *name)
{
    static const struct {
        const char *name;
        enum ulog_level level;
    } names[] = {
        {"debug", ULOG_DEBUG}, {"info", ULOG_INFO},         {"warning", ULOG_WARNING},
        {"warn", ULOG_WARNING}, {"error", ULOG_ERROR},      {"err", ULOG_ERROR},
        {"critical", ULOG_CRITICAL}, {"crit", ULOG_CRITICAL}, {"fatal", ULOG_CRITICAL},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return (int)names[i].level;
    return -1;
}

/* An RFC 3339 time with its zone, as nanoseconds (0: not one). */
static uint64_t rfc3339_ns(const char *text, size_t len)
{
    if (len < 20 || text[4] != '-' || text[7] != '-' ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
        return 0;
    return timestamp_parse_text(text, len);
}

/* One spelling for the event loop: UTC, "2026-11-21T14:22:18.214000000Z". */
static json_t *utc_text(uint64_t ns)
{
    time_t seconds = (time_t)(ns / 1000000000u);
    struct tm tm;
    char text[48];

    gmtime_r(&seconds, &tm);
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(ns % 1000000000u));
    return json_string(text);
}

/* One entry, checked and put in the form the event loop takes: only known
 * fields, "level" one of the five names, "service" always there, a
 * "timestamp" in UTC whatever zone it was given in. */
static int check_entry(json_t *entry, char *where, char *err, size_t err_size)
{
    const char *key;
    json_t *value;
    int level = ULOG_INFO;
    uint64_t time_ns = 0;

    if (!json_is_object(entry)) {
        snprintf(err, err_size, "%severy entry must be a JSON object", where);
        return -1;
    }
    json_object_foreach(entry, key, value) {
        size_t i;
        for (i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
            if (strcmp(key, known_fields[i]) == 0)
                break;
        if (i == sizeof known_fields / sizeof known_fields[0]) {
            snprintf(err, err_size, "%sunknown field \"%.64s\"; known fields: %s", where, key,
                     known_fields_text);
            return -1;
        }
        if (strcmp(key, "metadata") == 0) {
            if (!json_is_object(value)) {
                snprintf(err, err_size, "%smetadata: must be an object", where);
                return -1;
            }
            continue;
        }
        if (!json_is_string(value)) {
            snprintf(err, err_size, "%s%s: must be a string", where, key);
            return -1;
        }
        const char *text = json_string_value(value);
        size_t len = json_string_length(value);
        if (strcmp(key, "message") == 0)
            continue;
        if (strcmp(key, "level") == 0) {
            level = level_named(text);
            if (level < 0) {
                snprintf(err, err_size,
                         "%slevel: \"%.32s\" is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
                         where, text);
                return -1;
            }
        } else if (strcmp(key, "timestamp") == 0) {
            time_ns = rfc3339_ns(text, len);
            if (!time_ns) {
                snprintf(err, err_size,
                         "%stimestamp: \"%.40s\" is not an RFC 3339 time with a zone "
                         "(2026-11-21T14:22:18.214Z)",
                         where, text);
                return -1;
            }
        } else if (len > POST_FIELD_MAX) {
            snprintf(err, err_size, "%s%s: longer than %u bytes", where, key, POST_FIELD_MAX);
            return -1;
        } else if (len == 0 && strcmp(key, "service") == 0) {
            snprintf(err, err_size, "%sservice: must not be empty", where);
            return -1;
        }
    }
    if (!json_is_string(json_object_get(entry, "message"))) {
        snprintf(err, err_size, "%smessage: required (a string)", where);
        return -1;
    }
    json_object_set_new(entry, "level", json_string(ulog_level_name((enum ulog_level)level)));
    if (time_ns)
        json_object_set_new(entry, "timestamp", utc_text(time_ns));
    if (!json_object_get(entry, "service"))
        json_object_set_new(entry, "service", json_string("http"));
    return 0;
}

json_t *http_entries_parse(const char *body, size_t len, bool *single, char *err,
                           size_t err_size)
{
    json_error_t error;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error), *entries;
    char where[48] = "";
    size_t index;
    json_t *entry;

    if (!doc) {
        snprintf(err, err_size, "invalid JSON at line %d, column %d: %s", error.line,
                 error.column, error.text);
        return NULL;
    }
    *single = json_is_object(doc);
    if (*single) {
        entries = json_array();
        json_array_append_new(entries, doc);
    } else if (json_is_array(doc)) {
        entries = doc;
    } else {
        snprintf(err, err_size, "the body must be an entry (a JSON object) or an array of them");
        json_decref(doc);
        return NULL;
    }
    if (json_array_size(entries) == 0 || json_array_size(entries) > POST_ENTRIES_MAX) {
        snprintf(err, err_size, "an array must hold 1 to %u entries, not %zu", POST_ENTRIES_MAX,
                 json_array_size(entries));
        json_decref(entries);
        return NULL;
    }
    json_array_foreach(entries, index, entry) {
        if (!*single)
            snprintf(where, sizeof where, "entry %zu: ", index);
        if (check_entry(entry, where, err, err_size)) {
            json_decref(entries);
            return NULL;
        }
    }
    return entries;
}
