/*
 * redact_private.h - what redact*.c share, and nothing else may use.
 *
 * Redaction (see redact.h) is one module kept in two files: redact.c
 * compiles the enabled patterns into one regex and applies it to text and
 * JSON; redact_builtins.c holds the built-in patterns themselves, with the
 * reasons each looks the way it does. Keeping the regex tables apart keeps
 * the matching code short enough to read, and lets a pattern be tuned
 * without touching it.
 */
#ifndef ULOGD_REDACT_PRIVATE_H
#define ULOGD_REDACT_PRIVATE_H

#include <stddef.h>

#include <pcre2.h>

#include "redact.h"

struct redact_builtin {
    const char *name; /* as in redact_builtin_names, in the same order */
    const char *regex;
};

/* Every built-in, in the order redactor_enable_all_builtins enables them. */
extern const struct redact_builtin redact_builtins[];
extern const size_t redact_builtin_count;

/* JSON member names (NULL-terminated) redacted whole, whatever the value,
 * when the built-in "password", "authorization" or "aws_secret_key" is on. */
extern const char *const redact_password_keys[];
extern const char *const redact_authorization_keys[];
extern const char *const redact_aws_secret_keys[];

/* The callout of the combined regex: the "card" pattern ends in
 * (?C"luhn"), and this fails the branch when the digits fail the Luhn check;
 * any other callout lets the match go on. */
int redact_card_callout(pcre2_callout_block *cb, void *unused);

#endif
