/*
 * reload.h - the running configuration, and replacing it without a restart.
 *
 * SIGHUP, or a change of the YAML file (inotify on its directory, so an
 * editor's write-to-temporary-and-rename is seen too), reads every layer
 * again exactly as at start. A file that is refused leaves the running
 * configuration in place and says why, once, in ulogd's own log and on
 * stderr. An accepted one takes over between two batches of the event
 * loop: pending stack traces are emitted under the old formats first, rate
 * limit counts carry over, and nothing received is dropped. The few
 * settings that shape the process itself (log directory, socket, line
 * size, the HTTP address) need a restart; a change to them is reported and
 * otherwise left for the next start.
 */
#ifndef ULOGD_RELOAD_H
#define ULOGD_RELOAD_H

#include <stdint.h>

#include "config.h"
#include "multiline.h"
#include "outputs.h"
#include "pipeline.h"
#include "selflog.h"

/* Edits come in bursts (truncate, write, write, close): wait for the last. */
#define RELOAD_SETTLE_NS 200000000u

struct reload {
    int argc;
    char **argv;
    struct ulogd_config *config; /* the running one; owned */
    struct pipeline *pipeline;
    struct multiline *multiline;
    struct outputs *outputs;
    struct selflog *selflog;
    struct procs *procs;         /* NULL: none; set after reload_init */
    struct ebpf_input *ebpf;     /* NULL: no eBPF; set after reload_init */
    int inotify_fd;              /* -1: the file is not watched */
    char *watched_name;          /* the file's name within its directory */
    uint64_t due;                /* monotonic ns a change settles; 0: none pending */
    uint64_t reloads, refusals;
};

/* Take ownership of `config` and watch its file when it has one and watch is on. */
void reload_init(struct reload *r, int argc, char **argv, struct ulogd_config *config,
                 struct pipeline *pipeline, struct multiline *multiline, struct outputs *outputs,
                 struct selflog *selflog);
void reload_free(struct reload *r);

/* Read the inotify events; a change to the file schedules a reload. */
void reload_file_changed(struct reload *r, uint64_t now_ns);

/* Re-read everything now; `why` is "SIGHUP" or "file changed". */
void reload_now(struct reload *r, const char *why);

/* The reload a file change scheduled, if it is due. */
void reload_housekeeping(struct reload *r, uint64_t now_ns);

#endif
