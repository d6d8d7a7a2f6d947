/*
 * http_ws.c - the WebSocket protocol of /ws (libwebsockets): who may
 * connect, what a client's messages mean, and writing its frames.
 *
 * The live hub (live.c, live_client.c) decides what each client is sent;
 * this file only turns lws callbacks into calls to it. A client is woken
 * with lws_callback_on_writable, and each SERVER_WRITEABLE callback writes
 * exactly one frame: lws never calls it again before that frame has gone,
 * so a client that does not read holds back nobody but itself (its queue is
 * bounded; the thread never waits on its socket).
 *
 * Client messages (JSON text, at most WS_MESSAGE_MAX bytes once reassembled
 * from their fragments): {"type":"filter",...}, {"type":"analysis_request",
 * ...} (analysis.c), {"type":"ping"}. A bad one is answered
 * {"type":"error","error":"..."} and the connection stays; one too large is
 * answered so and the connection closed (1009).
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "bytebuf.h"
#include "http_internal.h"
#include "live_client.h"
#include "live_filter.h"

#define WS_PATH "/ws"
#define WS_MESSAGE_MAX (64u << 10)
/* Replies a client has not read (it keeps asking, never reads): beyond
 * this it is cut off, since its replies are not bounded otherwise. */
#define WS_REPLY_BYTES_MAX (16u << 20)
/* The frame buffer kept between writes. */
#define WS_OUT_KEEP (LIVE_FRAME_BYTES + (64u << 10))

struct ws_session {
    struct live_client *client;
    struct bytebuf rx;            /* a message arriving in fragments */
    bool rx_refused;              /* too large: the rest is ignored, we are closing */
    struct bytebuf out;           /* LWS_PRE bytes, then the frame */
    enum lws_close_status close_status;
    const char *close_reason;
};

static void wake_writable(void *wsi)
{
    lws_callback_on_writable(wsi);
}

/* Only /ws, and only with the token when there is one. http.c already
 * answers other paths and a missing token with an HTTP status before the
 * upgrade; refusing here too keeps the protocol safe on its own. */
static bool accept_connection(struct lws *wsi)
{
    char path[sizeof WS_PATH + 1];
    if (lws_hdr_copy(wsi, path, (int)sizeof path, WSI_TOKEN_GET_URI) <= 0 ||
        strcmp(path, WS_PATH) != 0)
        return false;
    return http_authorized(wsi);
}

static void reply_ping(struct live_client *client, const json_t *message)
{
    json_t *pong = json_pack("{s:s}", "type", "pong");
    const json_t *id = json_object_get(message, "id");
    if (id)
        json_object_set(pong, "id", (json_t *)id);
    live_client_reply(client, pong);
}

static void handle_filter(struct http_shared *shared, struct live_client *client,
                          const json_t *message)
{
    struct live_filter filter;
    char err[256];
    if (live_filter_parse(&filter, message, err, sizeof err) != 0) {
        live_filter_free(&filter);
        live_client_reply_error(client, err, NULL);
        return;
    }
    live_client_set_filter(shared->live, client, &filter);
    live_filter_free(&filter);
}

static void handle_message(struct lws *wsi, struct ws_session *session, const char *data,
                           size_t len)
{
    struct http_shared *shared = http_shared_of(wsi);
    char err[300];
    json_error_t json_err;
    json_t *message = json_loadb(data, len, 0, &json_err);
    if (!message) {
        snprintf(err, sizeof err, "invalid JSON: %s (line %d, column %d)", json_err.text,
                 json_err.line, json_err.column);
        live_client_reply_error(session->client, err, NULL);
        return;
    }
    const char *type = json_string_value(json_object_get(message, "type"));
    if (!json_is_object(message) || !type) {
        live_client_reply_error(session->client,
                                "expected an object with a \"type\" (filter, analysis_request, "
                                "ping)",
                                NULL);
    } else if (strcmp(type, "ping") == 0) {
        reply_ping(session->client, message);
    } else if (strcmp(type, "filter") == 0) {
        handle_filter(shared, session->client, message);
    } else if (strcmp(type, "analysis_request") == 0) {
        analysis_start(shared, session->client, message);
    } else {
        snprintf(err, sizeof err,
                 "unknown type \"%.64s\" (known: filter, analysis_request, ping)", type);
        live_client_reply_error(session->client, err, NULL);
    }
    json_decref(message);
}

static int receive(struct lws *wsi, struct ws_session *session, const char *in, size_t len)
{
    if (!session->client || session->rx_refused)
        return 0;
    /* The frame's announced length counts at once: no need to take it in. */
    size_t announced = session->rx.len + len + lws_remaining_packet_payload(wsi);
    if (announced > WS_MESSAGE_MAX) {
        char err[128];
        snprintf(err, sizeof err, "message too large: at most %u bytes", WS_MESSAGE_MAX);
        live_client_reply_error(session->client, err, NULL);
        live_client_close_after_replies(session->client);
        session->rx_refused = true;
        session->close_status = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
        session->close_reason = "message too large";
        bytebuf_free(&session->rx);
        return 0;
    }
    bytebuf_append(&session->rx, in, len);
    if (!lws_is_final_fragment(wsi))
        return 0;

    handle_message(wsi, session, session->rx.data ? session->rx.data : "", session->rx.len);
    bytebuf_reset(&session->rx, 4096);

    if (live_client_reply_bytes(session->client) > WS_REPLY_BYTES_MAX) {
        static const char reason[] = "replies not read";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)reason,
                         sizeof reason - 1);
        return -1;
    }
    return 0;
}

static int writeable(struct lws *wsi, struct ws_session *session)
{
    struct http_shared *shared = http_shared_of(wsi);
    if (!session->client)
        return 0;

    session->out.len = 0;
    bytebuf_reserve(&session->out, LWS_PRE);
    session->out.len = LWS_PRE;
    enum live_frame frame = live_client_next_frame(shared->live, session->client, &session->out);
    int flags;
    switch (frame) {
    case LIVE_NOTHING:
        return 0;
    case LIVE_NOT_YET:
        lws_callback_on_writable(wsi);
        return 0;
    case LIVE_CLOSE:
        if (session->close_reason)
            lws_close_reason(wsi, session->close_status, (unsigned char *)session->close_reason,
                             strlen(session->close_reason));
        return -1;
    case LIVE_WHOLE:
        flags = LWS_WRITE_TEXT;
        break;
    case LIVE_FIRST:
        flags = LWS_WRITE_TEXT | LWS_WRITE_NO_FIN;
        break;
    case LIVE_MIDDLE:
        flags = LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN;
        break;
    case LIVE_LAST:
    default:
        flags = LWS_WRITE_CONTINUATION;
        break;
    }
    size_t len = session->out.len - LWS_PRE;
    /* lws keeps what the socket did not take and sends it before it calls
     * this again: a short write is not an error, a negative one is. */
    if (lws_write(wsi, (unsigned char *)session->out.data + LWS_PRE, len,
                  (enum lws_write_protocol)flags) < (int)len)
        return -1;
    bytebuf_reset(&session->out, WS_OUT_KEEP);
    if (live_client_has_more(session->client))
        lws_callback_on_writable(wsi);
    return 0;
}

static int callback_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct ws_session *session = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return accept_connection(wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
        *session = (struct ws_session){0};
        if (!http_shared_of(wsi)->live)
            return -1;
        session->client = live_client_add(http_shared_of(wsi)->live, wake_writable, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return receive(wsi, session, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(wsi, session);
    case LWS_CALLBACK_CLOSED:
        if (session->client)
            live_client_remove(http_shared_of(wsi)->live, session->client);
        session->client = NULL;
        bytebuf_free(&session->rx);
        bytebuf_free(&session->out);
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols http_ws_protocol = {
    .name = "ulog",
    .callback = callback_ws,
    .per_session_data_size = sizeof(struct ws_session),
    .rx_buffer_size = 0,
};
