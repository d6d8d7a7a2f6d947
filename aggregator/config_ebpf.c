/*
 * config_ebpf.c - the `ebpf:` section: whether, and how widely, ulogd watches
 * processes with eBPF (see struct ebpf_settings in config.h).
 *
 * The mode is also a plain setting (ULOG_EBPF, checked in config_settings.c,
 * so the file and the variable accept the same words); everything else lives
 * only in the file: the scope, the crash context's length, and the opt-in
 * capture of writes by program name or pid. Every refusal points at its node.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config_private.h"

static const char *const mode_names[] = {"auto", "on", "off"};
static const char *const scope_names[] = {"containers", "shim", "all"};

const char *ebpf_mode_name(enum ebpf_mode mode)
{
    return (unsigned)mode < 3 ? mode_names[mode] : "auto";
}

const char *ebpf_scope_name(enum ebpf_scope scope)
{
    return (unsigned)scope < 3 ? scope_names[scope] : "containers";
}

void config_ebpf_defaults(struct ebpf_settings *e)
{
    memset(e, 0, sizeof *e);
    e->mode = EBPF_MODE_AUTO;
    e->scope = EBPF_SCOPE_CONTAINERS;
    e->crash_context_lines = CONFIG_DEFAULT_CRASH_CONTEXT_LINES;
    e->capture_bytes = CONFIG_DEFAULT_CAPTURE_BYTES;
}

static void free_capture_lists(struct ebpf_settings *e)
{
    for (size_t i = 0; i < e->capture_program_count; i++)
        free(e->capture_programs[i]);
    free(e->capture_programs);
    free(e->capture_pids);
    e->capture_programs = NULL;
    e->capture_pids = NULL;
    e->capture_program_count = e->capture_pid_count = 0;
}

void config_ebpf_free(struct ebpf_settings *e)
{
    free_capture_lists(e);
    memset(e, 0, sizeof *e);
}

static int read_mode(struct ulogd_config *c, const struct yaml_source *src,
                     const yaml_node_t *node)
{
    char reason[160];

    if (yaml_expect_scalar(src, node, "ebpf.mode") != 0)
        return -1;
    if (config_set_value(c, SET_EBPF_MODE, yaml_text(node), reason, sizeof reason) != 0)
        return yaml_fail(src, node, "ebpf.mode: %s", reason);
    return 0;
}

/* capture_writes: {programs: [name, ...], pids: [pid, ...]} */
static int read_capture(struct ebpf_settings *e, const struct yaml_source *src,
                        const yaml_node_t *value)
{
    static const char *const known[] = {"programs", "pids", NULL};
    const yaml_node_t *programs, *pids;

    if (yaml_expect_mapping(src, value, "ebpf.capture_writes") != 0 ||
        yaml_only_keys(src, value, "ebpf.capture_writes", known, "programs, pids") != 0)
        return -1;
    programs = yaml_member(src, value, "programs");
    pids = yaml_member(src, value, "pids");
    if (programs && yaml_expect_sequence(src, programs, "ebpf.capture_writes.programs") != 0)
        return -1;
    if (pids && yaml_expect_sequence(src, pids, "ebpf.capture_writes.pids") != 0)
        return -1;
    free_capture_lists(e);
    if (programs) {
        e->capture_programs = must_calloc(CONFIG_MAX_CAPTURE_ENTRIES, sizeof(char *));
        YAML_EACH_ITEM(programs, item) {
            const yaml_node_t *node = yaml_child(src, *item);
            if (e->capture_program_count == CONFIG_MAX_CAPTURE_ENTRIES)
                return yaml_fail(src, node, "ebpf.capture_writes.programs: at most %u names",
                                 CONFIG_MAX_CAPTURE_ENTRIES);
            if (yaml_expect_scalar(src, node, "ebpf.capture_writes.programs[]") != 0)
                return -1;
            const char *name = yaml_text(node);
            if (!name[0] || strchr(name, '/') || strlen(name) > CONFIG_MAX_PROGRAM_NAME)
                return yaml_fail(src, node, "ebpf.capture_writes.programs: expected a program's "
                                            "name without its directory, such as myserver");
            e->capture_programs[e->capture_program_count++] = must_strdup(name);
        }
    }
    if (pids) {
        e->capture_pids = must_calloc(CONFIG_MAX_CAPTURE_ENTRIES, sizeof(uint32_t));
        YAML_EACH_ITEM(pids, item) {
            const yaml_node_t *node = yaml_child(src, *item);
            uint64_t pid;
            if (e->capture_pid_count == CONFIG_MAX_CAPTURE_ENTRIES)
                return yaml_fail(src, node, "ebpf.capture_writes.pids: at most %u pids",
                                 CONFIG_MAX_CAPTURE_ENTRIES);
            /* PID_MAX_LIMIT is 2^22 on 64-bit Linux. */
            if (config_read_count(src, node, "ebpf.capture_writes.pids", 1, 4194304, false,
                                  &pid) != 0)
                return -1;
            e->capture_pids[e->capture_pid_count++] = (uint32_t)pid;
        }
    }
    return 0;
}

int config_read_ebpf(struct ulogd_config *c, const struct yaml_source *src,
                     const yaml_node_t *value)
{
    static const char *const known[] = {"mode",           "scope",         "crash_context_lines",
                                        "capture_writes", "capture_bytes", NULL};
    struct ebpf_settings *e = &c->ebpf;
    uint64_t number;

    if (value->type == YAML_SCALAR_NODE)
        return read_mode(c, src, value); /* ebpf: off */
    if (yaml_expect_mapping(src, value, "ebpf") != 0 ||
        yaml_only_keys(src, value, "ebpf", known,
                       "mode, scope, crash_context_lines, capture_writes, capture_bytes") != 0)
        return -1;
    YAML_EACH_PAIR(value, pair) {
        const char *key = yaml_text(yaml_child(src, pair->key));
        const yaml_node_t *node = yaml_child(src, pair->value);
        if (strcmp(key, "mode") == 0) {
            if (read_mode(c, src, node) != 0)
                return -1;
        } else if (strcmp(key, "scope") == 0) {
            if (yaml_expect_scalar(src, node, "ebpf.scope") != 0)
                return -1;
            int scope = -1;
            for (int i = 0; i < 3; i++)
                if (strcasecmp(yaml_text(node), scope_names[i]) == 0)
                    scope = i;
            if (scope < 0)
                return yaml_fail(src, node, "ebpf.scope: use containers (processes in "
                                            "containers and those the shim connects), shim "
                                            "(only those) or all (every process)");
            e->scope = (enum ebpf_scope)scope;
        } else if (strcmp(key, "crash_context_lines") == 0) {
            if (config_read_count(src, node, "ebpf.crash_context_lines", 0,
                                  CONFIG_MAX_CRASH_CONTEXT_LINES, false, &number) != 0)
                return -1;
            e->crash_context_lines = (unsigned)number;
        } else if (strcmp(key, "capture_bytes") == 0) {
            if (config_read_count(src, node, "ebpf.capture_bytes", CONFIG_MIN_CAPTURE_BYTES,
                                  CONFIG_MAX_CAPTURE_BYTES, true, &number) != 0)
                return -1;
            e->capture_bytes = (unsigned)number;
        } else if (read_capture(e, src, node) != 0) {
            return -1;
        }
    }
    return 0;
}
