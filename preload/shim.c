/*
 * shim.c - libulog.so's life cycle: start-up, identity, fork, exit.
 *
 * The constructor does everything that may allocate or read files (the
 * environment, /proc/self/cmdline, the container guess, the HELLO message,
 * dlsym of the real functions) so that the write path later only copies
 * bytes and makes system calls. The HELLO is built once into static memory
 * and rebuilt in a forked child, which must introduce itself as a new
 * process (it reconnects on its own socket).
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ulog/paths.h"
#include "ulog/wire.h"

_Atomic int ulog_shim_state = SHIM_UNINIT;
__thread int shim_busy;

static __thread uint32_t cached_tid;
static uint32_t hello_pid;
static _Atomic uint32_t capture_mode;

/* Everything the HELLO says, kept so a forked child can rebuild it. */
static struct {
    char program[256];
    char argv[1024];
    size_t argv_len;
    char service[256];
    char container[65];
    char host[65];
    char context[ULOG_WIRE_MAX_STRING];
    uint64_t start_time_ns;
    unsigned char message[ULOG_WIRE_MAX_MESSAGE];
    size_t message_len;
} hello;

uint32_t shim_tid(void)
{
    if (!cached_tid)
        cached_tid = (uint32_t)syscall(SYS_gettid);
    return cached_tid;
}

uint32_t shim_pid(void)
{
    return hello_pid;
}

uint64_t shim_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t shim_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void shim_note_capture_mode(uint32_t bit)
{
    atomic_fetch_or(&capture_mode, bit);
}

const void *shim_hello(size_t *len)
{
    *len = hello.message_len;
    return hello.message;
}

static void copy_bounded(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Whole-file read of a small /proc file with raw system calls. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    size_t used = 0;
    if (fd < 0)
        return -1;
    while (used < size) {
        ssize_t n = syscall(SYS_read, fd, buf + used, size - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    syscall(SYS_close, fd);
    return (ssize_t)used;
}

static void read_command_line(void)
{
    ssize_t n = read_small_file("/proc/self/cmdline", hello.argv, sizeof hello.argv);
    const char *base;
    if (n <= 0) {
        hello.argv_len = 0;
        return;
    }
    /* Drop the trailing NUL: arguments are NUL-separated, not terminated. */
    hello.argv_len = (size_t)n;
    if (hello.argv[hello.argv_len - 1] == '\0')
        hello.argv_len--;
    base = strrchr(hello.argv, '/'); /* argv[0] ends at the first NUL */
    copy_bounded(hello.program, sizeof hello.program, base ? base + 1 : hello.argv);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The first run of exactly 64 lower-case hex digits in text, if any. */
static int find_container_id(const char *text, size_t len, char out[65])
{
    size_t run = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && is_hex(text[i])) {
            run++;
            continue;
        }
        if (run == 64) {
            memcpy(out, text + i - 64, 64);
            out[64] = '\0';
            return 1;
        }
        run = 0;
    }
    return 0;
}

/*
 * A guess only: ulogd reads /proc/<pid>/cgroup itself when it can see the
 * process. Inside a container with a private cgroup namespace the cgroup file
 * says "0::/", and the mount of the container's hostname file still names it.
 */
static void guess_container(void)
{
    static char buf[16384];
    ssize_t n = read_small_file("/proc/self/cgroup", buf, sizeof buf);
    if (n > 0 && find_container_id(buf, (size_t)n, hello.container))
        return;
    n = read_small_file("/proc/self/mountinfo", buf, sizeof buf);
    if (n > 0) {
        const char *line = buf, *end = buf + n;
        while (line < end) {
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
            if (memmem(line, len, "/containers/", 12) &&
                find_container_id(line, len, hello.container))
                return;
            line += len + 1;
        }
    }
    hello.container[0] = '\0';
}

static void build_hello(void)
{
    struct ulog_wire_hello h = {
        .pid = hello_pid = (uint32_t)syscall(SYS_getpid),
        .ppid = (uint32_t)syscall(SYS_getppid),
        .uid = (uint32_t)syscall(SYS_getuid),
        .shim_version = ULOG_SHIM_VERSION,
        .capture_mode = atomic_load(&capture_mode),
        .start_time_ns = hello.start_time_ns,
        .program = {hello.program, (uint16_t)strlen(hello.program)},
        .argv = {hello.argv, (uint16_t)hello.argv_len},
        .service = {hello.service, (uint16_t)strlen(hello.service)},
        .container = {hello.container, (uint16_t)strlen(hello.container)},
        .host = {hello.host, (uint16_t)strlen(hello.host)},
        .context = {hello.context, (uint16_t)strlen(hello.context)},
    };
    hello.message_len = ulog_wire_encode_hello(hello.message, sizeof hello.message, &h);
}

void shim_after_fork_child(void)
{
    cached_tid = 0;
    if (!shim_ready())
        return;
    hello.start_time_ns = shim_realtime_ns();
    build_hello();
    transport_after_fork_child();
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static size_t env_size(const char *name, size_t fallback)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long n;
    if (!v || !*v)
        return fallback;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno || *end || n > (1ull << 32))
        return fallback; /* a bad value must never stop the host */
    return (size_t)n;
}

/*
 * ULOG_STDOUT_BUFFER / ULOG_STDERR_BUFFER = line | full | none: what stdbuf(1)
 * does, so a service whose stdout is a pipe (block-buffered by default) shows
 * each line as it is written without a code change. Anything else is ignored.
 */
static void set_buffering(FILE *stream, const char *variable)
{
    const char *mode = getenv(variable);
    if (!mode)
        return;
    if (strcmp(mode, "line") == 0)
        setvbuf(stream, NULL, _IOLBF, BUFSIZ);
    else if (strcmp(mode, "full") == 0)
        setvbuf(stream, NULL, _IOFBF, BUFSIZ);
    else if (strcmp(mode, "none") == 0)
        setvbuf(stream, NULL, _IONBF, 0);
}

__attribute__((constructor(101))) static void shim_start(void)
{
    int saved_errno = errno;
    const char *socket_path;
    struct utsname uts;

    hooks_fd_resolve();
    hooks_fdtable_resolve();
    hooks_process_resolve();
    if (env_flag("ULOG_DISABLE")) {
        atomic_store(&ulog_shim_state, SHIM_DISABLED);
        errno = saved_errno;
        return;
    }

    hello.start_time_ns = shim_realtime_ns();
    read_command_line();
    copy_bounded(hello.service, sizeof hello.service, getenv("ULOG_SERVICE"));
    copy_bounded(hello.context, sizeof hello.context, getenv("ULOG_CONTEXT"));
    if (uname(&uts) == 0)
        copy_bounded(hello.host, sizeof hello.host, uts.nodename);
    guess_container();

    socket_path = getenv("ULOG_SOCKET");
    if (!socket_path || !*socket_path)
        socket_path = ULOG_DEFAULT_SOCKET;
    if (!fdclass_init(getenv("ULOG_STREAMS"))) {
        char streams[96];
        fdclass_describe(streams, sizeof streams);
        setenv("ULOG_STREAMS", streams, 1); /* for the children, not for us */
    }
    transport_init(env_size("ULOG_SHIM_BUFFER", ULOG_SHIM_BUFFER_DEFAULT), socket_path,
                   (unsigned)env_size("ULOG_EXIT_WAIT_MS", 1000));
    shim_note_capture_mode(ULOG_CAPTURE_FD | stdio_hook_install());
    set_buffering(stdout, "ULOG_STDOUT_BUFFER");
    set_buffering(stderr, "ULOG_STDERR_BUFFER");
    build_hello();
    pthread_atfork(NULL, NULL, shim_after_fork_child);

    atomic_store_explicit(&ulog_shim_state, SHIM_READY, memory_order_release);
    errno = saved_errno;
}

/*
 * Runs before glibc's final stdio flush (exit -> destructors -> _IO_cleanup),
 * so it cannot be the last word: it only tells the transport that the
 * process is ending, and the transport spends a bounded moment delivering
 * what it holds with every later send.
 */
__attribute__((destructor(101))) static void shim_stop(void)
{
    int saved_errno = errno;
    if (shim_ready())
        transport_at_exit();
    errno = saved_errno;
}
