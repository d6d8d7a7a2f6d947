/*
 * docker_http.c - HTTP GETs over the engine's unix socket on ulogd's event
 * loop (see docker_http.h).
 *
 * The shape is curl's own multi-socket example (docs/examples/ephiperfifo.c)
 * with two changes: the sockets live in an epoll set of this file's own,
 * nested in the server's (so the server knows one descriptor, and a socket
 * libcurl drops can never be mistaken for a connection of the server's),
 * and the timer is a deadline read by the loop's housekeeping instead of a
 * timerfd. `depth` counts the calls into libcurl under way: while it is
 * non-zero, starts and cancels wait on their lists for settle(). Finished
 * requests are handed to their owners only from settle(), after a turn of
 * libcurl, never from inside a start or a cancel, so an owner's code is
 * never re-entered by one of its own calls.
 */
#include "docker_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "alloc.h"
#include "assembler.h"
#include "bytebuf.h"
#include "list.h"

#define CONNECT_TIMEOUT_MS 5000L
#define MAX_READY 64

struct docker_request {
    struct list_node link; /* on active, to_add or cancelled */
    struct docker_http *http;
    CURL *easy;
    bool in_multi, cancelled, finishing, stream, too_big;
    size_t max_body;
    struct bytebuf body;
    docker_body_fn *on_body;
    docker_done_fn *on_done;
    docker_answered_fn *on_answer;
    void *owner;
    char error[CURL_ERROR_SIZE];
    char api_version[32];
};

struct docker_http {
    CURLM *multi;
    int epoll_fd;
    char *socket_path;
    uint64_t timer_due; /* monotonic ns; UINT64_MAX: none */
    unsigned depth;
    struct list_node active, to_add, cancelled;
};

/* ---- libcurl's callbacks --------------------------------------------------------- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct docker_http *h = userp;
    (void)easy;
    (void)socketp;

    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(h->epoll_fd, EPOLL_CTL_DEL, fd, NULL); /* EBADF if already closed: fine */
        return 0;
    }
    struct epoll_event ev = {
        .events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0),
        .data.fd = fd,
    };
    /* A number libcurl closed without saying so may come back as a new socket. */
    if (epoll_ctl(h->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct docker_http *h = userp;
    (void)multi;

    h->timer_due = timeout_ms < 0 ? UINT64_MAX
                                  : assembler_monotonic_now() + (uint64_t)timeout_ms * 1000000u;
    return 0;
}

static size_t on_write(char *data, size_t size, size_t count, void *userp)
{
    struct docker_request *r = userp;
    size_t n = size * count;
    long status = 0;

    if (r->cancelled)
        return 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (r->stream && status >= 200 && status < 300) {
        r->on_body(r->owner, data, n);
        return r->cancelled ? 0 : n; /* a cancel from the callback stops the transfer */
    }
    if (n > r->max_body - r->body.len) {
        r->too_big = true;
        return 0;
    }
    bytebuf_append(&r->body, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t count, void *userp)
{
    struct docker_request *r = userp;
    size_t n = size * count;
    static const char name[] = "Api-Version:";
    long status = 0;

    if (r->cancelled)
        return 0;
    if (n <= 2 && (data[0] == '\r' || data[0] == '\n')) { /* the blank line ends them */
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && r->on_answer) {
            docker_answered_fn *answered = r->on_answer;
            r->on_answer = NULL;
            answered(r->owner, status);
        }
        return r->cancelled ? 0 : n;
    }
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t i = sizeof name - 1, end = n;
        while (i < end && (data[i] == ' ' || data[i] == '\t'))
            i++;
        while (end > i && (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' '))
            end--;
        snprintf(r->api_version, sizeof r->api_version, "%.*s", (int)(end - i), data + i);
    }
    return n;
}

/* ---- requests ------------------------------------------------------------------- */

static void free_request(struct docker_request *r)
{
    curl_easy_cleanup(r->easy);
    bytebuf_free(&r->body);
    free(r);
}

static void finish(struct docker_request *r, CURLcode result)
{
    struct docker_response response = {.error = "", .api_version = r->api_version};

    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &response.status);
    response.too_big = r->too_big;
    response.transport_failed = result != CURLE_OK && !r->too_big;
    if (result != CURLE_OK)
        response.error = r->error[0] ? r->error : curl_easy_strerror(result);
    response.body = r->body.data ? r->body.data : "";
    response.body_len = r->body.len;
    r->finishing = true;
    r->on_done(r->owner, r, &response);
}

/* Hand libcurl what waited while it was busy, and the finished requests to their owners. */
static void settle(struct docker_http *h)
{
    for (;;) {
        while (!list_empty(&h->cancelled)) {
            struct docker_request *r = LIST_ENTRY(h->cancelled.next, struct docker_request, link);
            list_remove(&r->link);
            if (r->in_multi)
                curl_multi_remove_handle(h->multi, r->easy);
            free_request(r);
        }
        while (!list_empty(&h->to_add)) {
            struct docker_request *r = LIST_ENTRY(h->to_add.next, struct docker_request, link);
            list_remove(&r->link);
            list_add_tail(&h->active, &r->link);
            r->in_multi = curl_multi_add_handle(h->multi, r->easy) == CURLM_OK;
        }
        int left;
        CURLMsg *msg = curl_multi_info_read(h->multi, &left);
        if (!msg)
            return;
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result; /* msg is gone after the next libcurl call */
        struct docker_request *r = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        curl_multi_remove_handle(h->multi, easy);
        r->in_multi = false;
        list_remove(&r->link);
        if (!r->cancelled)
            finish(r, result);
        free_request(r);
    }
}

struct docker_request *docker_http_get(struct docker_http *h, const char *path, bool stream,
                                       size_t max_body, long timeout_ms, docker_body_fn *on_body,
                                       docker_done_fn *on_done, void *owner)
{
    struct docker_request *r = must_calloc(1, sizeof *r);
    char url[512];

    r->http = h;
    r->stream = stream;
    r->max_body = max_body;
    r->on_body = on_body;
    r->on_done = on_done;
    r->owner = owner;
    r->easy = curl_easy_init();
    if (!r->easy) {
        fprintf(stderr, "ulogd: libcurl cannot make a request\n");
        abort(); /* out of memory, as must_malloc treats it */
    }
    snprintf(url, sizeof url, "http://localhost%s", path);
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, h->socket_path);
    curl_easy_setopt(r->easy, CURLOPT_PROXY, ""); /* never an http_proxy from the environment */
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(r->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "ulogd");
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    if (h->depth) {
        list_add_tail(&h->to_add, &r->link);
    } else {
        list_add_tail(&h->active, &r->link);
        r->in_multi = curl_multi_add_handle(h->multi, r->easy) == CURLM_OK;
    }
    return r;
}

void docker_http_on_answer(struct docker_request *r, docker_answered_fn *on_answer)
{
    r->on_answer = on_answer;
}

void docker_http_cancel(struct docker_request *r)
{
    struct docker_http *h;

    if (!r || r->cancelled || r->finishing)
        return;
    h = r->http;
    r->cancelled = true;
    list_remove(&r->link);
    if (h->depth) {
        list_add_tail(&h->cancelled, &r->link);
        return;
    }
    if (r->in_multi)
        curl_multi_remove_handle(h->multi, r->easy); /* its finished message goes too */
    free_request(r);
}

/* ---- the loop's side ----------------------------------------------------------- */

struct docker_http *docker_http_new(const char *socket_path, char *err, size_t err_size)
{
    struct docker_http *h;

    if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
        snprintf(err, err_size, "libcurl cannot be initialised");
        return NULL;
    }
    h = must_calloc(1, sizeof *h);
    h->timer_due = UINT64_MAX;
    h->socket_path = must_strdup(socket_path);
    list_init(&h->active);
    list_init(&h->to_add);
    list_init(&h->cancelled);
    h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    h->multi = curl_multi_init();
    if (h->epoll_fd < 0 || !h->multi) {
        snprintf(err, err_size, "cannot set up the Docker Engine client: %s",
                 h->epoll_fd < 0 ? strerror(errno) : "curl_multi_init failed");
        docker_http_free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

static void drop_all(struct docker_http *h, struct list_node *list)
{
    while (!list_empty(list)) {
        struct docker_request *r = LIST_ENTRY(list->next, struct docker_request, link);
        list_remove(&r->link);
        if (r->in_multi)
            curl_multi_remove_handle(h->multi, r->easy);
        free_request(r);
    }
}

void docker_http_free(struct docker_http *h)
{
    if (!h)
        return;
    drop_all(h, &h->active);
    drop_all(h, &h->to_add);
    drop_all(h, &h->cancelled);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->epoll_fd >= 0)
        close(h->epoll_fd);
    free(h->socket_path);
    free(h);
    curl_global_cleanup();
}

int docker_http_fd(const struct docker_http *h)
{
    return h->epoll_fd;
}

void docker_http_ready(struct docker_http *h)
{
    struct epoll_event events[MAX_READY];
    int n = epoll_wait(h->epoll_fd, events, MAX_READY, 0);
    int running;

    for (int i = 0; i < n; i++) {
        uint32_t e = events[i].events;
        int action = (e & (EPOLLIN | EPOLLHUP) ? CURL_CSELECT_IN : 0) |
                     (e & EPOLLOUT ? CURL_CSELECT_OUT : 0) | (e & EPOLLERR ? CURL_CSELECT_ERR : 0);
        h->depth++;
        curl_multi_socket_action(h->multi, events[i].data.fd, action, &running);
        h->depth--;
    }
    settle(h);
}

/*
 * The timer as libcurl sees it now. Its callback only reports changes: a
 * deadline reached a little early (libcurl rounds to milliseconds) leaves
 * the timer as it was and unreported, so the deadline is asked for after
 * every turn rather than assumed gone.
 */
static void refresh_timer(struct docker_http *h, bool just_fired)
{
    long ms = -1;

    curl_multi_timeout(h->multi, &ms);
    if (ms == 0 && just_fired)
        ms = 1; /* due again at once: let the loop breathe */
    h->timer_due = ms < 0 ? UINT64_MAX
                          : assembler_monotonic_now() + (uint64_t)ms * 1000000u;
}

uint64_t docker_http_housekeeping(struct docker_http *h, uint64_t now_ns)
{
    int running;
    bool fired = h->timer_due <= now_ns;

    if (fired) {
        h->depth++;
        curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        h->depth--;
        settle(h);
    }
    refresh_timer(h, fired);
    return h->timer_due;
}
