/*
 * ebpf_identity.c - who a process seen by eBPF is (see ebpf_identity.h).
 *
 * Two fixed tables, allocated once: processes by tgid (open addressing over
 * a short probe window, the oldest entry in the window giving way), and
 * containers by cgroup v2 id (direct-mapped). A cgroup id is remembered
 * only when the cgroup v2 path itself names the container: on a host where
 * containers live in cgroup v1 only, every process shares the v2 root, and
 * its id says nothing about which container a process is in.
 */
#include "ebpf_identity.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

#define PROCESS_SLOTS 8192u /* a power of two */
#define PROBE 8u
#define CGROUP_SLOTS 1024u /* a power of two */

struct cgroup_entry {
    uint64_t cgroup_id; /* 0: free */
    char container[CONTAINER_ID_SIZE];
};

struct ebpf_identities {
    struct ebpf_identity processes[PROCESS_SLOTS];
    struct cgroup_entry cgroups[CGROUP_SLOTS];
    struct ebpf_identity scratch; /* an answer that is not kept */
    uint64_t seq;
};

struct ebpf_identities *ebpf_identities_new(void)
{
    return must_calloc(1, sizeof(struct ebpf_identities));
}

void ebpf_identities_free(struct ebpf_identities *ids)
{
    free(ids);
}

const char *ebpf_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static uint32_t process_hash(uint32_t tgid)
{
    return (tgid * 2654435761u) & (PROCESS_SLOTS - 1);
}

static struct ebpf_identity *find(struct ebpf_identities *ids, uint32_t tgid)
{
    uint32_t h = process_hash(tgid);
    for (uint32_t i = 0; i < PROBE; i++) {
        struct ebpf_identity *e = &ids->processes[(h + i) & (PROCESS_SLOTS - 1)];
        if (e->tgid == tgid)
            return e;
    }
    return NULL;
}

/* The slot for `tgid`: its own, a free one, or the oldest in its window. */
static struct ebpf_identity *claim(struct ebpf_identities *ids, uint32_t tgid)
{
    uint32_t h = process_hash(tgid);
    struct ebpf_identity *oldest = NULL;

    for (uint32_t i = 0; i < PROBE; i++) {
        struct ebpf_identity *e = &ids->processes[(h + i) & (PROCESS_SLOTS - 1)];
        if (e->tgid == tgid || e->tgid == 0)
            return e;
        if (!oldest || e->seq < oldest->seq)
            oldest = e;
    }
    return oldest;
}

static struct cgroup_entry *cgroup_slot(struct ebpf_identities *ids, uint64_t cgroup_id)
{
    return &ids->cgroups[(cgroup_id * 0x9E3779B97F4A7C15ull) >> 54 & (CGROUP_SLOTS - 1)];
}

/*
 * The container of `tgid` from /proc/<tgid>/cgroup; when the cgroup v2 line
 * ("0::/...") names it too, remember it for `cgroup_id`. False when /proc
 * shows no container (or no longer shows the process).
 */
static bool container_from_proc(struct ebpf_identities *ids, uint32_t tgid, uint64_t cgroup_id,
                                char container[CONTAINER_ID_SIZE])
{
    char path[64], text[4096], v2[CONTAINER_ID_SIZE];
    ssize_t len;
    int fd;

    snprintf(path, sizeof path, "/proc/%u/cgroup", tgid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    len = read(fd, text, sizeof text - 1);
    close(fd);
    if (len <= 0)
        return false;
    text[len] = '\0';
    if (!container_from_cgroup_text(text, (size_t)len, container))
        return false;
    const char *line = strncmp(text, "0::", 3) == 0 ? text : strstr(text, "\n0::");
    if (line && cgroup_id) {
        line += line[0] == '\n';
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        if (container_from_cgroup_text(line, line_len, v2) && strcmp(v2, container) == 0) {
            struct cgroup_entry *c = cgroup_slot(ids, cgroup_id);
            c->cgroup_id = cgroup_id;
            memcpy(c->container, container, CONTAINER_ID_SIZE);
        }
    }
    return true;
}

static void resolve_container(struct ebpf_identities *ids, uint32_t tgid, uint64_t cgroup_id,
                              char container[CONTAINER_ID_SIZE])
{
    if (container_from_proc(ids, tgid, cgroup_id, container))
        return;
    struct cgroup_entry *c = cgroup_slot(ids, cgroup_id);
    if (cgroup_id && c->cgroup_id == cgroup_id)
        memcpy(container, c->container, CONTAINER_ID_SIZE);
    else
        container[0] = '\0';
}

static void set_program(struct ebpf_identity *e, const char *name, const char *comm)
{
    if (!name || !name[0])
        name = comm && comm[0] ? comm : "unknown";
    size_t len = strlen(name);

    if (len > sizeof e->program - 1)
        len = sizeof e->program - 1; /* a longer name is cut */
    memcpy(e->program, name, len);
    e->program[len] = '\0';
}

const struct ebpf_identity *ebpf_identity_exec(struct ebpf_identities *ids, uint32_t tgid,
                                               uint64_t cgroup_id, const char *filename,
                                               const char *comm)
{
    struct ebpf_identity *e = claim(ids, tgid);

    e->tgid = tgid;
    e->seq = ++ids->seq;
    set_program(e, filename ? ebpf_basename(filename) : NULL, comm);
    resolve_container(ids, tgid, cgroup_id, e->container);
    return e;
}

/* The program of a process that ran before us: its executable, else its comm. */
static void program_from_proc(struct ebpf_identity *e, uint32_t tgid, const char *comm)
{
    char path[64], exe[512];
    ssize_t len;

    snprintf(path, sizeof path, "/proc/%u/exe", tgid);
    len = readlink(path, exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        /* A replaced binary reads "/usr/bin/app (deleted)". */
        char *deleted = strstr(exe, " (deleted)");
        if (deleted && deleted[10] == '\0')
            *deleted = '\0';
    }
    set_program(e, len > 0 ? ebpf_basename(exe) : NULL, comm);
}

const struct ebpf_identity *ebpf_identity_of(struct ebpf_identities *ids, uint32_t tgid,
                                             uint64_t cgroup_id, const char *comm)
{
    struct ebpf_identity *e = find(ids, tgid);

    if (e)
        return e;
    /* Resolved now; kept only when /proc still showed the process. */
    e = &ids->scratch;
    memset(e, 0, sizeof *e);
    e->tgid = tgid;
    program_from_proc(e, tgid, comm);
    resolve_container(ids, tgid, cgroup_id, e->container);
    char path[64];
    snprintf(path, sizeof path, "/proc/%u", tgid);
    if (access(path, F_OK) == 0) {
        struct ebpf_identity *slot = claim(ids, tgid);
        *slot = *e;
        slot->seq = ++ids->seq;
        return slot;
    }
    return e;
}

const struct ebpf_identity *ebpf_identity_at_exit(struct ebpf_identities *ids, uint32_t tgid,
                                                  uint64_t cgroup_id, const char *comm)
{
    struct ebpf_identity *e = find(ids, tgid);

    if (e)
        return e;
    /* A fork-heavy workload exits unseen by exec thousands of times a
     * second: no readlink of an exe that exit_mm() has taken away, no slot
     * claimed only to be forgotten at once. */
    e = &ids->scratch;
    memset(e, 0, sizeof *e);
    e->tgid = tgid;
    set_program(e, NULL, comm);
    resolve_container(ids, tgid, cgroup_id, e->container);
    return e;
}

void ebpf_identity_forget(struct ebpf_identities *ids, uint32_t tgid)
{
    struct ebpf_identity *e = find(ids, tgid);
    if (e)
        memset(e, 0, sizeof *e);
}
