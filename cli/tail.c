/*
 * tail.c - `ulog tail`: its options, and the joining of the parts that do
 * the work: backlog.c finds the last N records, filter.c chooses, format.c
 * prints, follow.c keeps reading.
 *
 * Diagnostics go to stderr and never into the records on stdout, so that
 * `ulog tail --json | jq` always receives JSON Lines. A line of all.log that
 * is not a record is still never passed over in silence: it is shown behind
 * a marker, or with --json reported on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backlog.h"
#include "commands.h"
#include "filter.h"
#include "follow.h"
#include "format.h"
#include "neutralise.h"
#include "ulog/level.h"

#define DEFAULT_LINES 10

struct tail_options {
    bool follow;
    bool json;
    size_t lines;
    const char *log_dir;
    enum color_mode color;
    struct tail_filter filter;
};

/* Where records go, and how. */
struct tail_view {
    struct tail_filter filter;
    struct human_format format;
    bool json;
    FILE *out;
};

void cmd_tail_usage(FILE *out)
{
    fputs("Usage: ulog tail [-f] [-n N] [--level LEVEL] [--service NAME] [--json]\n"
          "                 [--log-dir DIR] [--color[=WHEN]]\n"
          "\n"
          "Print the last records of the unified log DIR/all.log, oldest first.\n"
          "\n"
          "  -f, --follow         then keep printing records as they are written,\n"
          "                       across rotations of all.log\n"
          "  -n, --lines N        how many records to print first (default 10; 0 for none)\n"
          "      --level LEVEL    only records at LEVEL or above:\n"
          "                       DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
          "      --service NAME   only records of the service NAME\n"
          "      --json           print records as JSON Lines, as they are in the file\n"
          "      --log-dir DIR    where all.log is (default: $LOG_DIR, else ./logs)\n"
          "      --color[=WHEN]   colour the level: auto (on a terminal, unless NO_COLOR\n"
          "                       is set; the default), always (--color alone), never\n"
          "  -h, --help           show this help\n"
          "\n"
          "Times are local (set TZ=UTC for the file's own clock). Control characters\n"
          "and escape sequences in records are shown as \\xNN or \\uNNNN, never sent to\n"
          "the terminal. A line that is not a JSON record is shown escaped after\n"
          "\"" HUMAN_INVALID_MARKER "\" (with --json, on stderr).\n",
          out);
}

static int usage_error(const char *fmt, const char *value)
{
    fputs("ulog tail: ", stderr);
    fprintf(stderr, fmt, value);
    fputs("\nTry 'ulog tail --help'.\n", stderr);
    return EXIT_USAGE;
}

static bool parse_count(const char *text, size_t *count)
{
    char *end;
    unsigned long long value;

    if (!text[0] || strspn(text, "0123456789") != strlen(text))
        return false;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno || value > SIZE_MAX)
        return false;
    *count = (size_t)value;
    return true;
}

/* 0 to go on, -1 after --help, or EXIT_USAGE. */
static int parse_options(int argc, char **argv, struct tail_options *opt)
{
    enum { OPT_LEVEL = 256, OPT_SERVICE, OPT_JSON, OPT_LOG_DIR, OPT_COLOR };
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"lines", required_argument, NULL, 'n'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"json", no_argument, NULL, OPT_JSON},
        {"log-dir", required_argument, NULL, OPT_LOG_DIR},
        {"color", optional_argument, NULL, OPT_COLOR},
        {"colour", optional_argument, NULL, OPT_COLOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *env_dir = getenv("LOG_DIR");
    int c, value;

    *opt = (struct tail_options){
        .lines = DEFAULT_LINES,
        .log_dir = env_dir && env_dir[0] ? env_dir : "./logs",
        .color = COLOR_AUTO,
        .filter = {.min_level = -1, .service = NULL},
    };
    optind = 0; /* glibc: start afresh, whoever parsed before */
    while ((c = getopt_long(argc, argv, "+fn:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            opt->follow = true;
            break;
        case 'n':
            if (!parse_count(optarg, &opt->lines))
                return usage_error("-n wants a whole number of records, not '%s'", optarg);
            break;
        case OPT_LEVEL:
            if ((value = ulog_level_parse(optarg)) < 0)
                return usage_error("unknown level '%s' (DEBUG, INFO, WARNING, ERROR, CRITICAL)",
                                   optarg);
            opt->filter.min_level = value;
            break;
        case OPT_SERVICE:
            opt->filter.service = optarg;
            break;
        case OPT_JSON:
            opt->json = true;
            break;
        case OPT_LOG_DIR:
            if (!optarg[0])
                return usage_error("--log-dir wants a directory%s", "");
            opt->log_dir = optarg;
            break;
        case OPT_COLOR:
            if ((value = optarg ? color_mode_parse(optarg) : COLOR_ALWAYS) < 0)
                return usage_error("--color is auto, always or never, not '%s'", optarg);
            opt->color = (enum color_mode)value;
            break;
        case 'h':
            cmd_tail_usage(stdout);
            return -1;
        default: /* getopt has said what was wrong */
            fputs("Try 'ulog tail --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

static void show(struct tail_view *view, const char *line, size_t len, const json_t *record)
{
    if (!view->json) {
        if (record)
            human_print_record(view->out, &view->format, record);
        else
            human_print_invalid(view->out, &view->format, line, len);
    } else if (record) {
        print_json_line(view->out, line, len);
    } else {
        fputs("ulog tail: not a JSON record: ", stderr);
        neutralise_write(stderr, line, len, NEUTRALISE_ONE_LINE);
        fputc('\n', stderr);
    }
}

/* tail_line_fn for the follower. */
static int show_line(void *context, const char *line, size_t len)
{
    struct tail_view *view = context;
    json_t *record = tail_record_parse(line, len);

    if (tail_filter_match(&view->filter, record))
        show(view, line, len, record);
    json_decref(record);
    return ferror(view->out) ? -1 : 0;
}

static int output_failed(FILE *out)
{
    fprintf(stderr, "ulog tail: cannot write the records: %s\n", strerror(errno));
    clearerr(out);
    return 1;
}

static int follow(struct tail_view *view, const char *dir, int fd, off_t offset)
{
    struct tail_follower follower;
    struct stat st;

    /* A missing all.log is waited for; a missing directory is a mistyped --log-dir. */
    const char *problem = stat(dir, &st) < 0      ? strerror(errno)
                          : !S_ISDIR(st.st_mode) ? strerror(ENOTDIR)
                                                 : NULL;
    if (problem) {
        fprintf(stderr, "ulog tail: %s: %s\n", dir, problem);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    if (tail_follower_init(&follower, dir, fd, offset) < 0) {
        fprintf(stderr, "ulog tail: cannot follow %s/%s: %s\n", dir, TAIL_LOG_NAME, strerror(errno));
        return 1;
    }
    if (fd < 0)
        fprintf(stderr, "ulog tail: waiting for %s to appear\n", follower.path);
    for (;;) {
        int rc = tail_follower_poll(&follower, show_line, view);
        if (fflush(view->out) == EOF || ferror(view->out)) {
            tail_follower_free(&follower);
            return output_failed(view->out);
        }
        if (rc < 0) {
            fprintf(stderr, "ulog tail: cannot read %s: %s\n", follower.path, strerror(errno));
            tail_follower_free(&follower);
            return 1;
        }
        tail_follower_wait(&follower);
    }
}

int cmd_tail(int argc, char **argv)
{
    struct tail_options opt;
    struct tail_view view;
    struct tail_backlog backlog;
    int rc = parse_options(argc, argv, &opt), fd;
    off_t end;

    if (rc)
        return rc < 0 ? 0 : rc;
    tzset();
    view.filter = opt.filter;
    view.json = opt.json;
    view.out = stdout;
    human_format_init(&view.format, color_wanted(opt.color, isatty(STDOUT_FILENO), getenv("NO_COLOR"),
                                                 getenv("TERM")));

    if (tail_backlog_read(&backlog, opt.log_dir, opt.lines, &opt.filter, opt.follow) < 0) {
        fprintf(stderr, "ulog tail: cannot read %s: %s\n", backlog.failed_path, strerror(errno));
        return 1;
    }
    if (backlog.files_read == 0 && !opt.follow) {
        fprintf(stderr, "ulog tail: %s/%s does not exist (is ulogd writing elsewhere? see --log-dir)\n",
                opt.log_dir, TAIL_LOG_NAME);
        tail_backlog_free(&backlog);
        return 1;
    }
    /* Align the whole first screen on its widest origin, not on the first one. */
    for (size_t i = 0; !opt.json && i < backlog.count; i++)
        if (backlog.entries[i].record)
            human_format_measure(&view.format, backlog.entries[i].record);
    for (size_t i = 0; i < backlog.count; i++)
        show(&view, backlog.entries[i].line, backlog.entries[i].len, backlog.entries[i].record);

    fd = backlog.fd;
    end = backlog.end;
    backlog.fd = -1;
    tail_backlog_free(&backlog);
    if (fflush(stdout) == EOF || ferror(stdout)) {
        if (fd >= 0)
            close(fd);
        return output_failed(stdout);
    }
    if (!opt.follow) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    return follow(&view, opt.log_dir, fd, end);
}
