/*
 * store_fixture.h - a store in a temporary directory, filled the way ulogd
 * fills it (record -> all.log line -> feed batch -> writer thread), for
 * test_store.c and test_log_query.c.
 */
#ifndef ULOG_TEST_STORE_FIXTURE_H
#define ULOG_TEST_STORE_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bytebuf.h"
#include "feed.h"
#include "record.h"
#include "store.h"

struct store_fixture {
    char dir[64];
    char path[128];
    struct store_settings settings;
    struct store *store;
    struct feed feed;
    char notice[1024], err[1024];
};

static inline void fixture_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static inline struct store_fixture *fixture_new(void)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/ulog-test-store-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        abort();
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, STORE_FILE_NAME);
    f->settings = (struct store_settings){.enabled = true, .queue_bytes = 64u << 20};
    return f;
}

/* Open (and start unless told not to) the store; the feed follows its ids. */
static inline struct store *fixture_open(struct store_fixture *f, bool start)
{
    f->store = store_open(&f->settings, f->dir, f->notice, sizeof f->notice, f->err,
                          sizeof f->err);
    if (!f->store)
        return NULL;
    feed_init(&f->feed, store_max_id(f->store) + 1);
    feed_add_consumer(&f->feed, (struct feed_consumer){store_take, f->store});
    if (start && store_start(f->store, f->err, sizeof f->err) != 0)
        abort();
    return f->store;
}

static inline void fixture_close(struct store_fixture *f)
{
    if (f->store) {
        store_close(f->store, 5000);
        feed_free(&f->feed);
    }
    f->store = NULL;
}

static inline void fixture_free(struct store_fixture *f)
{
    fixture_close(f);
    fixture_remove_dir(f->dir);
    free(f);
}

/* The record as ulogd writes it, added to this turn's batch; its id. */
static inline uint64_t fixture_add(struct store_fixture *f, const struct record *r)
{
    struct bytebuf line = BYTEBUF_INIT;
    if (record_append_json(r, &line) != 0)
        abort();
    uint64_t id = feed_add(&f->feed, r, line.data, line.len);
    bytebuf_free(&line);
    return id;
}

/* Wait (at most 10 s) until `id` is committed; false if it never is. */
static inline bool fixture_wait(struct store_fixture *f, uint64_t id)
{
    for (int i = 0; i < 10000; i++) {
        if (store_committed_id(f->store) >= id)
            return true;
        usleep(1000);
    }
    return false;
}

#endif
