/*
 * mcp_tools.h - the tools `ulog mcp` offers an AI assistant (see mcp.c for
 * the protocol around them): their names, descriptions and input schemas
 * (tools/list), the checking of a call's arguments against those schemas,
 * and the calls themselves (tools/call), each answer bounded in size.
 *
 * mcp_tools.c owns the table of tools and arguments (one table gives both
 * the JSON Schema and the checks, so they cannot disagree), the checks and
 * the bound; mcp_tools_store.c owns what each tool reads: ulogd's store
 * (the same files `ulog query` reads) and, for log_context, the digest of
 * `ulog context`.
 */
#ifndef ULOG_CLI_MCP_TOOLS_H
#define ULOG_CLI_MCP_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* At most this many bytes of text in one tool result (the records are cut to fit). */
#define MCP_TEXT_LIMIT (64u * 1024u)

/* Where the records are: as `ulog query` finds them. */
struct mcp_source {
    const char *log_dir; /* --log-dir, $LOG_DIR or ./logs */
    const char *db;      /* --db, or NULL */
};

/* {"tools": [...]}: every tool with its name, title, description and inputSchema. */
json_t *mcp_tools_list(void);

/*
 * Run tool `name` with `arguments` (an object, or NULL for none). Returns
 * the CallToolResult (content, isError, and structuredContent when
 * `structured`), or NULL when there is no such tool (a JSON-RPC error for
 * the caller). A bad argument or a failure of the tool is a result with
 * isError true and a text saying why.
 */
json_t *mcp_tools_call(const struct mcp_source *source, const char *name, json_t *arguments,
                       bool structured);

/* ---- between mcp_tools.c and mcp_tools_store.c ----------------------------------- */

/* What one tool produced. */
struct mcp_output {
    json_t *object;         /* the structured result (owned) */
    const char *list_key;   /* its array of records or items that may be cut, or NULL */
    bool keep_last;         /* cut from the start of that array (keep the newest), not the end */
    char *markdown;         /* malloc'd: the text instead of the JSON (log_context), or NULL */
};

/* Each returns 0 with *out filled, or -1 with `err` (said to the assistant as isError). */
typedef int mcp_tool_fn(const struct mcp_source *source, json_t *arguments,
                        struct mcp_output *out, char *err, size_t err_size);
mcp_tool_fn mcp_query_logs, mcp_tail_logs, mcp_log_context, mcp_list_services,
    mcp_process_events, mcp_trace;

/* A window argument ("since"/"until": an age or RFC 3339) as the store's
 * timestamp text (fixed width, UTC); -1 with `err` naming the argument. */
int mcp_time_argument(const char *argument, const char *value, char out[32], char *err,
                      size_t err_size);

#endif /* ULOG_CLI_MCP_TOOLS_H */
