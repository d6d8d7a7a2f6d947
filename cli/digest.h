/*
 * digest.h - the few kilobytes of a log window that an AI assistant (or a
 * person) needs first: `ulog context` prints it, `ulog mcp`'s log_context
 * tool returns it.
 *
 * Content, by priority when the budget is short: the window, the services
 * and their counts per level (always); the latest errors and crashes, newest
 * first, every distinct one (by message template) before any repeat, each
 * with up to 5 preceding records of the same process (same service + pid,
 * else container) and that process's exit record; then the repeated
 * messages as templates (templates.h), most frequent first; and last what
 * was cut. Every text printed passes the built-in redaction again.
 *
 * Budget: characters (bytes of UTF-8, so never more characters than that),
 * or tokens estimated as ceil(bytes / 4) - a budget of T tokens is 4*T bytes.
 */
#ifndef ULOG_CLI_DIGEST_H
#define ULOG_CLI_DIGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_DEFAULT_BUDGET 8000u
#define DIGEST_MIN_BUDGET 1000u /* chars: below this not even the header fits */
#define DIGEST_PRECEDING 5u

struct digest_options {
    uint64_t since_ns, until_ns; /* the window, for the header; 0: open */
    const char *service;         /* the filter used, for the header; NULL: none */
    int min_level;               /* records at or above it are problems; < 0: ERROR */
    size_t budget;               /* 0: DIGEST_DEFAULT_BUDGET characters */
    bool budget_in_tokens;
};

/* Builds the digest from `records` (oldest first; not modified). *json gets
 * the structured content (the same selection; its compact dump also within
 * the budget); *markdown (malloc'd) the text, never longer than the budget.
 * Either out-pointer may be NULL. -1 with `err` when the budget is below
 * DIGEST_MIN_BUDGET characters or the redactor cannot be built. */
int digest_build(json_t *records, const struct digest_options *opt, const char *origin,
                 json_t **json, char **markdown, char *err, size_t err_size);

/* "8k" -> 8000 chars, "2000t" -> 2000 tokens, "12000" -> chars; false if bad. */
bool digest_parse_budget(const char *text, size_t *budget, bool *in_tokens);

#endif /* ULOG_CLI_DIGEST_H */
