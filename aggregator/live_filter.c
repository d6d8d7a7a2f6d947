/*
 * live_filter.c - a live client's filter: checking the "filter" message and
 * matching records against it (see live_filter.h).
 */
#include "live_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static const char *const filter_fields[] = {"type", "service", "level", "container", "text"};

void live_filter_init(struct live_filter *filter)
{
    *filter = (struct live_filter){.min_level = ULOG_DEBUG, .normalised = json_object()};
}

void live_filter_free(struct live_filter *filter)
{
    for (size_t i = 0; i < filter->service_count; i++)
        free(filter->services[i]);
    free(filter->services);
    free(filter->container);
    free(filter->text);
    json_decref(filter->normalised);
    *filter = (struct live_filter){0};
}

static bool is_known_field(const char *key)
{
    for (size_t i = 0; i < sizeof filter_fields / sizeof filter_fields[0]; i++)
        if (strcmp(key, filter_fields[i]) == 0)
            return true;
    return false;
}

int live_filter_parse_services(const json_t *value, json_t **services, char *err,
                               size_t err_size)
{
    *services = NULL;
    if (!value || json_is_null(value))
        return 0;
    json_t *list = json_array();
    if (json_is_string(value)) {
        json_array_append(list, (json_t *)value);
    } else if (json_is_array(value) && json_array_size(value) > 0) {
        size_t i;
        const json_t *name;
        json_array_foreach(value, i, name) {
            if (!json_is_string(name)) {
                snprintf(err, err_size, "service: item %zu is not a string", i);
                json_decref(list);
                return -1;
            }
            bool repeated = false;
            for (size_t j = 0; j < json_array_size(list) && !repeated; j++)
                repeated = json_equal(json_array_get(list, j), (json_t *)name);
            if (!repeated)
                json_array_append(list, (json_t *)name);
        }
    } else {
        snprintf(err, err_size, "service: expected a string, a non-empty list of strings, or null");
        json_decref(list);
        return -1;
    }
    if (json_array_size(list) > LIVE_FILTER_MAX_SERVICES) {
        snprintf(err, err_size, "service: at most %u services", LIVE_FILTER_MAX_SERVICES);
        json_decref(list);
        return -1;
    }
    size_t i;
    json_t *name;
    json_array_foreach(list, i, name) {
        if (json_string_length(name) > LIVE_FILTER_MAX_STRING ||
            strlen(json_string_value(name)) != json_string_length(name)) {
            snprintf(err, err_size, "service: longer than %u bytes, or containing NUL",
                     LIVE_FILTER_MAX_STRING);
            json_decref(list);
            return -1;
        }
    }
    *services = list;
    return 0;
}

/* A non-empty string field, or null/absent (*out NULL). */
static int optional_string(const json_t *message, const char *key, const char **out,
                           size_t *len, char *err, size_t err_size)
{
    const json_t *value = json_object_get(message, key);
    *out = NULL;
    *len = 0;
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_string(value)) {
        snprintf(err, err_size, "%s: expected a string or null", key);
        return -1;
    }
    if (json_string_length(value) > LIVE_FILTER_MAX_STRING ||
        strlen(json_string_value(value)) != json_string_length(value)) {
        snprintf(err, err_size, "%s: longer than %u bytes, or containing NUL", key,
                 LIVE_FILTER_MAX_STRING);
        return -1;
    }
    /* "" would constrain nothing: the same as null. */
    if (json_string_length(value) > 0) {
        *out = json_string_value(value);
        *len = json_string_length(value);
    }
    return 0;
}

int live_filter_parse(struct live_filter *filter, const json_t *message, char *err,
                      size_t err_size)
{
    live_filter_init(filter);
    if (!json_is_object(message)) {
        snprintf(err, err_size, "filter: expected an object");
        return -1;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)message, key, value) {
        if (!is_known_field(key)) {
            snprintf(err, err_size,
                     "filter: unknown field \"%.64s\" (known: service, level, container, text)",
                     key);
            return -1;
        }
    }

    json_t *services;
    if (live_filter_parse_services(json_object_get(message, "service"), &services, err,
                                   err_size) != 0)
        return -1;

    const json_t *level = json_object_get(message, "level");
    int min_level = ULOG_DEBUG;
    if (level && !json_is_null(level)) {
        min_level = json_is_string(level) ? ulog_level_parse(json_string_value(level)) : -1;
        if (min_level < 0) {
            snprintf(err, err_size,
                     "level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, or null");
            json_decref(services);
            return -1;
        }
    }

    const char *container, *text;
    size_t container_len, text_len;
    if (optional_string(message, "container", &container, &container_len, err, err_size) != 0 ||
        optional_string(message, "text", &text, &text_len, err, err_size) != 0) {
        json_decref(services);
        return -1;
    }

    /* Everything checked: fill it in. */
    if (services) {
        filter->service_count = json_array_size(services);
        filter->services = must_calloc(filter->service_count, sizeof *filter->services);
        for (size_t i = 0; i < filter->service_count; i++)
            filter->services[i] = must_strdup(json_string_value(json_array_get(services, i)));
        json_object_set_new(filter->normalised, "service", services);
    }
    if (level && !json_is_null(level)) {
        filter->min_level = (enum ulog_level)min_level;
        json_object_set_new(filter->normalised, "level",
                            json_string(ulog_level_name(filter->min_level)));
    }
    if (container) {
        filter->container = must_strndup(container, container_len);
        filter->container_len = container_len;
        json_object_set_new(filter->normalised, "container", json_string(container));
    }
    if (text) {
        filter->text = must_malloc(text_len + 1);
        for (size_t i = 0; i < text_len; i++) {
            char c = text[i];
            filter->text[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        filter->text[text_len] = '\0';
        filter->text_len = text_len;
        json_object_set_new(filter->normalised, "text", json_string(text));
    }
    return 0;
}

static inline char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Is `needle` (already lower case) in `hay`, ASCII letters without case? */
static bool contains_nocase(const char *hay, size_t hay_len, const char *needle,
                            size_t needle_len)
{
    if (needle_len > hay_len)
        return false;
    char first = needle[0];
    for (size_t at = 0; at + needle_len <= hay_len; at++) {
        if (ascii_lower(hay[at]) != first)
            continue;
        size_t i = 1;
        while (i < needle_len && ascii_lower(hay[at + i]) == needle[i])
            i++;
        if (i == needle_len)
            return true;
    }
    return false;
}

static bool match_fields(const struct live_filter *filter, const struct feed_item *item)
{
    if (item->level < filter->min_level)
        return false;
    if (filter->services) {
        bool found = false;
        for (size_t i = 0; i < filter->service_count && !found; i++)
            found = strcmp(item->service, filter->services[i]) == 0;
        if (!found)
            return false;
    }
    return !filter->container ||
           strncmp(item->container, filter->container, filter->container_len) == 0;
}

static void decode(struct live_candidate *candidate)
{
    const struct feed_item *item = candidate->item;
    candidate->decoded = true;
    candidate->record = json_loadb(item->line, item->line_len, JSON_DISABLE_EOF_CHECK, NULL);
    const json_t *message = json_object_get(candidate->record, "message");
    if (json_is_string(message)) {
        candidate->message = json_string_value(message);
        candidate->message_len = json_string_length(message);
    }
}

bool live_filter_match(const struct live_filter *filter, struct live_candidate *candidate)
{
    if (!match_fields(filter, candidate->item))
        return false;
    if (!filter->text)
        return true;
    if (!candidate->decoded)
        decode(candidate);
    return candidate->message && contains_nocase(candidate->message, candidate->message_len,
                                                 filter->text, filter->text_len);
}

void live_candidate_done(struct live_candidate *candidate)
{
    json_decref(candidate->record);
    candidate->record = NULL;
}
