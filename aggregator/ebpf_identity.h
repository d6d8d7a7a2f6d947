/*
 * ebpf_identity.h - who a process seen by eBPF is: program and container.
 *
 * An event names a process by its kernel pid; a record needs its program
 * (the service, unless the shim said otherwise) and its container. Both are
 * read when the process executes, while /proc still shows it, and kept
 * until it exits, because by the time its exit is read from the ring
 * buffer /proc has often forgotten it. A process first seen later (it ran
 * before ulogd, or the table had to forget it) is looked up in /proc, else
 * named by its comm. Containers are also remembered by cgroup id, so a
 * process too short-lived for /proc still finds the container of its
 * siblings. Both tables are bounded: an entry pushed out costs a /proc
 * read, never memory.
 */
#ifndef ULOGD_EBPF_IDENTITY_H
#define ULOGD_EBPF_IDENTITY_H

#include <stdint.h>

#include "container.h"

#define EBPF_PROGRAM_NAME_SIZE 64

struct ebpf_identity {
    uint32_t tgid; /* 0: a free slot */
    uint64_t seq;  /* when it was stored: the oldest goes first */
    char program[EBPF_PROGRAM_NAME_SIZE];         /* base name, never empty */
    char container[CONTAINER_ID_SIZE];            /* "" when not in a container */
};

struct ebpf_identities;

struct ebpf_identities *ebpf_identities_new(void);
void ebpf_identities_free(struct ebpf_identities *ids);

/* At exec: read afresh (the program changed); `filename` as execve got it. */
const struct ebpf_identity *ebpf_identity_exec(struct ebpf_identities *ids, uint32_t tgid,
                                               uint64_t cgroup_id, const char *filename,
                                               const char *comm);

/* Any other event: what exec stored, else /proc, else `comm`. Valid until the next call. */
const struct ebpf_identity *ebpf_identity_of(struct ebpf_identities *ids, uint32_t tgid,
                                             uint64_t cgroup_id, const char *comm);

/*
 * At exit: what exec stored, else the comm and the container (a zombie's
 * cgroup file still reads); its executable is already gone, and the entry
 * is not kept. Valid until the next call.
 */
const struct ebpf_identity *ebpf_identity_at_exit(struct ebpf_identities *ids, uint32_t tgid,
                                                  uint64_t cgroup_id, const char *comm);

/* The process has exited. */
void ebpf_identity_forget(struct ebpf_identities *ids, uint32_t tgid);

/* The base name of a path ("/usr/bin/app" -> "app"); "" stays "". */
const char *ebpf_basename(const char *path);

#endif
