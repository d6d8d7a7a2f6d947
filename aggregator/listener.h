/*
 * listener.h - the socket programs connect to.
 *
 * The socket appears fully formed or not at all: ulogd binds to a temporary
 * name next to it, listens, opens it to everyone (0666: any user's program
 * may log) and rename()s it into place, so "the path exists" means "ulogd is
 * accepting". A lock file beside it (PATH.lock, held with flock for ulogd's
 * lifetime) stops a second ulogd from stealing the path from a live one,
 * while a socket left by a crashed one is simply replaced.
 */
#ifndef ULOGD_LISTENER_H
#define ULOGD_LISTENER_H

#include <stdbool.h>

#include <stddef.h>
#include <sys/types.h>

struct listener {
    int fd;
    int lock_fd;
    int reserve_fd; /* given up to accept-and-close when out of descriptors */
    char *path;
    dev_t dev; /* the socket file we created, so that we unlink only ours */
    ino_t ino;
};

/*
 * The socket path when none was configured: /run/ulog/ulog.sock, or the
 * per-user fallback of include/ulog/paths.h when /run/ulog cannot be made.
 * Returns a malloc'd path, or NULL with the reason in err when the fallback's
 * directory cannot be trusted.
 */
char *listener_default_path(char *err, size_t err_size);

int listener_open(struct listener *l, const char *path, char *err, size_t err_size);

/*
 * One pending connection: a non-blocking, close-on-exec fd, or -1 with errno
 * (EAGAIN: none left). When ulogd is out of descriptors the connection is
 * accepted and closed at once, so it does not spin the event loop, and -1
 * with errno EMFILE tells the caller to report it.
 */
int listener_accept(struct listener *l);

/*
 * The start of an orderly stop: no connect() can complete after this, and
 * the path is removed unless keep_path (then it is left as a socket nobody
 * listens on); connections already queued can still be accepted.
 */
void listener_shut(struct listener *l, bool keep_path);

void listener_close(struct listener *l);

#endif
