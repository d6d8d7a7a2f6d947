/*
 * listener.c - the socket programs connect to (see listener.h).
 *
 * SO_PASSCRED is set on the listening socket and inherited by every accepted
 * one, including messages queued before accept(), so each message arrives
 * with the sender's pid as the kernel knows it.
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "ulog/paths.h"

/* Make `dir` (one level) if missing and check it is a directory we may use. */
static int prepare_directory(const char *dir, mode_t mode, bool private_dir)
{
    struct stat st;

    if (mkdir(dir, mode) != 0 && errno != EEXIST)
        return -1;
    if (lstat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    /* A private directory someone else made (or can write to) is a trap. */
    if (private_dir && (st.st_uid != geteuid() || (st.st_mode & 022))) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return must_strdup(".");
    if (slash == path)
        return must_strdup("/");
    return must_strndup(path, (size_t)(slash - path));
}

char *listener_default_path(char *err, size_t err_size)
{
    char fallback[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *dir;

    if (prepare_directory("/run/ulog", 0755, false) == 0 && access("/run/ulog", W_OK) == 0)
        return must_strdup(ULOG_DEFAULT_SOCKET);
    ulog_fallback_socket(fallback, sizeof fallback);
    /* The fallback lives in a directory of its own: make it, privately, and
     * refuse one that another user made or can write to. */
    dir = parent_of(fallback);
    if (prepare_directory(dir, 0700, true) != 0) {
        snprintf(err, err_size, "cannot use %s for the socket: %s%s", dir, strerror(errno),
                 errno == EPERM ? " (not owned by this user, or writable by others)" : "");
        free(dir);
        return NULL;
    }
    free(dir);
    return must_strdup(fallback);
}

static int fill_address(struct sockaddr_un *addr, const char *path)
{
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr->sun_path, path, strlen(path) + 1);
    return 0;
}

static int take_lock(struct listener *l, char *err, size_t size)
{
    size_t len = strlen(l->path) + sizeof ".lock";
    char *lock_path = must_malloc(len);

    snprintf(lock_path, len, "%s.lock", l->path);
    l->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (l->lock_fd < 0) {
        snprintf(err, size, "%s: %s", lock_path, strerror(errno));
        free(lock_path);
        return -1;
    }
    if (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, size, "another ulogd is already serving %s", l->path);
        else
            snprintf(err, size, "%s: %s", lock_path, strerror(errno));
        free(lock_path);
        return -1;
    }
    free(lock_path);
    return 0;
}

int listener_open(struct listener *l, const char *path, char *err, size_t size)
{
    struct sockaddr_un addr;
    struct stat st;
    char *dir = parent_of(path);
    char *temp = NULL;
    int one = 1;

    memset(l, 0, sizeof *l);
    l->fd = l->lock_fd = l->reserve_fd = -1;
    l->path = must_strdup(path);

    if (access(dir, F_OK) != 0 && prepare_directory(dir, 0755, false) != 0) {
        snprintf(err, size, "cannot create the socket's directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (take_lock(l, err, size) != 0)
        goto fail;
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        snprintf(err, size, "%s exists and is not a socket", path);
        goto fail;
    }

    size_t temp_len = strlen(path) + 16;
    temp = must_malloc(temp_len);
    snprintf(temp, temp_len, "%s.%d", path, (int)getpid());
    if (fill_address(&addr, temp) != 0) {
        snprintf(err, size, "socket path too long: %s", path);
        goto fail;
    }
    l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        snprintf(err, size, "socket: %s", strerror(errno));
        goto fail;
    }
    if (setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
        snprintf(err, size, "SO_PASSCRED: %s", strerror(errno));
        goto fail;
    }
    unlink(temp); /* left by an earlier ulogd that had our pid and crashed */
    if (bind(l->fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(l->fd, SOMAXCONN) != 0 || chmod(temp, 0666) != 0) {
        snprintf(err, size, "cannot listen on %s: %s", temp, strerror(errno));
        unlink(temp);
        goto fail;
    }
    if (rename(temp, path) != 0) {
        snprintf(err, size, "cannot move the socket to %s: %s", path, strerror(errno));
        unlink(temp);
        goto fail;
    }
    if (stat(path, &st) == 0) {
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    free(temp);
    free(dir);
    return 0;

fail:
    free(temp);
    free(dir);
    listener_close(l);
    return -1;
}

int listener_accept(struct listener *l)
{
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd >= 0 || (errno != EMFILE && errno != ENFILE) || l->reserve_fd < 0)
        return fd;
    /* Out of descriptors: shed this connection instead of spinning on it. */
    close(l->reserve_fd);
    fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    errno = EMFILE;
    return -1;
}

static void unlink_if_ours(struct listener *l)
{
    struct stat st;

    if (l->path && l->ino && stat(l->path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino)
        unlink(l->path);
    l->ino = 0;
}

void listener_shut(struct listener *l, bool keep_path)
{
    if (keep_path)
        l->ino = 0; /* the path stays, a socket nobody listens on */
    else
        unlink_if_ours(l);
    if (l->fd >= 0)
        shutdown(l->fd, SHUT_RD);
}

void listener_close(struct listener *l)
{
    unlink_if_ours(l);
    if (l->fd >= 0)
        close(l->fd);
    if (l->reserve_fd >= 0)
        close(l->reserve_fd);
    if (l->lock_fd >= 0)
        close(l->lock_fd); /* the lock file stays: removing it would race a new ulogd */
    free(l->path);
    memset(l, 0, sizeof *l);
    l->fd = l->lock_fd = l->reserve_fd = -1;
}
