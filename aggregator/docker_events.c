/*
 * docker_events.c - container events into lifecycle records (see
 * docker_events.h).
 *
 * The engine's spelling is followed as 20.10 and later write it: "Action"
 * (older engines only had "status", read when Action is missing), the
 * container in Actor.ID with its labels flattened into Actor.Attributes
 * beside name and image, exitCode and signal as decimal strings, and
 * health as the action "health_status: healthy".
 */
#include "docker_events.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool docker_id_copy(const char *text, char id[DOCKER_ID_SIZE])
{
    size_t len = text ? strlen(text) : 0;

    if (len < 12 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        id[i] = c;
    }
    id[len] = '\0';
    return true;
}

void docker_short_id(const char *id, char short_id[CONTAINER_ID_SIZE])
{
    snprintf(short_id, CONTAINER_ID_SIZE, "%.12s", id);
}

json_t *docker_context_new(const char *name, const char *project, const char *image)
{
    json_t *context = json_object();

    json_object_set_new(context, "container_name", json_string(name ? name : ""));
    if (project && project[0])
        json_object_set_new(context, "compose_project", json_string(project));
    if (image && image[0])
        json_object_set_new(context, "image", json_string(image));
    return context;
}

static const char *text_of(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s && s[0] ? s : NULL;
}

/* A decimal attribute ("137"); `fallback` when absent or not a number. */
static long long number_of(const json_t *attributes, const char *key, long long fallback)
{
    const char *s = text_of(attributes, key);
    char *end;

    if (!s)
        return fallback;
    long long v = strtoll(s, &end, 10);
    return *end == '\0' ? v : fallback;
}

static enum docker_event_kind kind_of(const char *action)
{
    static const struct {
        const char *action;
        enum docker_event_kind kind;
    } kinds[] = {
        {"create", DOCKER_EVENT_CREATE}, {"start", DOCKER_EVENT_START},
        {"restart", DOCKER_EVENT_RESTART}, {"die", DOCKER_EVENT_DIE},
        {"kill", DOCKER_EVENT_KILL}, {"oom", DOCKER_EVENT_OOM},
        {"rename", DOCKER_EVENT_RENAME}, {"destroy", DOCKER_EVENT_DESTROY},
    };

    if (!action)
        return DOCKER_EVENT_OTHER;
    if (strncmp(action, "health_status", 13) == 0)
        return DOCKER_EVENT_HEALTH;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(action, kinds[i].action) == 0)
            return kinds[i].kind;
    return DOCKER_EVENT_OTHER;
}

static uint64_t time_of(const json_t *event)
{
    const json_t *nano = json_object_get(event, "timeNano");
    const json_t *secs = json_object_get(event, "time");

    if (json_is_integer(nano) && json_integer_value(nano) > 0)
        return (uint64_t)json_integer_value(nano);
    if (json_is_integer(secs) && json_integer_value(secs) > 0 &&
        json_integer_value(secs) < 18000000000ll)
        return (uint64_t)json_integer_value(secs) * 1000000000u;
    return 0;
}

int docker_event_parse(const char *text, size_t len, struct docker_event *ev, char *why,
                       size_t why_size)
{
    json_error_t error;

    memset(ev, 0, sizeof *ev);
    ev->exit_code = -1;
    ev->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!ev->json) {
        snprintf(why, why_size, "an event is not JSON: %s", error.text);
        return -1;
    }
    if (!json_is_object(ev->json)) {
        snprintf(why, why_size, "an event is not a JSON object");
        docker_event_clear(ev);
        return -1;
    }
    const char *type = text_of(ev->json, "Type");
    if (type && strcmp(type, "container") != 0)
        return 0; /* the filter asked for containers; anything else is ignored */
    const json_t *actor = json_object_get(ev->json, "Actor");
    const json_t *attributes = json_object_get(actor, "Attributes");
    const char *id = text_of(actor, "ID");
    if (!id)
        id = text_of(ev->json, "id");
    if (!docker_id_copy(id, ev->id)) {
        snprintf(why, why_size, "a container event has no valid container id");
        docker_event_clear(ev);
        return -1;
    }
    docker_short_id(ev->id, ev->short_id);
    ev->action = text_of(ev->json, "Action");
    if (!ev->action)
        ev->action = text_of(ev->json, "status");
    ev->kind = kind_of(ev->action);
    ev->time_ns = time_of(ev->json);
    ev->name = text_of(attributes, "name");
    if (ev->name && ev->name[0] == '/')
        ev->name = ev->name[1] ? ev->name + 1 : NULL;
    ev->image = text_of(attributes, "image");
    if (!ev->image)
        ev->image = text_of(ev->json, "from");
    ev->service = text_of(attributes, "com.docker.compose.service");
    ev->project = text_of(attributes, "com.docker.compose.project");
    if (ev->kind == DOCKER_EVENT_DIE)
        ev->exit_code = number_of(attributes, "exitCode", -1);
    if (ev->kind == DOCKER_EVENT_KILL) {
        long long sig = number_of(attributes, "signal", 0);
        ev->signal = sig > 0 && sig < 128 ? (int)sig : 0;
    }
    if (ev->kind == DOCKER_EVENT_HEALTH) {
        /* "health_status: healthy"; some engines put a command after another colon. */
        const char *h = ev->action + 13;
        while (*h == ':' || *h == ' ')
            h++;
        if (strncmp(h, "healthy", 7) == 0)
            ev->health = "healthy";
        else if (strncmp(h, "unhealthy", 9) == 0)
            ev->health = "unhealthy";
        else if (strncmp(h, "starting", 8) == 0)
            ev->health = "starting";
        else
            ev->kind = DOCKER_EVENT_OTHER; /* exec_start of a check, or an unknown status */
    }
    return 0;
}

void docker_event_clear(struct docker_event *ev)
{
    json_decref(ev->json);
    memset(ev, 0, sizeof *ev);
}

bool docker_event_describe(const struct docker_event *ev, const char *name,
                           struct docker_event_record *out)
{
    char who[160];
    int n = 0;

    memset(out, 0, sizeof *out);
    if (ev->name)
        name = ev->name;
    snprintf(who, sizeof who, "container %.120s (%s)", name && name[0] ? name : ev->short_id,
             ev->short_id);
    out->level = ULOG_INFO;
    switch (ev->kind) {
    case DOCKER_EVENT_START:
        out->event_type = "container_start";
        n = snprintf(out->message, sizeof out->message, "%s started", who);
        break;
    case DOCKER_EVENT_RESTART:
        out->event_type = "container_restart";
        n = snprintf(out->message, sizeof out->message, "%s restarted", who);
        break;
    case DOCKER_EVENT_DIE:
        out->event_type = "container_die";
        if (ev->exit_code != 0)
            out->level = ULOG_ERROR;
        if (ev->exit_code >= 0) {
            out->metadata = json_pack("{s:I}", "exit_code", (json_int_t)ev->exit_code);
            n = snprintf(out->message, sizeof out->message, "%s exited with status %lld", who,
                         ev->exit_code);
        } else {
            n = snprintf(out->message, sizeof out->message, "%s exited", who);
        }
        break;
    case DOCKER_EVENT_KILL: {
        out->event_type = "container_kill";
        const char *abbrev = ev->signal ? sigabbrev_np(ev->signal) : NULL;
        if (ev->signal) {
            out->metadata = json_pack("{s:i}", "signal", ev->signal);
            if (abbrev)
                json_object_set_new(out->metadata, "signal_name",
                                    json_sprintf("SIG%s", abbrev));
        }
        if (abbrev)
            n = snprintf(out->message, sizeof out->message, "%s was sent SIG%s (%d)", who,
                         abbrev, ev->signal);
        else if (ev->signal)
            n = snprintf(out->message, sizeof out->message, "%s was sent signal %d", who,
                         ev->signal);
        else
            n = snprintf(out->message, sizeof out->message, "%s was sent a signal", who);
        break;
    }
    case DOCKER_EVENT_OOM:
        /* ERROR: CRITICAL is the process-level oom_kill that eBPF reports. */
        out->event_type = "container_oom";
        out->level = ULOG_ERROR;
        n = snprintf(out->message, sizeof out->message, "%s ran out of memory", who);
        break;
    case DOCKER_EVENT_HEALTH:
        out->event_type = "container_health";
        if (strcmp(ev->health, "unhealthy") == 0)
            out->level = ULOG_WARNING;
        out->metadata = json_pack("{s:s}", "health_status", ev->health);
        n = snprintf(out->message, sizeof out->message, "%s is %s", who,
                     strcmp(ev->health, "starting") == 0 ? "starting its health checks"
                                                         : ev->health);
        break;
    default:
        return false;
    }
    if (n < 0)
        n = 0;
    out->message_len = (size_t)n < sizeof out->message ? (size_t)n : sizeof out->message - 1;
    return true;
}
