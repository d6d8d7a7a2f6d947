/*
 * http_reply.c - the "http" protocol's replies, and the requests parked
 * until they can be answered (see http_internal.h).
 *
 * A reply is decided whole - a JSON document, a page file built into ulogd -
 * and queued on its request; the writeable callbacks then write its headers
 * and, one chunk per callback, its body, so a client that reads slowly costs
 * the buffer its answer is in, never a wait of the HTTP thread.
 *
 * A request that waits for a job or for the event loop is parked under a
 * cookie. The answer finds it again by that cookie, or does not find it
 * when the client went away meanwhile (lws released the request), and is
 * then simply dropped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "http_internal.h"

#define HTTP_HEADER_ROOM 2048

static const char page_csp[] = "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'";

static struct http_replies *replies_of(struct lws *wsi)
{
    return http_replies_of(http_shared_of(wsi));
}

static void count_response(struct http_replies *replies, int status)
{
    if (status >= 0 && status < HTTP_STATUS_CODES)
        replies->counts[status]++;
}

/* --- parked requests ---------------------------------------------------------- */

uint64_t http_request_park(struct lws *wsi, enum http_wait wait)
{
    struct http_replies *replies = replies_of(wsi);
    struct http_request *req = lws_wsi_user(wsi);

    if (!req->cookie) {
        req->cookie = ++replies->next_cookie;
        lws_dll2_add_tail(&req->parked, &replies->parked);
    }
    req->wait = wait;
    return req->cookie;
}

static void unpark(struct http_request *req)
{
    if (req->cookie) {
        lws_dll2_remove(&req->parked);
        req->cookie = 0;
    }
    req->wait = HTTP_WAIT_NONE;
}

struct lws *http_request_find(struct http_shared *shared, uint64_t cookie)
{
    struct http_replies *replies = http_replies_of(shared);

    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&replies->parked)) {
        struct http_request *req = lws_container_of(d, struct http_request, parked);
        if (req->cookie == cookie)
            return req->wsi;
    }
    lws_end_foreach_dll(d);
    return NULL;
}

void http_request_foreach_parked(struct http_shared *shared,
                                 void (*fn)(struct lws *wsi, struct http_request *req, void *ctx),
                                 void *ctx)
{
    struct http_replies *replies = http_replies_of(shared);

    /* Safe: fn may reply, which unparks the request it is given. */
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, next, lws_dll2_get_head(&replies->parked)) {
        struct http_request *req = lws_container_of(d, struct http_request, parked);
        fn(req->wsi, req, ctx);
    }
    lws_end_foreach_dll_safe(d, next);
}

void http_request_release(struct lws *wsi, struct http_request *req)
{
    if (!req)
        return;
    if (req->cookie || req->wait != HTTP_WAIT_NONE) {
        unpark(req);
        lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
    }
    if (req->replied && !req->finished) {
        req->finished = true;
        replies_of(wsi)->in_flight--;
    }
    free(req->body);
    req->body = NULL;
    json_decref(req->answer);
    req->answer = NULL;
    free(req->reply);
    req->reply = NULL;
}

/* --- replies ------------------------------------------------------------------- */

static void queue_reply(struct lws *wsi, int status, const char *content_type, char *body,
                        const unsigned char *static_body, size_t len)
{
    struct http_request *req = lws_wsi_user(wsi);

    if (!req || req->replied) {
        free(body);
        return;
    }
    if (req->cookie || req->wait != HTTP_WAIT_NONE) {
        unpark(req);
        lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
    }
    req->replied = true;
    replies_of(wsi)->in_flight++;
    req->status = status;
    req->content_type = content_type;
    req->reply = body;
    req->reply_static = static_body;
    req->reply_len = len;
    req->reply_sent = 0;
    lws_callback_on_writable(wsi);
}

void http_reply(struct lws *wsi, int status, const char *content_type, char *body, size_t len)
{
    queue_reply(wsi, status, content_type, body, NULL, len);
}

void http_reply_static(struct lws *wsi, int status, const char *content_type,
                       const unsigned char *data, size_t len)
{
    queue_reply(wsi, status, content_type, NULL, data, len);
}

static char *json_text(json_t *value, size_t *len)
{
    char *text = json_dumps(value, JSON_COMPACT);

    json_decref(value);
    if (!text)
        text = must_strdup("{\"error\":\"the answer could not be encoded\"}");
    *len = strlen(text);
    return text;
}

void http_reply_json(struct lws *wsi, int status, json_t *value)
{
    size_t len;
    char *text = json_text(value, &len);

    http_reply(wsi, status, "application/json", text, len);
}

void http_reply_error(struct lws *wsi, int status, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    http_reply_json(wsi, status, json_pack("{s:s}", "error", reason));
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int write_headers(struct lws *wsi, struct http_replies *replies, struct http_request *req)
{
    unsigned char *start = replies->chunk + LWS_PRE, *p = start, *end = start + HTTP_HEADER_ROOM;

    if (lws_add_http_common_headers(wsi, (unsigned)req->status, req->content_type,
                                    req->reply_len, &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
        add_header(wsi, "cache-control:", req->page ? "no-cache" : "no-store", &p, end))
        return -1;
    if (req->page && (add_header(wsi, "content-security-policy:", page_csp, &p, end) ||
                      add_header(wsi, "x-frame-options:", "DENY", &p, end)))
        return -1;
    if (req->status == 401 && add_header(wsi, "www-authenticate:", "Bearer", &p, end))
        return -1;
    if (req->status == 405 && req->allow && add_header(wsi, "allow:", req->allow, &p, end))
        return -1;
    if (req->status == 426 && add_header(wsi, "upgrade:", "websocket", &p, end))
        return -1;
    if (req->close_after && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

static int finish_reply(struct lws *wsi, struct http_request *req)
{
    req->finished = true;
    replies_of(wsi)->in_flight--;
    free(req->reply);
    req->reply = NULL;
    req->reply_static = NULL;
    if (req->close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* One step per writeable callback: the headers, then one chunk at a time. */
int http_reply_write(struct lws *wsi, struct http_request *req)
{
    struct http_replies *replies = replies_of(wsi);
    const unsigned char *data;
    size_t n;
    bool last;

    if (!req->replied || req->finished)
        return 0;
    if (!req->headers_sent) {
        if (write_headers(wsi, replies, req))
            return -1;
        req->headers_sent = true;
        count_response(replies, req->status);
        if (req->head_only || !req->reply_len)
            return finish_reply(wsi, req);
        lws_callback_on_writable(wsi);
        return 0;
    }
    data = req->reply ? (const unsigned char *)req->reply : req->reply_static;
    n = req->reply_len - req->reply_sent;
    if (n > HTTP_CHUNK)
        n = HTTP_CHUNK;
    last = req->reply_sent + n == req->reply_len;
    memcpy(replies->chunk + LWS_PRE, data + req->reply_sent, n);
    if (lws_write(wsi, replies->chunk + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n)
        return -1;
    req->reply_sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return finish_reply(wsi, req);
}

/* Small enough for lws to buffer whatever the socket does not take. */
int http_reply_now(struct lws *wsi, int status, const char *reason)
{
    struct http_replies *replies = replies_of(wsi);
    unsigned char *start = replies->chunk + LWS_PRE, *p = start, *end = start + HTTP_HEADER_ROOM;
    size_t len;
    char *text = json_text(json_pack("{s:s}", "error", reason), &len);
    int rc = -1;

    if (!lws_add_http_common_headers(wsi, (unsigned)status, "application/json", len, &p, end) &&
        !add_header(wsi, "x-content-type-options:", "nosniff", &p, end) &&
        !add_header(wsi, "cache-control:", "no-store", &p, end) &&
        !(status == 401 && add_header(wsi, "www-authenticate:", "Bearer", &p, end)) &&
        !lws_finalize_write_http_header(wsi, start, &p, end) && len < HTTP_CHUNK) {
        memcpy(start, text, len);
        if (lws_write(wsi, start, len, LWS_WRITE_HTTP_FINAL) == (int)len)
            rc = 1;
    }
    count_response(replies, status);
    free(text);
    return rc;
}
