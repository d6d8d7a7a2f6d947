/*
 * docker_http.h - HTTP GETs to the Docker Engine's unix socket, on ulogd's
 * event loop.
 *
 * libcurl's multi-socket API does the HTTP (chunked streams included) and
 * tells which sockets it waits on and when it next needs a turn; this file
 * keeps those sockets in an epoll set of its own, whose single descriptor
 * the server's loop watches (docker_http_fd), and the timer as a deadline
 * the loop's housekeeping honours. Nothing here blocks or spawns a thread:
 * a unix socket needs no name resolution, and every read is one that epoll
 * said would not wait.
 *
 * A request either buffers its body (bounded: past max_body it fails as
 * too big) or hands a 2xx body on as it arrives (a stream), buffering only
 * an error status's body. Callbacks come from inside libcurl, where libcurl
 * must not be called again: so a request started or cancelled from a
 * callback is queued and handed to libcurl once it returns. After a cancel,
 * no callback of that request is called again and its memory is gone.
 */
#ifndef ULOGD_DOCKER_HTTP_H
#define ULOGD_DOCKER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The API version ulogd speaks: paths are "/v1.41/...". */
#define DOCKER_API_VERSION "1.41"

struct docker_http;
struct docker_request;

struct docker_response {
    long status;            /* HTTP status; 0 when no answer came */
    bool transport_failed;  /* no connection, or it broke (error says how) */
    bool too_big;           /* the body passed max_body */
    const char *error;      /* what went wrong, for a report; "" when nothing did */
    const char *body;       /* the buffered body (a stream's: only for an error status) */
    size_t body_len;
    const char *api_version; /* the Api-Version header; "" when absent */
};

/* The answer's status and headers are in (a stream's body may take long to follow). */
typedef void docker_answered_fn(void *owner, long status);
/* A stream's next bytes (2xx only). */
typedef void docker_body_fn(void *owner, const char *bytes, size_t len);
/* The request ended; called outside libcurl, so it may start or cancel others. */
typedef void docker_done_fn(void *owner, struct docker_request *request,
                            const struct docker_response *response);

/* NULL with `err` when libcurl cannot be set up. */
struct docker_http *docker_http_new(const char *socket_path, char *err, size_t err_size);
/* Cancels whatever is under way (no callbacks). */
void docker_http_free(struct docker_http *h);

/* The descriptor the event loop watches for readability. */
int docker_http_fd(const struct docker_http *h);
/* It was readable: let libcurl read and write what is ready. */
void docker_http_ready(struct docker_http *h);
/* libcurl's timer, if due; returns when it is next due (monotonic ns; UINT64_MAX: never). */
uint64_t docker_http_housekeeping(struct docker_http *h, uint64_t now_ns);

/*
 * GET `path` (such as "/v1.41/_ping"). `stream` hands a 2xx body to
 * `on_body`; otherwise up to `max_body` bytes are kept for `on_done`.
 * `timeout_ms` 0: none (a stream lasts as long as the engine keeps it).
 */
struct docker_request *docker_http_get(struct docker_http *h, const char *path, bool stream,
                                       size_t max_body, long timeout_ms, docker_body_fn *on_body,
                                       docker_done_fn *on_done, void *owner);
/* Be told when its headers have arrived (called from inside libcurl, once). */
void docker_http_on_answer(struct docker_request *request, docker_answered_fn *on_answer);

/* Stop it; none of its callbacks is called again (it may be the one calling). */
void docker_http_cancel(struct docker_request *request);

#endif
