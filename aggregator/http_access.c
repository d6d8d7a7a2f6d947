/*
 * http_access.c - who may use the HTTP server: the token (ULOG_TOKEN), and
 * without one, requests that come from this machine's own pages only.
 *
 * With a token, every endpoint but GET /health needs it, as
 * "Authorization: Bearer TOKEN" or "?token=TOKEN" (the only way a browser's
 * WebSocket can carry it); it is compared in constant time. Without a token
 * ulogd listens on loopback only (the configuration refuses anything else),
 * which still leaves two ways in from a web page elsewhere: a name of the
 * attacker's that resolves to 127.0.0.1 (DNS rebinding, seen in the Host
 * header) and a WebSocket opened from another site (seen in its Origin).
 * Both are refused here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "http_internal.h"

/* Equal, in a time that depends on the expected token's length only. */
static bool token_equal(const char *expected, const char *given, size_t given_len)
{
    size_t expected_len = strlen(expected);
    unsigned char diff = given_len != expected_len;

    for (size_t i = 0; i < expected_len; i++)
        diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
    return diff == 0;
}

/* Copy a whole header into a buffer of its own (NULL when absent). */
static char *header_copy(struct lws *wsi, enum lws_token_indexes token)
{
    int len = lws_hdr_total_length(wsi, token);
    char *text;

    if (len <= 0)
        return NULL;
    text = must_malloc((size_t)len + 1);
    if (lws_hdr_copy(wsi, text, len + 1, token) < 0) {
        free(text);
        return NULL;
    }
    return text;
}

int http_foreach_arg(struct lws *wsi, int (*fn)(const char *name, const char *value, void *ctx),
                     void *ctx)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS), rc = 0;
    char *arg;

    if (total <= 0)
        return 0;
    arg = must_malloc((size_t)total + 1);
    for (int i = 0; lws_hdr_copy_fragment(wsi, arg, total + 1, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        char *eq = strchr(arg, '=');
        if (!arg[0])
            continue;
        if (eq)
            *eq = '\0';
        rc = fn(arg, eq ? eq + 1 : "", ctx);
        if (rc)
            break;
    }
    free(arg);
    return rc;
}

struct token_search {
    const char *token;
    bool found;
};

static int match_token_arg(const char *name, const char *value, void *ctx)
{
    struct token_search *search = ctx;

    if (strcmp(name, "token") == 0 && token_equal(search->token, value, strlen(value)))
        search->found = true;
    return 0;
}

bool http_authorized(struct lws *wsi)
{
    const char *token = http_shared_of(wsi)->token;
    struct token_search search = {token, false};
    char *auth;

    if (!token)
        return true;
    auth = header_copy(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (auth) {
        char *p = auth;
        while (*p == ' ')
            p++;
        if (strncasecmp(p, "Bearer ", 7) == 0) {
            p += 7;
            while (*p == ' ')
                p++;
            size_t len = strlen(p);
            while (len && p[len - 1] == ' ')
                len--;
            search.found = token_equal(token, p, len);
        }
        free(auth);
    }
    if (!search.found)
        http_foreach_arg(wsi, match_token_arg, &search);
    return search.found;
}

/* The host part of "host", "host:port", "[v6]:port". */
static void host_part(const char *authority, char *out, size_t size)
{
    const char *end;

    if (authority[0] == '[') {
        end = strchr(authority, ']');
        authority++;
    } else {
        end = strchr(authority, ':');
    }
    size_t len = end ? (size_t)(end - authority) : strlen(authority);
    if (len >= size)
        len = size - 1;
    memcpy(out, authority, len);
    out[len] = '\0';
}

/* Without a token only loopback is bound, but a web page elsewhere can still
 * make the browser talk to it under a name that resolves to 127.0.0.1 (DNS
 * rebinding): such a request names a host of its own, refused here. */
static bool host_is_local(struct lws *wsi, const char *authority)
{
    char host[256];
    size_t len;
    struct in_addr v4;

    host_part(authority, host, sizeof host);
    len = strlen(host);
    if (len && host[len - 1] == '.')
        host[--len] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcasecmp(host, http_server_host(http_shared_of(wsi))) == 0)
        return true;
    if (len > 10 && strcasecmp(host + len - 10, ".localhost") == 0)
        return true;
    return inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

bool http_request_is_local(struct lws *wsi)
{
    char *host;
    bool ok;

    if (http_shared_of(wsi)->token)
        return true;
    host = header_copy(wsi, WSI_TOKEN_HOST);
    ok = !host || host_is_local(wsi, host);
    free(host);
    return ok;
}

/* An Origin header (a browser's WebSocket always has one) must name the
 * host the request was sent to: no other site's page may read the stream. */
static bool origin_allowed(struct lws *wsi)
{
    char *origin, *host;
    const char *authority;
    bool ok = true;

    if (http_shared_of(wsi)->token)
        return true;
    origin = header_copy(wsi, WSI_TOKEN_ORIGIN);
    if (!origin)
        return true;
    host = header_copy(wsi, WSI_TOKEN_HOST);
    authority = strstr(origin, "://");
    ok = host && authority && strcasecmp(authority + 3, host) == 0;
    free(host);
    free(origin);
    return ok;
}

int http_upgrade_check(struct lws *wsi, const char *upgrade)
{
    char path[64];
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);

    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return http_reply_now(wsi, 400, "only WebSocket upgrades are served, at /ws");
    if (len <= 0 || len >= (int)sizeof path ||
        lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) < 0 || strcmp(path, "/ws") != 0)
        return http_reply_now(wsi, 404, "WebSocket connections are served at /ws only");
    if (!http_request_is_local(wsi) || !origin_allowed(wsi))
        return http_reply_now(wsi, 403, "without ULOG_TOKEN, only pages of this machine may "
                                        "connect");
    if (!http_authorized(wsi))
        return http_reply_now(wsi, 401, "missing or wrong token (ULOG_TOKEN)");
    return 0;
}
