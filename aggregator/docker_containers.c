/*
 * docker_containers.c - the containers the engine told of, and the
 * collection decision (see docker_containers.h).
 *
 * The table is an array searched linearly: it holds at most a few thousand
 * entries and is searched per event and per shim HELLO, never per line
 * (a log stream keeps its own entry). Every string the engine sends is
 * checked for its type before use; an id goes into a URL only after
 * docker_id_copy() has reduced it to hex digits.
 */
#include "docker_containers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alloc.h"
#include "timestamp.h"

struct docker_table {
    struct docker_container *entries[DOCKER_MAX_CONTAINERS];
    size_t count;
    uint64_t clock;
};

struct docker_table *docker_table_new(void)
{
    return must_calloc(1, sizeof(struct docker_table));
}

void docker_table_free(struct docker_table *t)
{
    while (t && t->count)
        docker_table_remove(t, t->entries[0]);
    free(t);
}

size_t docker_table_count(const struct docker_table *t)
{
    return t->count;
}

struct docker_container *docker_table_at(struct docker_table *t, size_t index)
{
    return index < t->count ? t->entries[index] : NULL;
}

struct docker_container *docker_table_find(struct docker_table *t, const char *id)
{
    char short_id[CONTAINER_ID_SIZE];

    docker_short_id(id, short_id);
    for (size_t i = 0; i < t->count; i++) {
        struct docker_container *c = t->entries[i];
        if (strcmp(c->short_id, short_id) == 0) {
            c->touched = ++t->clock;
            return c;
        }
    }
    return NULL;
}

static void replace(char **slot, const char *value)
{
    if (value == *slot)
        return;
    free(*slot);
    *slot = value && value[0] ? must_strdup(value) : NULL;
}

/* The service and context from the names known now. */
static void refresh(struct docker_container *c)
{
    free(c->service);
    c->service = must_strdup(c->compose_service ? c->compose_service : c->name);
    json_decref(c->context);
    c->context = docker_context_new(c->name, c->project, c->image);
}

static void set_name(struct docker_container *c, const char *name)
{
    if (name && name[0] == '/')
        name++;
    if (name && name[0]) {
        replace(&c->name, name);
        c->named = true;
    }
}

struct docker_container *docker_table_add(struct docker_table *t, const char *id)
{
    if (t->count == DOCKER_MAX_CONTAINERS)
        return NULL;
    struct docker_container *c = must_calloc(1, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    docker_short_id(id, c->short_id);
    c->collect_label = -1;
    c->touched = ++t->clock;
    c->name = must_strdup(c->short_id);
    refresh(c);
    t->entries[t->count++] = c;
    return c;
}

struct docker_container *docker_table_evictable(struct docker_table *t)
{
    struct docker_container *best = NULL;

    for (size_t i = 0; i < t->count; i++) {
        struct docker_container *c = t->entries[i];
        if (!c->running && !c->inspect && !c->logs && (!best || c->touched < best->touched))
            best = c;
    }
    return best;
}

void docker_table_remove(struct docker_table *t, struct docker_container *c)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->entries[i] != c)
            continue;
        t->entries[i] = t->entries[--t->count];
        free(c->name);
        free(c->image);
        free(c->project);
        free(c->compose_service);
        free(c->service);
        json_decref(c->context);
        free(c);
        return;
    }
}

/* ---- what the engine said ------------------------------------------------------ */

static const char *text_of(const json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s && s[0] ? s : NULL;
}

/* A label's yes or no: 1, 0, or -1 when it is absent or says neither. */
static int label_flag(const json_t *labels, const char *key)
{
    const char *v = text_of(labels, key);

    if (!v)
        return -1;
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        return 1;
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
        !strcmp(v, "0"))
        return 0;
    return -1;
}

static void take_labels(struct docker_container *c, const json_t *labels, const char *name,
                        const char *image)
{
    c->collect_label = label_flag(labels, "ulog.collect");
    set_name(c, name);
    if (image)
        replace(&c->image, image);
    replace(&c->project, text_of(labels, "com.docker.compose.project"));
    replace(&c->compose_service, text_of(labels, "com.docker.compose.service"));
    refresh(c);
}

int docker_container_from_list(struct docker_container *c, const json_t *item, char *why,
                               size_t why_size)
{
    const json_t *names = json_object_get(item, "Names");
    const json_t *created = json_object_get(item, "Created");
    const char *state = text_of(item, "State");

    if (!json_is_object(item)) {
        snprintf(why, why_size, "a listed container is not a JSON object");
        return -1;
    }
    take_labels(c, json_object_get(item, "Labels"), json_string_value(json_array_get(names, 0)),
                text_of(item, "Image"));
    /* The list holds running containers unless asked for all. */
    c->running = !state || strcmp(state, "running") == 0;
    if (json_is_integer(created) && json_integer_value(created) > 0 && !c->created_ns)
        c->created_ns = timestamp_from_json_number(created);
    return 0;
}

/* LD_PRELOAD naming libulog, not switched off by ULOG_DISABLE=1. */
static bool preloads_shim(const json_t *env)
{
    bool preload = false, disabled = false;
    size_t i;
    const json_t *entry;

    json_array_foreach(env, i, entry) {
        const char *kv = json_string_value(entry);
        if (!kv)
            continue;
        if (strncmp(kv, "LD_PRELOAD=", 11) == 0)
            preload = strstr(kv + 11, "libulog") != NULL;
        else if (strncmp(kv, "ULOG_DISABLE=", 13) == 0)
            disabled = strcmp(kv + 13, "1") == 0;
    }
    return preload && !disabled;
}

static uint64_t time_of(const char *text)
{
    return text ? timestamp_parse_text(text, strlen(text)) : 0;
}

int docker_container_from_inspect(struct docker_container *c, const json_t *inspect, char *why,
                                  size_t why_size)
{
    char id[DOCKER_ID_SIZE];
    const json_t *config = json_object_get(inspect, "Config");
    const json_t *state = json_object_get(inspect, "State");

    if (!json_is_object(inspect) || !json_is_object(config) || !json_is_object(state)) {
        snprintf(why, why_size, "an inspect answer lacks Config or State");
        return -1;
    }
    if (!docker_id_copy(text_of(inspect, "Id"), id) || strncmp(id, c->id, strlen(c->id)) != 0) {
        snprintf(why, why_size, "an inspect answer names another container");
        return -1;
    }
    if (strlen(id) > strlen(c->id))
        memcpy(c->id, id, sizeof id); /* asked by the short id a shim reported */
    take_labels(c, json_object_get(config, "Labels"), text_of(inspect, "Name"),
                text_of(config, "Image"));
    c->tty = json_is_true(json_object_get(config, "Tty"));
    c->shim_preloaded = preloads_shim(json_object_get(config, "Env"));
    c->running = json_is_true(json_object_get(state, "Running"));
    c->created_ns = time_of(text_of(inspect, "Created"));
    c->started_ns = time_of(text_of(state, "StartedAt"));
    c->finished_ns = time_of(text_of(state, "FinishedAt")); /* "0001-01-01T00:00:00Z": 0 */
    c->inspected = true;
    return 0;
}

void docker_container_from_event(struct docker_container *c, const struct docker_event *ev)
{
    /* An event carries the labels too, but an attribute it lacks says nothing. */
    set_name(c, ev->name);
    if (ev->image)
        replace(&c->image, ev->image);
    if (ev->project)
        replace(&c->project, ev->project);
    if (ev->service)
        replace(&c->compose_service, ev->service);
    refresh(c);
}

/* ---- the decision ---------------------------------------------------------------- */

enum docker_verdict docker_container_verdict(const struct docker_container *c, bool own,
                                             enum docker_collect collect)
{
    if (own)
        return DOCKER_VERDICT_OWN;
    if (c->collect_label == 0)
        return DOCKER_VERDICT_LABEL_FALSE;
    if (collect == DOCKER_COLLECT_NONE)
        return DOCKER_VERDICT_NONE;
    if (c->collect_label == 1)
        return DOCKER_VERDICT_LABEL_TRUE;
    if (collect == DOCKER_COLLECT_ALL)
        return DOCKER_VERDICT_COLLECT;
    if (c->shim_seen)
        return DOCKER_VERDICT_SHIM_SEEN;
    if (c->shim_preloaded)
        return DOCKER_VERDICT_SHIM_ENV;
    return DOCKER_VERDICT_COLLECT;
}

bool docker_verdict_collects(enum docker_verdict v)
{
    return v == DOCKER_VERDICT_COLLECT || v == DOCKER_VERDICT_LABEL_TRUE;
}

const char *docker_verdict_name(enum docker_verdict v)
{
    static const char *const names[] = {"collect", "label", "own", "label",
                                        "none",    "shim",  "shim"};
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "collect";
}

/* ---- ulogd's own container ------------------------------------------------------- */

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The id in a root ".../containers/<64hex>/..." of `n` bytes at `root`. */
static bool id_in_root(const char *root, size_t n, char id[CONTAINER_ID_SIZE])
{
    static const char marker[] = "/containers/";
    const char *end = root + n, *p = root;

    while ((p = memmem(p, (size_t)(end - p), marker, sizeof marker - 1))) {
        p += sizeof marker - 1;
        if (end - p > 64 && all_hex(p, 64) && p[64] == '/') {
            docker_short_id(p, id);
            return true;
        }
    }
    return false;
}

/*
 * Docker bind-mounts a container's /etc/hostname, /etc/hosts and
 * /etc/resolv.conf from /var/lib/docker/containers/<id>/. Only those mount
 * points count: on the host itself, mountinfo also lists every container's
 * .../containers/<id>/mounts/shm, which says nothing about ulogd.
 * A line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...".
 */
static bool id_in_mountinfo(const char *text, size_t len, char id[CONTAINER_ID_SIZE])
{
    static const char *const points[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    const char *end = text + len;

    for (const char *line = text; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *stop = eol ? eol : end, *field[5], *p = line;
        size_t count = 0;
        while (count < 5 && p < stop) {
            while (p < stop && *p == ' ')
                p++;
            field[count++] = p;
            while (p < stop && *p != ' ')
                p++;
        }
        if (count == 5) {
            size_t point_len = (size_t)(p - field[4]);
            for (size_t i = 0; i < 3; i++)
                if (point_len == strlen(points[i]) && !memcmp(field[4], points[i], point_len) &&
                    id_in_root(field[3], (size_t)(field[4] - field[3]), id))
                    return true;
        }
        line = eol ? eol + 1 : end;
    }
    return false;
}

void docker_self_from_texts(struct docker_self *self, const char *cgroup, size_t cgroup_len,
                            const char *mountinfo, size_t mountinfo_len, const char *hostname)
{
    memset(self, 0, sizeof *self);
    if (cgroup && container_from_cgroup_text(cgroup, cgroup_len, self->id))
        return;
    if (mountinfo && id_in_mountinfo(mountinfo, mountinfo_len, self->id))
        return;
    self->id[0] = '\0';
    if (hostname && strlen(hostname) == CONTAINER_ID_LEN && all_hex(hostname, CONTAINER_ID_LEN))
        memcpy(self->hostname, hostname, CONTAINER_ID_SIZE);
}

/* A /proc file's text, NUL-terminated, at most `size` - 1 bytes. */
static size_t read_text(const char *path, char *buf, size_t size)
{
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    while (len < size - 1) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return len;
}

void docker_self_detect(struct docker_self *self)
{
    static char cgroup[8192], mountinfo[65536];
    size_t cgroup_len = read_text("/proc/self/cgroup", cgroup, sizeof cgroup);
    size_t mountinfo_len = read_text("/proc/self/mountinfo", mountinfo, sizeof mountinfo);
    char host[256] = "";
    const char *hostname = getenv("HOSTNAME");

    if (!hostname && gethostname(host, sizeof host - 1) == 0)
        hostname = host;
    docker_self_from_texts(self, cgroup, cgroup_len, mountinfo, mountinfo_len, hostname);
}

bool docker_self_is(const struct docker_self *self, const struct docker_container *c)
{
    if (self->id[0])
        return strcmp(self->id, c->short_id) == 0;
    return self->hostname[0] && strcmp(self->hostname, c->short_id) == 0;
}
