/*
 * redact.h - keeping secrets out of the log files.
 *
 * Every captured line passes through here before anything is written, so a
 * token, password or card number that a program printed by mistake never
 * reaches all.log. One redactor holds the enabled built-in patterns and the
 * user's patterns, compiled together into one JIT-ed regex: a line without a
 * secret (nearly all of them) costs one scan and no allocation.
 *
 * The one replacement scheme: the secret part of a match becomes
 * "[REDACTED]" and the context that says what it was stays, so a reader sees
 * `password=[REDACTED]`, `Authorization: Bearer [REDACTED]`,
 * `postgres://app:[REDACTED]@db/x`; a pattern whose whole match is the
 * secret (card numbers, AWS key ids) becomes plain "[REDACTED]". Text that
 * already reads "[REDACTED]" is not redacted again, so running twice counts
 * nothing new.
 *
 * Patterns match bytes, not UTF-8 characters: lines may hold any bytes, and
 * a secret with an invalid byte in it must still be hidden whole. Bytes
 * outside a secret come out unchanged.
 *
 * A redactor keeps match state and buffers: one thread uses it at a time.
 */
#ifndef ULOGD_REDACT_H
#define ULOGD_REDACT_H

#include <jansson.h>
#include <stddef.h>

#include "bytebuf.h"

struct redactor;

struct redactor *redactor_new(void); /* nothing enabled yet */
void redactor_free(struct redactor *r);

/* Built-in patterns. At one position, patterns are tried in the order they
 * were enabled or added (enable_all: this order):
 *  "bearer"         the credential after "Bearer" or "Token"
 *  "authorization"  the value of Authorization / Proxy-Authorization after
 *                   its scheme word (Basic, Digest, Bearer...)
 *  "url_password"   scheme://user:SECRET@host
 *  "password"       the value after a key naming a secret (password, secret,
 *                   token, api_key, private_key... see redact_builtins.c)
 *  "aws_access_key" AKIA/ASIA/... + 16 [A-Z0-9], the whole id
 *  "aws_secret_key" the 40 characters after aws_secret_access_key= / :
 *  "private_key"    PEM private key blocks: the body between the BEGIN and
 *                   END lines, or to the end of the text when END never comes
 *  "card"           13-19 digit card numbers that pass the Luhn check */
extern const char *const redact_builtin_names[]; /* NULL-terminated */

/* -1 with a reason for an unknown name; enabling twice is harmless. */
int redactor_enable_builtin(struct redactor *r, const char *name, char *err, size_t err_size);
int redactor_enable_all_builtins(struct redactor *r);

/* A user pattern (PCRE2 syntax). With a capture group named `secret` only
 * that group is replaced, otherwise the whole match; `replacement` is literal
 * text, NULL for "[REDACTED]". Refused: a regex that does not compile, and
 * one using backreferences, recursion, conditions on groups or backtracking
 * verbs, which would change meaning once combined with the other patterns. */
int redactor_add_pattern(struct redactor *r, const char *name, const char *regex,
                         const char *replacement, char *err, size_t err_size);

/* Compile what was enabled and added into one JIT-ed regex. Call after the
 * adds; calling again after more adds recompiles. */
int redactor_finish(struct redactor *r, char *err, size_t err_size);
size_t redactor_pattern_count(const struct redactor *r);

/* The number of secrets replaced in `text`; when > 0, `out` (emptied first)
 * holds the redacted text; when 0, `out` is untouched. */
size_t redactor_apply_text(struct redactor *r, const char *text, size_t len,
                           struct bytebuf *out);

/* Every string in `value`, recursively and in place, through
 * redactor_apply_text; and the whole value, whatever its type, of a member
 * whose key names a secret: the "password" keys when that built-in is on,
 * authorization, proxy-authorization, cookie and set-cookie with
 * "authorization", aws_secret_access_key with "aws_secret_key". Returns the
 * count. */
size_t redactor_apply_json(struct redactor *r, json_t *value);

#endif
