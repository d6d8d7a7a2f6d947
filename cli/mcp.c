/*
 * mcp.c - `ulog mcp`: a Model Context Protocol server over stdio, so that an
 * AI assistant can read the stack's logs through tools (mcp_tools.h)
 * instead of pasting them.
 *
 * The transport is MCP's stdio one: JSON-RPC 2.0, one message per line on
 * stdin, one answer per line on stdout (never anything else there: every
 * diagnostic goes to stderr), flushed at once; EOF on stdin ends the session
 * with status 0. A request (it has an id, a string or a number, echoed
 * unchanged) gets exactly one response, a notification none. A line is at
 * most MCP_LINE_MAX bytes: a longer one is skipped and answered -32700, and
 * the session goes on, as after any line that is not JSON. Batches (JSON
 * arrays) are refused: the current MCP revision (2025-06-18) removed them.
 *
 * The lifecycle: initialize first (answering the client's protocol version
 * when it is one we know, else our latest), then tools/list and tools/call;
 * only ping is served before initialize.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "mcp_tools.h"

#define MCP_LINE_MAX (16u << 20)
#define LATEST_VERSION "2025-06-18"

enum {
    PARSE_ERROR = -32700,
    INVALID_REQUEST = -32600,
    METHOD_NOT_FOUND = -32601,
    INVALID_PARAMS = -32602,
};

static const char *const known_versions[] = {"2024-11-05", "2025-03-26", LATEST_VERSION};

static const char instructions[] =
    "These tools read the logs of the stack that ulog captures (every program's stdout and "
    "stderr, and process/container events) from ulogd's store. Start with log_context: a "
    "compact digest of the last 15 minutes (errors and crashes with the lines before them, "
    "repeated messages as templates). Then list_services for volumes and error counts, "
    "process_events for exits, crashes and OOM kills, query_logs to search (service, level, "
    "time, full text), trace for one trace_id, tail_logs for the latest lines. Answers are "
    "bounded; narrow the query when one says it was cut.";

struct session {
    struct mcp_source source;
    const char *version; /* negotiated; NULL before initialize */
};

void cmd_mcp_usage(FILE *out)
{
    fputs("Usage: ulog mcp [--log-dir DIR | --db FILE]\n"
          "\n"
          "Serve the logs to an AI assistant: a Model Context Protocol server on stdin and\n"
          "stdout (JSON-RPC 2.0, one message per line), started by the assistant itself.\n"
          "Tools: log_context (start here), query_logs, tail_logs, list_services,\n"
          "process_events, trace. They read ulogd's store as `ulog query` does;\n"
          "log_context reads all.log when there is no store.\n"
          "\n"
          "      --log-dir DIR     where ulogd writes (default: $LOG_DIR, else ./logs); the\n"
          "                        store is DIR/ulog.db, or $ULOG_STORE_PATH\n"
          "      --db FILE         read this store file instead\n"
          "  -h, --help            show this help\n"
          "\n"
          "A configuration for the assistant (Claude Desktop and other mcpServers files):\n"
          "  {\"mcpServers\": {\"ulog\": {\"command\": \"ulog\",\n"
          "                           \"args\": [\"mcp\", \"--log-dir\", \"/path/to/logs\"]}}}\n"
          "\n"
          "Diagnostics go to stderr. Exit status: 0 at the end of stdin, 1 when stdout\n"
          "cannot be written, 2 for a mistake on the command line.\n",
          out);
}

/* ---- output ---------------------------------------------------------------------- */

/* One message, one line, flushed. -1 when stdout is gone. */
static int send_message(json_t *message)
{
    char *text = json_dumps(message, JSON_COMPACT);
    json_decref(message);
    if (!text)
        return 0;
    int rc = fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF;
    free(text);
    return rc ? -1 : 0;
}

static int send_result(json_t *id, json_t *result)
{
    return send_message(json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result",
                                  result));
}

static int send_error(json_t *id, int code, const char *message)
{
    return send_message(json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                                  id ? id : json_null(), "error", "code", code, "message",
                                  message));
}

/* ---- methods --------------------------------------------------------------------- */

static int initialize(struct session *s, json_t *id, json_t *params)
{
    json_t *asked = json_object_get(params, "protocolVersion");
    if (!json_is_string(asked))
        return send_error(id, INVALID_PARAMS,
                          "initialize: params.protocolVersion must be a string");
    if (s->version)
        return send_error(id, INVALID_REQUEST, "initialize: the session is already initialized");
    s->version = LATEST_VERSION;
    for (size_t i = 0; i < sizeof known_versions / sizeof known_versions[0]; i++)
        if (strcmp(json_string_value(asked), known_versions[i]) == 0)
            s->version = known_versions[i];
    return send_result(id, json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s}, s:s}", "protocolVersion",
                                     s->version, "capabilities", "tools", "listChanged", 0,
                                     "serverInfo", "name", "ulog", "version", ULOG_VERSION,
                                     "instructions", instructions));
}

static int call_tool(struct session *s, json_t *id, json_t *params)
{
    json_t *name = json_object_get(params, "name"), *arguments = json_object_get(params, "arguments");
    char message[256];

    if (!json_is_string(name))
        return send_error(id, INVALID_PARAMS, "tools/call: params.name must be a tool's name");
    if (arguments && !json_is_object(arguments) && !json_is_null(arguments))
        return send_error(id, INVALID_PARAMS, "tools/call: params.arguments must be an object");
    json_t *result = mcp_tools_call(&s->source, json_string_value(name),
                                    json_is_object(arguments) ? arguments : NULL,
                                    strcmp(s->version, "2025-06-18") >= 0);
    if (!result) {
        snprintf(message, sizeof message, "unknown tool \"%.64s\": see tools/list",
                 json_string_value(name));
        return send_error(id, INVALID_PARAMS, message);
    }
    return send_result(id, result);
}

/* A request (id is not NULL) or a notification (id NULL: never answered). */
static int dispatch(struct session *s, json_t *id, const char *method, json_t *params)
{
    char message[256];

    if (!id) {
        /* notifications/initialized, notifications/cancelled (every answer is already
         * given: nothing runs in the background) and any other: nothing to say. */
        return 0;
    }
    if (params && !json_is_object(params))
        return send_error(id, INVALID_PARAMS, "params must be an object");
    if (strcmp(method, "ping") == 0)
        return send_result(id, json_object());
    if (strcmp(method, "initialize") == 0)
        return initialize(s, id, params);
    if (!s->version)
        return send_error(id, INVALID_REQUEST,
                          "not initialized: the first request must be initialize");
    if (strcmp(method, "tools/list") == 0)
        return send_result(id, mcp_tools_list());
    if (strcmp(method, "tools/call") == 0)
        return call_tool(s, id, params);
    snprintf(message, sizeof message, "method not found: \"%.64s\" (this server has tools only)",
             method);
    return send_error(id, METHOD_NOT_FOUND, message);
}

/* One line of stdin; -1 when stdout is gone. */
static int handle_line(struct session *s, const char *line, size_t len)
{
    json_error_t error;
    char message[300];

    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (!len)
        return 0; /* an empty line is no message */
    json_t *msg = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
    if (!msg) {
        snprintf(message, sizeof message, "parse error: not JSON (%s, column %d)", error.text,
                 error.column);
        return send_error(NULL, PARSE_ERROR, message);
    }
    int rc;
    json_t *id = json_object_get(msg, "id"), *method = json_object_get(msg, "method");
    json_t *version = json_object_get(msg, "jsonrpc");
    if (json_is_array(msg))
        rc = send_error(NULL, INVALID_REQUEST,
                        "invalid request: batches (JSON arrays) are not supported; MCP 2025-06-18 "
                        "removed JSON-RPC batching: send one message per line");
    else if (!json_is_object(msg))
        rc = send_error(NULL, INVALID_REQUEST, "invalid request: a message is a JSON object");
    else if (id && !json_is_string(id) && !json_is_number(id))
        rc = send_error(NULL, INVALID_REQUEST,
                        "invalid request: id must be a string or a number");
    else if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        rc = send_error(id, INVALID_REQUEST, "invalid request: jsonrpc must be \"2.0\"");
    else if (!method && (json_object_get(msg, "result") || json_object_get(msg, "error")))
        rc = 0; /* a response: this server sends no requests, so there is nothing to match */
    else if (!json_is_string(method))
        rc = send_error(id, INVALID_REQUEST, "invalid request: method must be a string");
    else
        rc = dispatch(s, id, json_string_value(method), json_object_get(msg, "params"));
    json_decref(msg);
    return rc;
}

/* Read stdin line by line until EOF; 0, or 1 when stdout could not be written. */
static int serve(struct session *s)
{
    size_t cap = 64 * 1024, len = 0;
    char *line = malloc(cap);
    bool too_long = false;
    int c, rc = 0;

    if (!line)
        return 1;
    while (rc == 0 && (c = getc_unlocked(stdin)) != EOF) {
        if (c != '\n') {
            if (too_long)
                continue;
            if (len + 1 >= cap) {
                if (cap >= MCP_LINE_MAX) {
                    too_long = true;
                    continue;
                }
                char *bigger = realloc(line, cap * 2);
                if (!bigger) {
                    too_long = true;
                    continue;
                }
                line = bigger;
                cap *= 2;
            }
            line[len++] = (char)c;
            continue;
        }
        if (too_long)
            rc = send_error(NULL, PARSE_ERROR, "parse error: the message is longer than 16 MiB "
                                               "and was skipped");
        else
            rc = handle_line(s, line, len);
        len = 0;
        too_long = false;
    }
    if (rc == 0 && (len || too_long))
        rc = too_long ? send_error(NULL, PARSE_ERROR, "parse error: the message is longer than "
                                                      "16 MiB and was skipped")
                      : handle_line(s, line, len);
    free(line);
    if (rc != 0) {
        fprintf(stderr, "ulog mcp: cannot write to stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int cmd_mcp(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"log-dir", required_argument, NULL, 'L'},
        {"db", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *env_dir = getenv("LOG_DIR");
    struct session s = {.source = {.log_dir = env_dir && env_dir[0] ? env_dir : "./logs"}};
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'L':
        case 'D':
            if (!optarg[0]) {
                fprintf(stderr, "ulog mcp: --%s wants a %s\nTry 'ulog mcp --help'.\n",
                        c == 'L' ? "log-dir" : "db", c == 'L' ? "directory" : "file");
                return EXIT_USAGE;
            }
            *(c == 'L' ? &s.source.log_dir : &s.source.db) = optarg;
            break;
        case 'h':
            cmd_mcp_usage(stdout);
            return 0;
        default:
            fputs("Try 'ulog mcp --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ulog mcp: unexpected argument '%s'\nTry 'ulog mcp --help'.\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN); /* a client gone is a write error, said on stderr */
    return serve(&s);
}
