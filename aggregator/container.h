/*
 * container.h - which container a process runs in.
 *
 * The host's view is the reliable one: ulogd reads /proc/<pid>/cgroup with
 * the pid the kernel gave it, and every runtime names the cgroup after the
 * container's 64-hex id (docker, containerd, CRI-O, podman, kubepods, in
 * their cgroup v1 and v2 spellings). When that shows nothing (a private
 * cgroup namespace shows "0::/"), the shim's own guess from HELLO is used.
 * Ids are reported in the short 12-hex form `docker ps` shows.
 */
#ifndef ULOGD_CONTAINER_H
#define ULOGD_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONTAINER_ID_LEN 12
#define CONTAINER_ID_SIZE (CONTAINER_ID_LEN + 1)

/* The container named in the text of a /proc/<pid>/cgroup file. */
bool container_from_cgroup_text(const char *text, size_t len, char id[CONTAINER_ID_SIZE]);

/* The container of `pid` as ulogd sees it; false if none or unreadable. */
bool container_of_pid(pid_t pid, char id[CONTAINER_ID_SIZE]);

/* A shim's guess, accepted when it is 12 to 64 hex digits. */
bool container_from_guess(const char *guess, size_t len, char id[CONTAINER_ID_SIZE]);

#endif
