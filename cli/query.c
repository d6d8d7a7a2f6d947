/*
 * query.c - `ulog query`: the records of the store (ulogd's ulog.db), found
 * by the same parameters and the same code as GET /logs (log_query.h),
 * without ulogd or its HTTP server having to run.
 *
 * It reads the file directly, through a read-only connection (WAL lets it
 * read while ulogd writes), and prints what it finds newest first, as the
 * API returns it: for people as `ulog tail` prints records (format.c, with
 * every control character and escape sequence neutralised), or as JSON
 * Lines with --json. Where the store is comes from the same places as for
 * ulogd: --db, else ULOG_STORE_PATH (relative to the log directory), else
 * LOG_DIR/ulog.db, the log directory being --log-dir, $LOG_DIR or ./logs.
 * Diagnostics go to stderr, so `ulog query --json | jq` reads JSON only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "format.h"
#include "log_query.h"
#include "store.h"

void cmd_query_usage(FILE *out)
{
    fputs("Usage: ulog query [--since AGE|TIME] [--until TIME] [--level L[,L]] [--min-level L]\n"
          "                  [--service S] [--container C] [--component C] [--event-type E]\n"
          "                  [--trace-id T] [--agent-id A] [--task-id T] [--source S]\n"
          "                  [--host H] [-q TEXT] [--limit N] [--offset N] [--json]\n"
          "                  [--log-dir DIR | --db FILE] [--color[=WHEN]]\n"
          "\n"
          "Print records of ulogd's store (the file behind GET /logs), newest first.\n"
          "Filters combine: a record must match every one given.\n"
          "\n"
          "      --since AGE|TIME  records from then on: an age (90s, 15m, 2h, 7d) or an\n"
          "                        RFC 3339 time (2026-11-21T14:22:18Z, any offset)\n"
          "      --until TIME      records before then (an age or a time, as --since)\n"
          "      --level L[,L]     records of these levels: DEBUG, INFO, WARNING, ERROR,\n"
          "                        CRITICAL (ERROR,CRITICAL)\n"
          "      --min-level L     records of level L and above\n"
          "      --service S       records of the service S (exactly)\n"
          "      --container C     records of the container C (its id, or a prefix of it)\n"
          "      --component C, --event-type E, --trace-id T, --agent-id A, --task-id T,\n"
          "      --source S, --host H    records with that field (exactly)\n"
          "  -q, --query TEXT      full-text search of the messages: every word must appear;\n"
          "                        \"a phrase\", word*, OR, NOT and ( ) as in SQLite FTS5;\n"
          "                        words like user-id or 10.0.0.1 are searched as written\n"
          "      --limit N         print at most N records (1 to 1000; default 100)\n"
          "      --offset N        skip the newest N matching records first (default 0)\n"
          "      --json            print records as JSON Lines, with their log_id\n"
          "      --log-dir DIR     where ulogd writes (default: $LOG_DIR, else ./logs); the\n"
          "                        store is DIR/ulog.db, or $ULOG_STORE_PATH\n"
          "      --db FILE         read this store file instead\n"
          "      --color[=WHEN]    colour the level: auto (the default), always, never\n"
          "  -h, --help            show this help\n"
          "\n"
          "Times are shown in local time (TZ=UTC for the store's own clock). When more\n"
          "records match than were printed, stderr says which --offset shows the next ones.\n"
          "Exit status: 0 (even when nothing matched), 1 when the store cannot be read,\n"
          "2 for a mistake on the command line.\n",
          out);
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fputs("ulog query: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputs("\nTry 'ulog query --help'.\n", stderr);
    return EXIT_USAGE;
}

/* Each filter option and the GET /logs parameter it sets. */
static const struct {
    const char *flag, *parameter;
} parameters[] = {
    {"since", "start_time"},     {"until", "end_time"},     {"level", "level"},
    {"min-level", "min_level"}, {"service", "service"},    {"container", "container"},
    {"component", "component"}, {"event-type", "event_type"}, {"trace-id", "trace_id"},
    {"agent-id", "agent_id"},   {"task-id", "task_id"},    {"source", "source"},
    {"host", "host"},           {"query", "q"},            {"limit", "limit"},
    {"offset", "offset"},
};
#define PARAMETER_COUNT (sizeof parameters / sizeof parameters[0])

struct query_options {
    struct log_query query;
    bool json;
    const char *log_dir, *db;
    enum color_mode color;
};

/* The parameter's own error ("limit: must be ...") told with the flag's name. */
static int parameter_error(const char *flag, const char *parameter, const char *err)
{
    size_t len = strlen(parameter);
    if (strncmp(err, parameter, len) == 0 && strncmp(err + len, ": ", 2) == 0)
        err += len + 2;
    return usage_error("--%s: %s", flag, err);
}

/* 0 to go on, -1 after --help, or EXIT_USAGE. */
static int parse_options(int argc, char **argv, struct query_options *opt)
{
    enum { OPT_JSON = 256, OPT_LOG_DIR, OPT_DB, OPT_COLOR, OPT_PARAMETER };
    struct option longopts[PARAMETER_COUNT + 7];
    const char *env_dir = getenv("LOG_DIR");
    char err[512];
    size_t n = 0;
    int c, index;

    for (size_t i = 0; i < PARAMETER_COUNT; i++)
        longopts[n++] = (struct option){parameters[i].flag, required_argument, NULL,
                                        OPT_PARAMETER + (int)i};
    longopts[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    longopts[n++] = (struct option){"log-dir", required_argument, NULL, OPT_LOG_DIR};
    longopts[n++] = (struct option){"db", required_argument, NULL, OPT_DB};
    longopts[n++] = (struct option){"color", optional_argument, NULL, OPT_COLOR};
    longopts[n++] = (struct option){"colour", optional_argument, NULL, OPT_COLOR};
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    log_query_init(&opt->query);
    opt->json = false;
    opt->log_dir = env_dir && env_dir[0] ? env_dir : "./logs";
    opt->db = NULL;
    opt->color = COLOR_AUTO;
    optind = 0; /* glibc: start afresh, whoever parsed before */
    while ((c = getopt_long(argc, argv, "+q:h", longopts, NULL)) != -1) {
        index = -1;
        switch (c) {
        case 'q':
            for (size_t i = 0; i < PARAMETER_COUNT; i++)
                if (strcmp(parameters[i].flag, "query") == 0)
                    index = (int)i;
            break;
        case OPT_JSON:
            opt->json = true;
            break;
        case OPT_LOG_DIR:
            if (!optarg[0])
                return usage_error("--log-dir wants a directory%s%s", "", "");
            opt->log_dir = optarg;
            break;
        case OPT_DB:
            if (!optarg[0])
                return usage_error("--db wants a file%s%s", "", "");
            opt->db = optarg;
            break;
        case OPT_COLOR: {
            int mode = optarg ? color_mode_parse(optarg) : COLOR_ALWAYS;
            if (mode < 0)
                return usage_error("--color is auto, always or never, not '%s'%s", optarg, "");
            opt->color = (enum color_mode)mode;
            break;
        }
        case 'h':
            cmd_query_usage(stdout);
            return -1;
        default:
            if (c < OPT_PARAMETER || c >= OPT_PARAMETER + (int)PARAMETER_COUNT) {
                fputs("Try 'ulog query --help'.\n", stderr); /* getopt has said what */
                return EXIT_USAGE;
            }
            index = c - OPT_PARAMETER;
        }
        if (index >= 0 && log_query_set(&opt->query, parameters[index].parameter, optarg,
                                        (uint64_t)time(NULL) * 1000000000ull, err,
                                        sizeof err) != 0)
            return parameter_error(parameters[index].flag, parameters[index].parameter, err);
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'%s", argv[optind], "");
    return 0;
}

/* --db, else ULOG_STORE_PATH (under the log directory unless absolute), else DIR/ulog.db. */
static char *store_file(const struct query_options *opt)
{
    const char *configured = getenv("ULOG_STORE_PATH");
    const char *name = opt->db                        ? opt->db
                       : configured && configured[0] ? configured
                                                     : STORE_FILE_NAME;
    char *path;

    if (opt->db || name[0] == '/')
        return strdup(name);
    if (asprintf(&path, "%s/%s", opt->log_dir, name) < 0)
        return NULL;
    return path;
}

static void print_record(FILE *out, struct human_format *format, bool json, const json_t *record)
{
    if (!json) {
        human_print_record(out, format, record);
        return;
    }
    char *line = json_dumps(record, JSON_COMPACT);
    if (line) {
        print_json_line(out, line, strlen(line));
        free(line);
    }
}

int cmd_query(int argc, char **argv)
{
    struct query_options opt;
    struct human_format format;
    struct stat st;
    char err[512];
    json_t *result = NULL;
    bool bad_request;
    int rc = parse_options(argc, argv, &opt);

    if (rc) {
        log_query_free(&opt.query);
        return rc < 0 ? 0 : rc;
    }
    char *path = store_file(&opt);
    if (!path || stat(path, &st) != 0) {
        fprintf(stderr, "ulog query: there is no store at %s (%s): ulogd creates it when it runs "
                        "with the store on (store.mode, ULOG_STORE); see --log-dir or --db\n",
                path ? path : "?", strerror(errno));
        free(path);
        log_query_free(&opt.query);
        return 1;
    }
    sqlite3 *db = store_reader_open(path, err, sizeof err);
    if (db)
        rc = log_query_run(db, &opt.query, &result, &bad_request, err, sizeof err);
    if (!db || rc != 0) {
        if (db && bad_request)
            fprintf(stderr, "ulog query: -q: %s\nTry 'ulog query --help'.\n",
                    strncmp(err, "q: ", 3) == 0 ? err + 3 : err);
        else
            fprintf(stderr, "ulog query: cannot read %s: %s\n", path, err);
        sqlite3_close(db);
        free(path);
        log_query_free(&opt.query);
        return db && bad_request ? EXIT_USAGE : 1;
    }
    sqlite3_close(db);

    tzset();
    human_format_init(&format, color_wanted(opt.color, isatty(STDOUT_FILENO), getenv("NO_COLOR"),
                                            getenv("TERM")));
    json_t *logs = json_object_get(result, "logs"), *record;
    size_t i;
    /* Align the whole page on its widest origin, as `ulog tail` does. */
    json_array_foreach(logs, i, record) human_format_measure(&format, record);
    json_array_foreach(logs, i, record) print_record(stdout, &format, opt.json, record);
    rc = 0;
    if (fflush(stdout) == EOF || ferror(stdout)) {
        fprintf(stderr, "ulog query: cannot write the records: %s\n", strerror(errno));
        rc = 1;
    } else if (json_is_integer(json_object_get(result, "next_offset"))) {
        fprintf(stderr, "ulog query: more records match: --offset %lld shows the next ones\n",
                (long long)json_integer_value(json_object_get(result, "next_offset")));
    }
    json_decref(result);
    free(path);
    log_query_free(&opt.query);
    return rc;
}
