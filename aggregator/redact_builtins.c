/*
 * redact_builtins.c - the built-in redaction patterns (see redact.h for
 * their names, redact_private.h for what redact.c takes from here).
 *
 * The patterns are data: the regexes, the JSON keys some of them also
 * redact by name, and the Luhn check the card pattern calls out to.
 * redact.c compiles and runs them together with the user's patterns, so a
 * pattern can be tuned here without touching the matching code (its tests
 * are in tests/unit/test_redact.c).
 *
 * Why the built-ins look the way they do:
 *  - Keys naming a secret (password, secret, token, api_key...) are found
 *    where the key word begins a word or follows `_`, `-`, `.` or a camelCase
 *    hump and ends the key: DB_PASSWORD, x-api-key, clientSecret,
 *    user.password all count; bypass, passenger, token_type, password_hash
 *    do not. An unquoted value runs to a blank, quote or `&`, less trailing
 *    `,;)}]`, so it errs towards hiding more. "pwd" is on the list, so a
 *    shell's PWD=/home/x is hidden too.
 *  - A Bearer/Token credential must look like one: 8+ characters of the
 *    token68 alphabet with a letter and a digit ("Token refreshed",
 *    "Bearer realm=" stay).
 *  - An unquoted Authorization value runs to the end of the line: Digest
 *    parameters have blanks and commas.
 *  - A card is a whole run of digits, joined by single blanks or dashes, not
 *    touching letters, `+`, `.`, `-` or other digits, 13-19 digits long,
 *    starting like a card network's number (2[2-7], 3[04-9], 4, 5, 6: never
 *    1, so epoch seconds/ms/ns and 19xx/20xx dates cannot be one) and
 *    passing Luhn.
 *  - AWS secret keys are only recognised after their key name: a bare 40
 *    character string is as likely a git hash.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "redact_private.h"

/* Text already redacted is not redacted again (see redact.h). */
#define NOT_REDACTED_ALREADY "(?!\\[REDACTED\\])"

/* Characters of a token68 credential (RFC 9110 section 11.2). */
#define TOKEN_CHAR "[A-Za-z0-9._~+/-]"
#define SCHEME "[A-Za-z][A-Za-z0-9_-]*[ \\t]+"
/* "=>" is taken whole (possessive): backing off to "=" would let ">" start
 * the value and slip past NOT_REDACTED_ALREADY on a second pass. */
#define KEY_VALUE_SEPARATOR "[\"']?[ \\t]*(?:=>?+|:)[ \\t]*"
#define PEM_TYPE "(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"

const struct redact_builtin redact_builtins[] = {
    {"bearer", "(?<![A-Za-z0-9_])(?i:bearer|token)[ \\t]+" NOT_REDACTED_ALREADY
               "(?<secret>(?=" TOKEN_CHAR "*[0-9])(?=" TOKEN_CHAR "*[A-Za-z])" TOKEN_CHAR
               "{8,}=*)(?![A-Za-z0-9._~+/=-])"},
    {"authorization",
     "(?<![A-Za-z0-9_-])(?i:(?:proxy[_-])?authorization)[\"']?[ \\t]*[:=][ \\t]*"
     "(?![\"']?(?:" SCHEME ")?\\[REDACTED\\])"
     "(?|\"(?:" SCHEME "(?=[^\"\\s]))?(?<secret>(?:[^\"\\\\\\r\\n]|\\\\.)+)\""
     "|'(?:" SCHEME "(?=[^'\\s]))?(?<secret>[^'\\r\\n]+)'"
     "|(?!\"\"|'')(?:" SCHEME "(?=\\S))?(?<secret>\\S(?:[^\\r\\n]*\\S)?))"},
    {"url_password", "(?<=[A-Za-z0-9])://[^\\s:/?#@\"'<>]*:(?!\\[REDACTED\\]@)"
                     "(?<secret>[^\\s/?#\"'<>]+)@"},
    {"password", "(?<![A-Z0-9])(?<![a-z](?=[a-z]))"
                 "(?i:pass(?:word|wd|phrase)?|pwd|secret(?:[_-]?key)?|api[_-]?key|token"
                 "|private[_-]?key)" KEY_VALUE_SEPARATOR "(?![\"']?\\[REDACTED\\])"
                 "(?|\"(?<secret>(?:[^\"\\\\\\r\\n]|\\\\.)+)\"|'(?<secret>[^'\\r\\n]+)'"
                 "|(?<secret>[^\\s\"'&]*[^\\s\"'&,;)}\\]]))"},
    {"aws_access_key", "(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA"
                       "|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])"},
    {"aws_secret_key", "(?<![A-Za-z0-9])(?i:(?:aws[_-]?)?secret[_-]?access[_-]?key)"
                       KEY_VALUE_SEPARATOR "[\"']?(?<secret>[A-Za-z0-9/+=]{40})"
                       "(?![A-Za-z0-9/+=])"},
    {"private_key", "(?s:-----BEGIN " PEM_TYPE "[ \\t]*+(?:\\r?\\n)?+"
                    "(?!\\[REDACTED\\](?:\\r?\\n)?(?:-----END|$))"
                    "(?|(?<secret>.*?)(?=(?:\\r?\\n)?-----END " PEM_TYPE ")|(?<secret>.+)))"},
    {"card", "(?<![A-Za-z0-9_+.-]|[0-9] )(?=2[2-7]|3[04-9]|[456])[0-9](?:[ -]?[0-9]){12,18}"
             "(?![A-Za-z0-9_]|[ -][0-9]|\\.[0-9])(?C\"luhn\")"},
};

const size_t redact_builtin_count = sizeof redact_builtins / sizeof redact_builtins[0];

const char *const redact_builtin_names[] = {
    "bearer", "authorization", "url_password", "password", "aws_access_key", "aws_secret_key",
    "private_key", "card", NULL,
};

/* JSON members redacted whole, by key, when the built-in that owns them is
 * on. A `_` in a word also matches `-` or nothing (api_key, x-api-key,
 * apiKey); see key_ends_with_word in redact.c for where a word may begin. */
const char *const redact_password_keys[] = {
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "secret_key", "api_key",
    "token", "private_key", NULL,
};
const char *const redact_authorization_keys[] = {"authorization", "cookie", NULL};
const char *const redact_aws_secret_keys[] = {"secret_access_key", NULL};

static bool luhn_valid(const unsigned char *s, size_t len)
{
    unsigned sum = 0, position = 0;
    for (size_t i = len; i-- > 0;) {
        if (!isdigit(s[i]))
            continue;
        unsigned digit = s[i] - '0';
        if (position++ % 2 == 1)
            digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
        sum += digit;
    }
    return sum % 10 == 0;
}

/* 0 lets the match go on, 1 makes it fail here (and backtrack). */
int redact_card_callout(pcre2_callout_block *cb, void *unused)
{
    (void)unused;
    if (cb->callout_string_length != 4 || memcmp(cb->callout_string, "luhn", 4) != 0)
        return 0;
    return luhn_valid(cb->subject + cb->start_match, cb->current_position - cb->start_match)
               ? 0 : 1;
}
