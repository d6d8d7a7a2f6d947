/*
 * live_client.c - one live client: its bounded record queue, its replies,
 * its backlog read from the ring, and the frames they become (see
 * live_client.h). The hub (live.c) feeds it; http_ws.c writes its frames.
 */
#include "live_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "live_private.h"
#include "utf8.h"

/* How many ring records one backlog fragment may look at: with a text
 * filter each is decoded, and a large ring must not hold up the thread. */
#define BACKLOG_SCAN_PER_FRAME 16384u

/* What a record costs in a queue or a frame: its line and the log_id. */
#define RECORD_OVERHEAD 32u

static size_t record_cost(const struct feed_item *item)
{
    return item->line_len + RECORD_OVERHEAD;
}

/* The all.log object with "log_id" first: {"log_id":N, then the line's rest. */
static void append_record(struct bytebuf *out, const struct feed_item *item)
{
    char head[48];
    int n = snprintf(head, sizeof head, "{\"log_id\":%" PRIu64, item->id);
    bytebuf_append(out, head, (size_t)n);
    if (item->line_len >= 2 && item->line[0] == '{') {
        if (item->line[1] != '}')
            bytebuf_append_byte(out, ',');
        bytebuf_append(out, item->line + 1, item->line_len - 1);
    } else {
        bytebuf_append_byte(out, '}'); /* never: the feed's lines are objects */
    }
}

static void wake(struct live_client *client)
{
    if (client->wake)
        client->wake(client->wake_ctx);
}

void live_client_free(struct live_client *client)
{
    while (!list_empty(&client->replies)) {
        struct live_reply *reply = LIST_ENTRY(client->replies.next, struct live_reply, node);
        list_remove(&reply->node);
        free(reply->text);
        free(reply);
    }
    live_refs_free(&client->queue);
    live_filter_free(&client->filter);
    free(client);
}

void live_client_push(struct live *live, struct live_client *client, struct feed_batch *batch,
                      const struct feed_item *item)
{
    size_t cost = record_cost(item);
    while (client->queue.count > 0 && (client->queue.count >= LIVE_QUEUE_RECORDS ||
                                       client->queue_bytes + cost > LIVE_QUEUE_BYTES)) {
        client->queue_bytes -= record_cost(live_refs_oldest(&client->queue)->item);
        live_refs_pop(&client->queue);
        client->missed++;
        live->missed_total++;
    }
    live_refs_push(&client->queue, batch, item);
    client->queue_bytes += cost;
}

static void add_reply(struct live_client *client, struct live_reply *reply)
{
    list_add_tail(&client->replies, &reply->node);
    client->reply_bytes += reply->len;
    wake(client);
}

void live_client_queue_text(struct live_client *client, char *text, size_t len)
{
    struct live_reply *reply = must_calloc(1, sizeof *reply);
    reply->text = text;
    reply->len = len;
    add_reply(client, reply);
}

void live_client_queue_backlog(struct live *live, struct live_client *client)
{
    struct live_reply *reply = must_calloc(1, sizeof *reply);
    reply->backlog_first = live_refs_first_seq(&live->ring);
    reply->backlog_end = live_refs_end_seq(&live->ring);
    client->queued_backlog = reply;
    add_reply(client, reply);
}

void live_client_reply(struct live_client *client, json_t *message)
{
    char *text = json_dumps(message, JSON_COMPACT);
    json_decref(message);
    if (text)
        live_client_queue_text(client, text, strlen(text));
}

void live_client_reply_error(struct live_client *client, const char *reason, const json_t *id)
{
    /* A reason may quote the client's text cut short ("%.64s"), maybe inside
     * a UTF-8 sequence: what is not well-formed becomes '?'. */
    size_t len = strlen(reason);
    char *text = must_malloc(len + 1);
    for (size_t at = 0; at < len;) {
        size_t n = utf8_sequence_length((const unsigned char *)reason + at, len - at);
        if (n == 0) {
            text[at++] = '?';
            continue;
        }
        memcpy(text + at, reason + at, n);
        at += n;
    }
    text[len] = '\0';
    json_t *message = json_pack("{s:s, s:s}", "type", "error", "error", text);
    free(text);
    if (id)
        json_object_set(message, "id", (json_t *)id);
    live_client_reply(client, message);
}

size_t live_client_reply_bytes(const struct live_client *client)
{
    return client->reply_bytes;
}

void live_client_close_after_replies(struct live_client *client)
{
    client->closing = true;
    if (client->backlog.active)
        client->backlog.end = client->backlog.next;
    wake(client);
}

unsigned live_client_jobs(const struct live_client *client)
{
    return client->jobs;
}

void live_client_job_started(struct live_client *client)
{
    client->jobs++;
}

void live_client_job_finished(struct live_client *client)
{
    if (client->jobs > 0)
        client->jobs--;
}

void live_client_set_filter(struct live *live, struct live_client *client,
                            struct live_filter *filter)
{
    live_filter_free(&client->filter);
    client->filter = *filter;
    live_filter_init(filter);

    /* What was queued or promised under the old filter is void: the new
     * backlog covers the ring, and the ring holds the newest records. */
    live_refs_clear(&client->queue);
    client->queue_bytes = 0;
    client->missed = 0;
    struct list_node *node = client->replies.next;
    while (node != &client->replies) {
        struct live_reply *reply = LIST_ENTRY(node, struct live_reply, node);
        node = node->next;
        if (!reply->text) {
            list_remove(&reply->node);
            free(reply);
        }
    }
    client->queued_backlog = NULL;
    /* A backlog half sent ends with its next fragment. */
    if (client->backlog.active)
        client->backlog.end = client->backlog.next;

    json_t *answer = json_pack("{s:s, s:O}", "type", "filter", "filter", client->filter.normalised);
    live_client_reply(client, answer);
    live_client_queue_backlog(live, client);
}

/* The next piece of the backlog: records of the ring the filter wants,
 * oldest first, within the frame's limits. */
static enum live_frame backlog_fragment(struct live *live, struct live_client *client,
                                        struct bytebuf *out, bool first)
{
    static const char head[] = "{\"type\":\"backlog\",\"records\":[";
    size_t start = out->len;
    if (first)
        bytebuf_append(out, head, sizeof head - 1);

    /* Records the ring let go meanwhile are no longer there to send (they
     * were counted as missed when they went: account_eviction). */
    uint64_t next = client->backlog.next;
    if (next < live_refs_first_seq(&live->ring))
        next = live_refs_first_seq(&live->ring);
    unsigned records = 0, scanned = 0;
    while (next < client->backlog.end && records < LIVE_FRAME_RECORDS &&
           scanned < BACKLOG_SCAN_PER_FRAME) {
        const struct feed_item *item = live_refs_by_seq(&live->ring, next)->item;
        struct live_candidate candidate;
        live_candidate_init(&candidate, item);
        bool wanted = live_filter_match(&client->filter, &candidate);
        live_candidate_done(&candidate);
        if (wanted) {
            if (records > 0 && out->len - start + record_cost(item) + 2 > LIVE_FRAME_BYTES)
                break;
            if (client->backlog.any)
                bytebuf_append_byte(out, ',');
            append_record(out, item);
            client->backlog.any = true;
            records++;
        }
        next++;
        scanned++;
    }
    client->backlog.next = next;

    if (next >= client->backlog.end) {
        bytebuf_append(out, "]}", 2);
        client->backlog.active = false;
        return first ? LIVE_WHOLE : LIVE_LAST;
    }
    if (first)
        return LIVE_FIRST;
    return out->len > start ? LIVE_MIDDLE : LIVE_NOT_YET;
}

static void records_frame(struct live_client *client, struct bytebuf *out)
{
    static const char head[] = "{\"type\":\"records\",\"records\":[";
    size_t start = out->len;
    bytebuf_append(out, head, sizeof head - 1);
    unsigned records = 0;
    while (client->queue.count > 0 && records < LIVE_FRAME_RECORDS) {
        const struct feed_item *item = live_refs_oldest(&client->queue)->item;
        size_t cost = record_cost(item);
        if (records > 0 && out->len - start + cost + 2 > LIVE_FRAME_BYTES)
            break;
        if (records > 0)
            bytebuf_append_byte(out, ',');
        append_record(out, item);
        records++;
        client->queue_bytes -= cost;
        live_refs_pop(&client->queue);
    }
    bytebuf_append(out, "]}", 2);
}

enum live_frame live_client_next_frame(struct live *live, struct live_client *client,
                                       struct bytebuf *out)
{
    if (client->backlog.active)
        return backlog_fragment(live, client, out, false);

    while (!list_empty(&client->replies)) {
        struct live_reply *reply = LIST_ENTRY(client->replies.next, struct live_reply, node);
        list_remove(&reply->node);
        client->reply_bytes -= reply->len;
        if (reply->text) {
            bytebuf_append(out, reply->text, reply->len);
            free(reply->text);
            free(reply);
            return LIVE_WHOLE;
        }
        bool closing = client->closing;
        client->queued_backlog = NULL;
        if (!closing) {
            client->backlog.active = true;
            client->backlog.any = false;
            client->backlog.next = reply->backlog_first;
            client->backlog.end = reply->backlog_end;
        }
        free(reply);
        if (!closing)
            return backlog_fragment(live, client, out, true);
    }

    if (client->closing)
        return LIVE_CLOSE;
    if (client->missed > 0) {
        char text[80];
        int n = snprintf(text, sizeof text, "{\"type\":\"missed\",\"count\":%" PRIu64 "}",
                         client->missed);
        bytebuf_append(out, text, (size_t)n);
        client->missed = 0;
        return LIVE_WHOLE;
    }
    if (client->queue.count > 0) {
        records_frame(client, out);
        return LIVE_WHOLE;
    }
    return LIVE_NOTHING;
}

bool live_client_backlog_needs(const struct live_client *client, uint64_t seq)
{
    if (client->closing)
        return false;
    if (client->backlog.active && client->backlog.next <= seq && seq < client->backlog.end)
        return true;
    const struct live_reply *queued = client->queued_backlog;
    return queued && queued->backlog_first <= seq && seq < queued->backlog_end;
}

bool live_client_has_more(const struct live_client *client)
{
    return client->backlog.active || !list_empty(&client->replies) || client->closing ||
           client->missed > 0 || client->queue.count > 0;
}
