/*
 * http_listen.c - where the HTTP server listens: LOG_SERVICE_HOST:PORT as
 * one lws vhost per address, and a clear reason when one cannot be had.
 *
 * lws binds an address or an interface name, never a host name, so the
 * name is resolved here: "localhost" is 127.0.0.1 and ::1 (the latter only
 * where IPv6 is up), any other name its first IPv4 and first IPv6 address.
 * lws, given an IPv4 address on its default IPv6 socket, would bind "::"
 * (every interface): an IPv4 vhost is told to use an IPv4 socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"

struct bind_address {
    char text[INET6_ADDRSTRLEN];
    int family;
    bool optional; /* "localhost"'s ::1, where IPv6 may be off */
};

/* LOG_SERVICE_HOST as numeric addresses (lws binds an address or an
 * interface name, never a host name): one of each family at most. */
static size_t resolve_host(const char *host, struct bind_address *out, char *err,
                           size_t err_size)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;
    char bare[256];
    size_t count = 0;
    int rc;

    if (!host || !*host || strcasecmp(host, "localhost") == 0) {
        out[0] = (struct bind_address){"127.0.0.1", AF_INET, false};
        out[1] = (struct bind_address){"::1", AF_INET6, true};
        return 2;
    }
    /* "[::1]" is how a URL writes ::1. */
    snprintf(bare, sizeof bare, "%s", host + (host[0] == '['));
    if (host[0] == '[' && strchr(bare, ']'))
        *strchr(bare, ']') = '\0';
    rc = getaddrinfo(bare, NULL, &hints, &res);
    if (rc) {
        snprintf(err, err_size, "cannot listen on %s: %s", host, gai_strerror(rc));
        return 0;
    }
    for (ai = res; ai && count < HTTP_MAX_VHOSTS; ai = ai->ai_next) {
        const void *addr;
        if (ai->ai_family == AF_INET)
            addr = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            addr = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        else
            continue;
        bool seen = false;
        for (size_t i = 0; i < count; i++)
            seen |= out[i].family == ai->ai_family;
        if (seen)
            continue;
        inet_ntop(ai->ai_family, addr, out[count].text, sizeof out[count].text);
        out[count].family = ai->ai_family;
        out[count].optional = count > 0;
        count++;
    }
    freeaddrinfo(res);
    if (!count)
        snprintf(err, err_size, "cannot listen on %s: no IPv4 or IPv6 address", host);
    return count;
}

/* lws says only that the vhost failed; binding the address ourselves says
 * why: an errno, or 0 when the address can be bound after all. */
static int bind_error(const struct bind_address *addr, unsigned port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int fd = socket(addr->family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, error = 0;

    if (fd < 0)
        return errno;
    if (addr->family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr->text, &sin6->sin6_addr);
        len = sizeof *sin6;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr->text, &sin->sin_addr);
        len = sizeof *sin;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        error = errno;
    close(fd);
    return error;
}

int http_listen(struct lws_context *context, const char *host, unsigned port,
                const struct lws_context_creation_info *base, struct lws_vhost **vhosts,
                size_t *vhost_count, char *err, size_t err_size)
{
    struct bind_address addrs[HTTP_MAX_VHOSTS];
    size_t count = resolve_host(host, addrs, err, err_size);

    if (!count)
        return -1;
    if (port == 0)
        count = 1; /* a port the kernel picks would differ per address */
    *vhost_count = 0;
    for (size_t i = 0; i < count; i++) {
        struct lws_context_creation_info info = *base;
        struct lws_vhost *vhost;

        info.port = (int)port;
        info.iface = addrs[i].text;
        info.vhost_name = i == 0 ? "ulogd" : "ulogd-second-address";
        info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_VALIDATE_UTF8;
        if (addrs[i].family == AF_INET)
            info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
        else if (strcmp(addrs[i].text, "::") != 0)
            info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
        vhost = lws_create_vhost(context, &info);
        if (!vhost) {
            int error = bind_error(&addrs[i], port);
            /* ::1 may be missing (IPv6 off); taken by another program, it
             * is refused like any address in use: "localhost" would reach
             * that program half of the time. */
            if (addrs[i].optional && error != EADDRINUSE)
                continue;
            snprintf(err, err_size,
                     addrs[i].family == AF_INET6 ? "cannot listen on [%s]:%u: %s"
                                                 : "cannot listen on %s:%u: %s",
                     addrs[i].text, port,
                     error ? strerror(error) : "libwebsockets could not set it up");
            return -1;
        }
        vhosts[(*vhost_count)++] = vhost;
    }
    return 0;
}
