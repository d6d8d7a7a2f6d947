/*
 * context.c - `ulog context`: the digest of the last minutes of logs
 * (digest.h), sized for an AI assistant's context window, read from ulogd's
 * store when it exists, else from all.log and its rotated files
 * (logsource.h). Diagnostics go to stderr, so stdout is the digest only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "digest.h"
#include "logsource.h"
#include "record.h"
#include "timestamp.h"
#include "ulog/level.h"

void cmd_context_usage(FILE *out)
{
    fputs("Usage: ulog context [--since AGE|TIME] [--until AGE|TIME] [--service S]\n"
          "                    [--level L] [--budget N|Nk|Nt] [--json]\n"
          "                    [--log-dir DIR | --db FILE]\n"
          "\n"
          "Print a Markdown digest of a window of logs, sized for an AI assistant: the\n"
          "window and the services seen, counts per service and level, the latest errors\n"
          "and crashes in full (each with up to 5 lines its process wrote before, and its\n"
          "exit record), repeated messages collapsed into templates with counts (numbers,\n"
          "ids, addresses, paths, quoted strings, durations masked as <NUM>, <HEX>, <UUID>,\n"
          "<IP>, <PATH>, <URL>, <STR>, <DUR>, <EMAIL>), and what was cut to fit.\n"
          "\n"
          "      --since AGE|TIME  the window starts then: an age (90s, 15m, 2h, 7d) or an\n"
          "                        RFC 3339 time (default: 15m)\n"
          "      --until AGE|TIME  the window ends then (default: now)\n"
          "      --service S       only the records of the service S\n"
          "      --level L         which records count as problems in \"Errors and\n"
          "                        crashes\": L and above (default ERROR; WARNING shows\n"
          "                        warnings too). Abnormal exits and OOM kills always do.\n"
          "                        Counts and templates always cover every level.\n"
          "      --budget N|Nk|Nt  the size limit: N characters (8k = 8000, the default),\n"
          "                        or Nt tokens, estimated as ceil(bytes / 4); at least\n"
          "                        1000 characters (250t). Characters are counted as\n"
          "                        UTF-8 bytes, so the text never has more.\n"
          "      --json            print the same content as one JSON object (its compact\n"
          "                        text also within the budget)\n"
          "      --log-dir DIR     where ulogd writes (default: $LOG_DIR, else ./logs);\n"
          "                        the store is DIR/ulog.db, or $ULOG_STORE_PATH; without\n"
          "                        a store, DIR/all.log and all.log.1, all.log.2 ... are read\n"
          "      --db FILE         read this store file\n"
          "  -h, --help            show this help\n"
          "\n"
          "Every text printed passes ulogd's built-in redaction again. At most 20000\n"
          "records (the newest) are read; stderr says when more were in the window.\n"
          "Exit status: 0 (even when the window is empty), 1 when the logs cannot be\n"
          "read, 2 for a mistake on the command line.\n",
          out);
}

static int usage_error(const char *fmt, const char *a)
{
    fputs("ulog context: ", stderr);
    fprintf(stderr, fmt, a);
    fputs("\nTry 'ulog context --help'.\n", stderr);
    return EXIT_USAGE;
}

/* An age before `now`, or an RFC 3339 time with its zone; 0 when neither. */
static uint64_t parse_when(const char *text, uint64_t now)
{
    uint64_t age;
    if (config_parse_age(text, &age))
        return age <= now / 1000000000u ? now - age * 1000000000u : 0;
    return timestamp_parse_text(text, strlen(text));
}

int cmd_context(int argc, char **argv)
{
    enum { OPT_SINCE = 256, OPT_UNTIL, OPT_SERVICE, OPT_LEVEL, OPT_BUDGET, OPT_JSON, OPT_LOG_DIR,
           OPT_DB };
    static const struct option longopts[] = {
        {"since", required_argument, NULL, OPT_SINCE},   {"until", required_argument, NULL, OPT_UNTIL},
        {"service", required_argument, NULL, OPT_SERVICE}, {"level", required_argument, NULL, OPT_LEVEL},
        {"budget", required_argument, NULL, OPT_BUDGET}, {"json", no_argument, NULL, OPT_JSON},
        {"log-dir", required_argument, NULL, OPT_LOG_DIR}, {"db", required_argument, NULL, OPT_DB},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
    };
    uint64_t now = record_now_ns();
    struct logsource_options src = {.since_ns = now - 15ull * 60 * 1000000000u};
    struct digest_options dig = {.min_level = ULOG_ERROR, .budget = DIGEST_DEFAULT_BUDGET};
    bool json = false;
    char err[512];
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SINCE:
        case OPT_UNTIL: {
            uint64_t t = parse_when(optarg, now);
            if (!t)
                return usage_error("expected an age (90s, 15m, 2h, 7d) or an RFC 3339 time "
                                   "such as 2026-11-21T14:22:18Z, not '%s'",
                                   optarg);
            *(c == OPT_SINCE ? &src.since_ns : &src.until_ns) = t;
            break;
        }
        case OPT_SERVICE:
            if (!optarg[0])
                return usage_error("--service wants a name%s", "");
            src.service = optarg;
            break;
        case OPT_LEVEL:
            if ((dig.min_level = ulog_level_parse(optarg)) < 0)
                return usage_error("--level is DEBUG, INFO, WARNING, ERROR or CRITICAL, not '%s'",
                                   optarg);
            break;
        case OPT_BUDGET:
            if (!digest_parse_budget(optarg, &dig.budget, &dig.budget_in_tokens) ||
                (dig.budget_in_tokens ? dig.budget * 4 : dig.budget) < DIGEST_MIN_BUDGET)
                return usage_error("--budget is a size such as 8k (characters) or 2000t "
                                   "(tokens), at least 1000 characters, not '%s'",
                                   optarg);
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_LOG_DIR:
            if (!optarg[0])
                return usage_error("--log-dir wants a directory%s", "");
            src.log_dir = optarg;
            break;
        case OPT_DB:
            if (!optarg[0])
                return usage_error("--db wants a file%s", "");
            src.db = optarg;
            break;
        case 'h':
            cmd_context_usage(stdout);
            return 0;
        default:
            fputs("Try 'ulog context --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (src.until_ns && src.until_ns <= src.since_ns)
        return usage_error("--until must be after --since%s", "");

    struct logsource_result res;
    if (logsource_read(&src, &res, err, sizeof err) != 0) {
        fprintf(stderr, "ulog context: %s\n", err);
        logsource_result_free(&res);
        return 1;
    }
    if (res.truncated)
        fprintf(stderr, "ulog context: the window holds more than %u records: the digest covers "
                        "the newest %zu (narrow it with --since or --service)\n",
                LOGSOURCE_DEFAULT_MAX, json_array_size(res.records));
    if (res.unparsable)
        fprintf(stderr, "ulog context: %zu lines of all.log were not records and were skipped\n",
                res.unparsable);
    dig.since_ns = src.since_ns;
    dig.until_ns = src.until_ns;
    dig.service = src.service;
    json_t *content = NULL;
    char *markdown = NULL;
    int rc = digest_build(res.records, &dig, res.origin, json ? &content : NULL,
                          json ? NULL : &markdown, err, sizeof err);
    logsource_result_free(&res);
    if (rc != 0) {
        fprintf(stderr, "ulog context: %s\n", err);
        return 1;
    }
    if (json) {
        char *text = json_dumps(content, JSON_COMPACT);
        puts(text ? text : "{}");
        free(text);
        json_decref(content);
    } else {
        fputs(markdown, stdout);
        free(markdown);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
