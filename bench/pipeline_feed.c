/*
 * pipeline_feed.c - feeds ulogd as fast as it takes lines, so that
 * bench/run_shim_cost.py can measure what ulogd's pipeline costs per line
 * with one configuration against another (docs/BENCHMARKS.md, "pipeline").
 *
 *   pipeline_feed -s SOCKET [-n LINES] [-S SERVICE[,SERVICE...]] [-r RATE] [-t SPAN]
 *
 * Options for the store benchmark (bench/store_serving.py), none of which
 * the pipeline benchmark uses:
 *   -S a,b,c  one connection per service, batches sent to them in turn, so
 *             that the records carry several services, interleaved;
 *   -r RATE   at most RATE lines per second (line i is due at start + i/RATE;
 *             a batch holds the lines already due), instead of flat out;
 *   -t SPAN   timestamps spread evenly over the SPAN seconds before the start
 *             instead of the moment of sending, so that a store filled in
 *             seconds holds what a day (say) of logging would put in it.
 *
 * It speaks the shim's protocol itself (include/ulog/wire.h): HELLO, then one
 * DATA message per log call, as the shim sends one per write() of a service
 * that logs a line at a time. The shim is left out on purpose: its own cost
 * is the shim_cost benchmark's, and here only ulogd's side may limit the rate.
 * So the feeder hands the kernel 64 messages per system call (sendmmsg: still
 * one message each), non-blocking; when ulogd's socket is full it waits in
 * poll() for room, so the rate it reaches is the rate ulogd takes lines at.
 *
 * The lines come from a small corpus of what services really print: plain
 * text with and without a level word, Python logging, nginx, Apache, glog,
 * logback, env_logger, JSON (pino, zap, structlog), logfmt (go-kit, Heroku).
 * Every ~100 lines one carries a secret (a bearer token, a password=, a JSON
 * "password" key), every ~200 lines a Python traceback arrives in one write
 * as logging.exception() writes it, and every ~1000 lines a card number.
 * No line is below INFO, so that every line takes the whole path to all.log
 * in every configuration (a DEBUG line would stop at the level check).
 * Lines containing "/healthz" (kube-probe access lines) are counted apart:
 * the benchmark's drop rule matches exactly those.
 *
 * When everything is sent it waits until ulogd has taken the last message
 * off the socket (SIOCOUTQ, the bytes not yet received, reaches 0), then
 * closes and prints one line of counts and CLOCK_MONOTONIC times:
 *   lines=N messages=N bytes=N healthz=N waits=N start_ns=T sent_ns=T drained_ns=T late_max_ns=T
 * waits counts the times the socket was full and the feeder had to wait;
 * late_max_ns (with -r) how far the sending ever fell behind its schedule.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ulog/wire.h"

/* What a mix of services prints, one log call each. */
static const char *const CORPUS[] = {
    "Starting worker pool with 8 threads\n",
    "2026-11-21 14:22:18,214 INFO [orders.api] request finished in 12.4 ms\n",
    "{\"level\":30,\"time\":1795357338214,\"pid\":4242,\"hostname\":\"orders-7d9f\","
    "\"reqId\":\"req-1842\",\"msg\":\"request completed\",\"responseTime\":12.4}\n",
    "10.0.3.7 - - [21/Nov/2026:14:22:18 +0000] \"GET /api/orders/1842 HTTP/1.1\" 200 512 "
    "\"-\" \"python-requests/2.31.0\"\n",
    "time=2026-11-21T14:22:18.214Z level=info msg=\"cache refreshed\" keys=1200 duration=35ms\n",
    "{\"level\":\"info\",\"ts\":1795357338.214521,\"caller\":\"orders/handler.go:88\","
    "\"msg\":\"order accepted\",\"order_id\":1842,\"amount\":19.99}\n",
    "Processed 128 messages in 42 ms\n",
    "10.0.3.7 - - [21/Nov/2026:14:22:18 +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" "
    "\"kube-probe/1.29\"\n",
    "{\"event\":\"user signed in\",\"user_id\":42,\"level\":\"info\",\"timestamp\":"
    "\"2026-11-21T14:22:18.214521Z\",\"logger\":\"accounts.views\"}\n",
    "14:22:18.214 [main] INFO  com.example.orders.OrderService - order 1842 accepted\n",
    "2026-11-21 14:22:18,215 WARNING [orders.db] slow query (812 ms): SELECT * FROM orders "
    "WHERE id = %s\n",
    "ts=2026-11-21T14:22:18.214Z caller=main.go:42 level=warn msg=\"queue depth high\" "
    "depth=812\n",
    "INFO:uvicorn.access:10.0.3.7:51234 - \"POST /api/orders HTTP/1.1\" 201\n",
    "I1121 14:22:18.214521    4242 controller.go:112] synced 12 objects\n",
    "user alice@example.com logged in from 10.0.3.7\n",
    "{\"level\":40,\"time\":1795357338215,\"pid\":4242,\"hostname\":\"orders-7d9f\","
    "\"msg\":\"deprecated API used\",\"route\":\"/v1/cart\"}\n",
    "[2026-11-21T14:22:18Z WARN  app::cache] cache miss rate 0.31 above 0.25\n",
    "at=info method=GET path=\"/api/orders\" host=orders.example.com request_id=8b0f3c "
    "fwd=\"10.0.3.7\" dyno=web.1 connect=0ms service=12ms status=200 bytes=512 "
    "protocol=https\n",
    "2026/11/21 14:22:18 listening on :8080\n",
    "{\"level\":\"error\",\"ts\":1795357338.3,\"caller\":\"orders/client.go:61\","
    "\"msg\":\"upstream timeout\",\"error\":\"context deadline exceeded\","
    "\"stacktrace\":\"main.call\\n\\t/app/client.go:61\"}\n",
    "WARNING:root:retrying in 2 s (attempt 2 of 5)\n",
    "Started GET \"/orders/1842\" for 10.0.3.7 at 2026-11-21 14:22:18 +0000\n",
    "2026/11/21 14:22:18 [error] 7#7: *1042 connect() failed (111: Connection refused) while "
    "connecting to upstream, client: 10.0.3.7, server: _, request: \"GET /api/cart HTTP/1.1\", "
    "upstream: \"http://10.0.3.12:8080/api/cart\"\n",
    "{\"event\":\"payment captured\",\"order_id\":1842,\"level\":\"info\",\"timestamp\":"
    "\"2026-11-21T14:22:18.31Z\",\"logger\":\"billing.stripe\",\"customer\":\"bob@example.org\"}\n",
    "ERROR: payment declined for order 1843 (card expired)\n",
};
#define CORPUS_SIZE (sizeof CORPUS / sizeof CORPUS[0])

static const char *const SECRETS[] = {
    "POST /api/token Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIx"
    "MjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n",
    "connecting to db:5432 with user=app password=hunter2-prod sslmode=require\n",
    "{\"level\":\"info\",\"msg\":\"login attempt\",\"user\":\"bob\",\"password\":\"correct horse\"}\n",
};
#define SECRET_COUNT (sizeof SECRETS / sizeof SECRETS[0])

static const char CARD[] = "charge ok card=4111 1111 1111 1111 amount=19.99 currency=EUR\n";

/* logging.exception() in a Python service: one write, seven lines. */
static const char TRACEBACK[] =
    "ERROR:orders.worker:job 1842 failed\n"
    "Traceback (most recent call last):\n"
    "  File \"/app/worker.py\", line 88, in run\n"
    "    result = handler(job)\n"
    "  File \"/app/handlers.py\", line 41, in handle\n"
    "    raise ValueError(f\"bad amount {amount}\")\n"
    "ValueError: bad amount -3\n";

/* The entry for log call number `i`; tracebacks on stderr as Python's logging does. */
static const char *entry(unsigned long i, unsigned char *stream)
{
    *stream = ULOG_STREAM_STDOUT;
    if (i % 200 == 199) {
        *stream = ULOG_STREAM_STDERR;
        return TRACEBACK;
    }
    if (i % 1000 == 577)
        return CARD;
    if (i % 100 == 49)
        return SECRETS[(i / 100) % SECRET_COUNT];
    return CORPUS[i % CORPUS_SIZE];
}

static unsigned long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "pipeline_feed: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Messages handed to the kernel per system call: a service's log calls come
 * one write at a time, but the feeder must outrun ulogd, not mimic a service. */
#define BATCH 64

/* `count` messages, waiting for room when the socket is full; returns how many
 * times it had to wait. */
static unsigned long send_messages(int fd, struct mmsghdr *msgs, unsigned count)
{
    unsigned long waits = 0;
    unsigned done = 0;

    while (done < count) {
        int n = sendmmsg(fd, msgs + done, count - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            done += (unsigned)n;
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail("sendmmsg");
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 10000) == 0) {
            errno = ETIMEDOUT;
            fail("waiting 10 s for room on the socket");
        }
        waits++;
    }
    return waits;
}

static unsigned long send_one(int fd, void *msg, size_t len)
{
    struct iovec iov = {msg, len};
    struct mmsghdr m = {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    return send_messages(fd, &m, 1);
}

static int connect_to(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    if (fd < 0)
        fail("socket");
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        fail(path);
    }
    strcpy(addr.sun_path, path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        fail(path);
    return fd;
}

static void say_hello(int fd, const char *service)
{
    static const char program[] = "pipeline_feed";
    unsigned char buf[512];
    struct ulog_wire_hello hello = {
        .pid = (uint32_t)getpid(),
        .ppid = (uint32_t)getppid(),
        .uid = (uint32_t)getuid(),
        .shim_version = 1,
        .capture_mode = ULOG_CAPTURE_FD,
        .start_time_ns = now_ns(CLOCK_REALTIME),
        .program = {program, sizeof program - 1},
        .argv = {program, sizeof program - 1},
        .service = {service, (uint16_t)strlen(service)},
    };
    size_t len = ulog_wire_encode_hello(buf, sizeof buf, &hello);

    if (len == 0) {
        errno = EINVAL;
        fail("HELLO does not fit (service name too long?)");
    }
    send_one(fd, buf, len);
}

static void usage(void)
{
    fprintf(stderr, "usage: pipeline_feed -s SOCKET [-n LINES] [-S SERVICE[,SERVICE...]] "
                    "[-r RATE] [-t SPAN_SECONDS]\n");
    exit(2);
}

#define MAX_SERVICES 16

/* Sleep until `due` on CLOCK_MONOTONIC, if it is still ahead. */
static void sleep_until(unsigned long long due)
{
    struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int main(int argc, char **argv)
{
    const char *socket_path = NULL;
    char *services = NULL;
    unsigned long want = 100000, rate = 0, span_s = 0;
    int opt;

    while ((opt = getopt(argc, argv, "s:n:S:r:t:")) != -1) {
        switch (opt) {
        case 's': socket_path = optarg; break;
        case 'n': want = strtoul(optarg, NULL, 10); break;
        case 'S': services = optarg; break;
        case 'r': rate = strtoul(optarg, NULL, 10); break;
        case 't': span_s = strtoul(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (!socket_path || optind != argc || want == 0)
        usage();

    int fds[MAX_SERVICES];
    unsigned nfds = 0;
    char default_service[] = "pipeline_feed";
    char *save = NULL;
    for (char *name = strtok_r(services ? services : default_service, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        if (nfds == MAX_SERVICES)
            usage();
        fds[nfds] = connect_to(socket_path);
        say_hello(fds[nfds++], name);
    }
    if (nfds == 0)
        usage();
    if (rate)
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* the default 50 us is a period at 20 000/s */

    static unsigned char buf[BATCH][ULOG_WIRE_DATA_PREFIX + 1024];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    unsigned long lines = 0, messages = 0, healthz = 0, waits = 0, batches = 0;
    unsigned long long bytes = 0, start = now_ns(CLOCK_MONOTONIC), late_max = 0;
    unsigned long long span_ns = span_s * 1000000000ull, stamp0 = now_ns(CLOCK_REALTIME) - span_ns;
    unsigned tid = (unsigned)gettid();

    for (unsigned long i = 0; lines < want;) {
        unsigned long due_lines = want;
        if (rate) {
            /* Line number `lines` is due at start + lines / rate. */
            unsigned long long next_due = start + (unsigned long long)lines * 1000000000ull / rate;
            unsigned long long now = now_ns(CLOCK_MONOTONIC);
            if (now < next_due) {
                sleep_until(next_due);
                now = now_ns(CLOCK_MONOTONIC);
            } else if (now - next_due > late_max) {
                late_max = now - next_due;
            }
            due_lines = (unsigned long)((now - start) * rate / 1000000000ull) + 1;
        }
        unsigned count = 0;
        for (; count < BATCH && lines < want && lines < due_lines; count++, i++) {
            unsigned char stream;
            const char *text = entry(i, &stream);
            size_t len = strlen(text);
            unsigned long long stamp = span_ns ? stamp0 + (unsigned long long)
                                                              ((double)lines / want * span_ns)
                                               : now_ns(CLOCK_REALTIME);
            iov[count].iov_base = buf[count];
            iov[count].iov_len = ulog_wire_encode_data(buf[count], sizeof buf[count], stamp, tid,
                                                       stream, 0, text, len);
            msgs[count] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[count], .msg_iovlen = 1}};
            bytes += len;
            for (const char *p = text; (p = strchr(p, '\n')); p++)
                lines++;
            if (strstr(text, "/healthz"))
                healthz++;
        }
        waits += send_messages(fds[batches++ % nfds], msgs, count);
        messages += count;
    }
    unsigned long long sent = now_ns(CLOCK_MONOTONIC);

    /* Until ulogd has received everything: then the last line is being processed. */
    for (unsigned k = 0; k < nfds; k++) {
        for (int queued = 1; queued > 0;) {
            if (ioctl(fds[k], SIOCOUTQ, &queued) != 0)
                fail("ioctl SIOCOUTQ");
            if (queued > 0) {
                struct timespec pause = {0, 20000}; /* 20 µs */
                nanosleep(&pause, NULL);
            }
        }
    }
    unsigned long long drained = now_ns(CLOCK_MONOTONIC);
    for (unsigned k = 0; k < nfds; k++)
        close(fds[k]);
    printf("lines=%lu messages=%lu bytes=%llu healthz=%lu waits=%lu start_ns=%llu sent_ns=%llu "
           "drained_ns=%llu late_max_ns=%llu\n",
           lines, messages, bytes, healthz, waits, start, sent, drained, late_max);
    return 0;
}
