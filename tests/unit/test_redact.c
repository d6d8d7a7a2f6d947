/*
 * test_redact.c - secrets out of log text and JSON (aggregator/redact.c).
 *
 * Each built-in is fed what real programs print (curl -v headers, psql
 * connection strings, AWS's documented example keys, PEM blocks, the card
 * networks' test numbers) and, as carefully, what looks close but must come
 * through untouched: prose, hashes, timestamps, ids that fail Luhn. Every
 * input is handed over in a heap block of exactly its length, so ASan sees
 * any read past the end, and the output buffer starts dirty, so a "no
 * secret" answer that touched it shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "redact.h"

static struct redactor *with_all(void)
{
    char err[256] = "";
    struct redactor *r = redactor_new();
    assert_int_equal(redactor_enable_all_builtins(r), 0);
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    return r;
}

static struct redactor *with_only(const char *name)
{
    char err[256] = "";
    struct redactor *r = redactor_new();
    assert_int_equal(redactor_enable_builtin(r, name, err, sizeof err), 0);
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    return r;
}

/* `in` (len bytes) through `r` must give `want` with `count` secrets. */
static void check_bytes(struct redactor *r, const char *in, size_t len, const char *want,
                        size_t want_len, size_t count)
{
    static const char dirt[] = "dirty";
    struct bytebuf out = BYTEBUF_INIT;
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, in, len);
    bytebuf_append(&out, dirt, sizeof dirt);
    size_t got = redactor_apply_text(r, copy, len, &out);
    if (got != count || (count > 0 && (out.len != want_len || memcmp(out.data, want, want_len))))
        print_error("input:    %.*s\nexpected: %.*s (%zu)\ngot:      %.*s (%zu)\n", (int)len,
                    in, (int)want_len, want, count, got ? (int)out.len : (int)len,
                    got ? out.data : in, got);
    assert_int_equal(got, count);
    if (count == 0) {
        assert_int_equal(out.len, sizeof dirt);
        assert_memory_equal(out.data, dirt, sizeof dirt);
    } else {
        assert_int_equal(out.len, want_len);
        assert_memory_equal(out.data, want, want_len);
    }
    bytebuf_free(&out);
    free(copy);
}

static void check(struct redactor *r, const char *in, const char *want, size_t count)
{
    check_bytes(r, in, strlen(in), want, strlen(want), count);
}

static void untouched(struct redactor *r, const char *in)
{
    check(r, in, in, 0);
}

/* Through every built-in, then through that one alone: the same answer. */
static void both(const char *builtin, const char *in, const char *want, size_t count)
{
    struct redactor *all = with_all(), *one = with_only(builtin);
    check(all, in, want, count);
    check(one, in, want, count);
    redactor_free(all);
    redactor_free(one);
}

static void neither(const char *builtin, const char *in)
{
    both(builtin, in, in, 0);
}

static void bearer_tokens(void **state)
{
    (void)state;
    both("bearer",
         "calling https://api.example.com with Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
         "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
         "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c failed: 401",
         "calling https://api.example.com with Bearer [REDACTED] failed: 401", 1);
    both("bearer", "gh api: bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a, retrying",
         "gh api: bearer [REDACTED], retrying", 1);
    both("bearer", "using Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b for drf",
         "using Token [REDACTED] for drf", 1);
    both("bearer", "sig Bearer abc123+/xyz== end", "sig Bearer [REDACTED] end", 1);
    neither("bearer", "Token refreshed successfully for user 42");
    neither("bearer", "WWW-Authenticate: Bearer realm=\"example\", error=\"invalid_token\"");
    neither("bearer", "bearer tokens are supported since v2");
    neither("bearer", "Bearer 12345678 (all digits, no letter)");
    neither("bearer", "Bearer a1b2c3 (too short)");
    neither("bearer", "Bearer [REDACTED] already");
    neither("bearer", "NonBearer abcdefgh1234");
}

static void authorization_headers(void **state)
{
    (void)state;
    /* curl -v prints the request headers after "> ". */
    both("authorization", "> Authorization: Basic dXNlcjpwYXNz",
         "> Authorization: Basic [REDACTED]", 1);
    both("authorization",
         "> GET /v1/users HTTP/1.1\n> Host: api.example.com\n"
         "> Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo\n"
         "> Accept: */*",
         "> GET /v1/users HTTP/1.1\n> Host: api.example.com\n"
         "> Authorization: Bearer [REDACTED]\n> Accept: */*", 1);
    both("authorization",
         "Authorization: Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
         "uri=\"/dir/index.html\", response=\"8ca523f5e9506fed4657c9700eebdbec\"",
         "Authorization: Digest [REDACTED]", 1);
    both("authorization", "{\"authorization\": \"Bearer abc.def.ghi\", \"accept\": \"*/*\"}",
         "{\"authorization\": \"Bearer [REDACTED]\", \"accept\": \"*/*\"}", 1);
    both("authorization", "headers={'Proxy-Authorization': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'}",
         "headers={'Proxy-Authorization': 'Basic [REDACTED]'}", 1);
    both("authorization", "authorization=abcdef", "authorization=[REDACTED]", 1);
    neither("authorization", "Authorization failed for user bob");
    neither("authorization", "authorization header missing");
    neither("authorization", "> Authorization: Basic [REDACTED]");
    neither("authorization", "{\"authorization\": \"\"}");
}

static void url_passwords(void **state)
{
    (void)state;
    both("url_password", "connecting to postgresql://app:s3cr3t@db:5432/orders?sslmode=off",
         "connecting to postgresql://app:[REDACTED]@db:5432/orders?sslmode=off", 1);
    both("url_password",
         "psql: error: connection to server at \"localhost\" (::1), port 5432 failed for "
         "\"postgres://postgres:hunter2@localhost/postgres\"",
         "psql: error: connection to server at \"localhost\" (::1), port 5432 failed for "
         "\"postgres://postgres:[REDACTED]@localhost/postgres\"", 1);
    both("url_password", "redis://:p4ss@cache:6379/0", "redis://:[REDACTED]@cache:6379/0", 1);
    both("url_password", "amqp://guest:gu@st@rabbit/vhost", "amqp://guest:[REDACTED]@rabbit/vhost",
         1);
    both("url_password", "a=mysql://u:1@h b=mongodb+srv://admin:pw2@cluster0.x.net/db",
         "a=mysql://u:[REDACTED]@h b=mongodb+srv://admin:[REDACTED]@cluster0.x.net/db", 2);
    neither("url_password", "listening on http://example.com:8080/path@v2");
    neither("url_password", "cloning ssh://git@github.com:22/org/repo.git");
    neither("url_password", "https://user@host/ and mailto:a@b.c");
    neither("url_password", "postgres://app:[REDACTED]@db/orders");
}

static void passwords_by_key(void **state)
{
    (void)state;
    both("password", "login password=hunter2 user=bob", "login password=[REDACTED] user=bob", 1);
    both("password", "level=info msg=login password=\"correct horse\" ok",
         "level=info msg=login password=\"[REDACTED]\" ok", 1);
    both("password", "{\"user\": \"bob\", \"password\": \"p\\\"w\"}",
         "{\"user\": \"bob\", \"password\": \"[REDACTED]\"}", 1);
    both("password", "env DB_PASSWORD=s3cret MYSQL_PWD=x1", "env DB_PASSWORD=[REDACTED] MYSQL_PWD=[REDACTED]", 2);
    both("password", "POST /token grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&client_id=s6B",
         "POST /token grant_type=refresh_token&refresh_token=[REDACTED]&client_id=s6B", 1);
    both("password", "client_secret: abc123", "client_secret: [REDACTED]", 1);
    both("password", "x-api-key: 0123abcd", "x-api-key: [REDACTED]", 1);
    both("password", "cfg {'apiKey': 'k-1', clientSecret => \"xyz\"}",
         "cfg {'apiKey': '[REDACTED]', clientSecret => \"[REDACTED]\"}", 2);
    both("password", "User(name=bob, passwd=hunter2)", "User(name=bob, passwd=[REDACTED])", 1);
    both("password", "ACCESS_TOKEN = ya29.a0Af; next", "ACCESS_TOKEN = [REDACTED]; next", 1);
    both("password", "user.password: h\xc3\xa9llo!", "user.password: [REDACTED]", 1);
    both("password", "private_key=abc secret=def auth_token:ghi pass=jkl",
         "private_key=[REDACTED] secret=[REDACTED] auth_token:[REDACTED] pass=[REDACTED]", 4);
    neither("password", "password_hash=$2b$12$abc");
    neither("password", "bypass=1 passenger=3 compass: north");
    neither("password", "token_type=bearer max_tokens=100");
    neither("password", "Password reset email sent to bob");
    neither("password", "password=[REDACTED] and \"token\": \"[REDACTED]\"");
    neither("password", "\"secret\": \"\" and at the end password=");
}

static void aws_keys(void **state)
{
    (void)state;
    /* The example keys of AWS's documentation. */
    both("aws_access_key", "AKIAIOSFODNN7EXAMPLE", "[REDACTED]", 1);
    both("aws_access_key", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE region=us-east-1",
         "aws_access_key_id=[REDACTED] region=us-east-1", 1);
    both("aws_access_key", "{\"AccessKeyId\": \"ASIAJEXAMPLEXEG2JICEA\"}",
         "{\"AccessKeyId\": \"ASIAJEXAMPLEXEG2JICEA\"}", 0);
    both("aws_access_key", "{\"AccessKeyId\": \"ASIAJEXAMPLEXEG2JICE\"}",
         "{\"AccessKeyId\": \"[REDACTED]\"}", 1);
    neither("aws_access_key", "AKIAIOSFODNN7EXAMPLEX is one too long");
    neither("aws_access_key", "xAKIAIOSFODNN7EXAMPLE inside a word");
    neither("aws_access_key", "akiaiosfodnn7example in lower case");
    neither("aws_access_key", "AKIA1234 too short, ABCDIOSFODNN7EXAMPLE no prefix");

    both("aws_secret_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "aws_secret_access_key = [REDACTED]", 1);
    both("aws_secret_key", "{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}",
         "{\"SecretAccessKey\": \"[REDACTED]\"}", 1);
    both("aws_secret_key", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "export AWS_SECRET_ACCESS_KEY=[REDACTED]", 1);
    neither("aws_secret_key", "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY without its name");
    neither("aws_secret_key", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8");
    neither("aws_secret_key", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX");
}

#define PEM_BODY "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF"

static void private_keys(void **state)
{
    (void)state;
    both("private_key",
         "loaded key:\n-----BEGIN PRIVATE KEY-----\n" PEM_BODY "\n-----END PRIVATE KEY-----\ndone",
         "loaded key:\n-----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY-----\ndone",
         1);
    both("private_key",
         "-----BEGIN RSA PRIVATE KEY-----\r\nMIIEowIBAAKCAQEA\r\nAKIAIOSFODNN7EXAMPLE\r\n"
         "-----END RSA PRIVATE KEY-----",
         "-----BEGIN RSA PRIVATE KEY-----\r\n[REDACTED]\r\n-----END RSA PRIVATE KEY-----", 1);
    /* A key printed inside a JSON string: the newlines are "\n" text. */
    both("private_key",
         "{\"key\":\"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEA\\n"
         "-----END OPENSSH PRIVATE KEY-----\\n\"}",
         "{\"key\":\"-----BEGIN OPENSSH PRIVATE KEY-----[REDACTED]"
         "-----END OPENSSH PRIVATE KEY-----\\n\"}", 1);
    both("private_key", "cut short:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\nA4GNADCBiQ",
         "cut short:\n-----BEGIN EC PRIVATE KEY-----\n[REDACTED]", 1);
    both("private_key",
         "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----\n"
         "-----BEGIN PRIVATE KEY-----\n" PEM_BODY "\n-----END PRIVATE KEY-----",
         "-----BEGIN PGP PRIVATE KEY BLOCK-----\n[REDACTED]\n-----END PGP PRIVATE KEY BLOCK-----\n"
         "-----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY-----", 2);
    neither("private_key", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----");
    neither("private_key", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----");
    neither("private_key", "-----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY-----");
    neither("private_key", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----");
    neither("private_key", "-----BEGIN PRIVATE KEY-----");
}

static void card_numbers(void **state)
{
    (void)state;
    both("card", "charging 4111 1111 1111 1111 now", "charging [REDACTED] now", 1);
    both("card", "card=5500-0000-0000-0004;", "card=[REDACTED];", 1);
    both("card", "amex 378282246310005.", "amex [REDACTED].", 1);
    both("card", "{\"pan\":\"6011111111111117\",\"jcb\":\"3530111333300000\"}",
         "{\"pan\":\"[REDACTED]\",\"jcb\":\"[REDACTED]\"}", 2);
    both("card", "list 5555555555554444,4012888888881881", "list [REDACTED],[REDACTED]", 2);
    both("card", "19 digits 4111111111111111110, 13 digits 4222222222222",
         "19 digits [REDACTED], 13 digits [REDACTED]", 2);
    neither("card", "order 4111111111111112 fails Luhn");
    neither("card", "epoch ms 1732198938125 and ns 1732198938123456782 pass Luhn");
    neither("card", "compact time 20261121142218128 passes Luhn");
    neither("card", "at 2026-11-21 14:22:18.214521 in 2026-11-21T14:22:18Z");
    neither("card", "call +44 20 7946 0958 or +1 555 0100 1234 5672 or 555-123-4567");
    neither("card", "run 4111111111111111111112 of 22 digits");
    neither("card", "grouped 4111 1111 1111 1111 1111 too long");
    neither("card", "abc4111111111111111 4111111111111111abc id-4111111111111111");
    neither("card", "amount 0.4111111111111111 and 4111111111111111.25");
    neither("card", "double  4111  1111  1111  1111 blanks");
    neither("card", "short 4111 1111 1111");
}

/* Found by fuzz_redact: "=>" backed off to "=", so ">" began the value and a
 * second pass redacted the redaction. What is redacted stays as it is. */
static void a_second_pass_finds_nothing_new(void **state)
{
    (void)state;
    struct redactor *all = with_all();
    check(all, "secret=>5", "secret=>[REDACTED]", 1);
    untouched(all, "secret=>[REDACTED]");
    check(all, "api_key => abc123", "api_key => [REDACTED]", 1);
    untouched(all, "api_key => [REDACTED]");
    redactor_free(all);
}

static void switching_one_off(void **state)
{
    (void)state;
    char err[256] = "";
    struct redactor *r = redactor_new();
    for (const char *const *b = redact_builtin_names; *b; b++)
        if (strcmp(*b, "card") != 0)
            assert_int_equal(redactor_enable_builtin(r, *b, err, sizeof err), 0);
    assert_int_equal(redactor_enable_builtin(r, "password", err, sizeof err), 0); /* twice */
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    assert_int_equal(redactor_pattern_count(r), 7);
    check(r, "card 4111 1111 1111 1111 password=x", "card 4111 1111 1111 1111 password=[REDACTED]",
          1);
    redactor_free(r);

    r = redactor_new();
    assert_int_equal(redactor_enable_builtin(r, "cards", err, sizeof err), -1);
    assert_string_equal(err, "no built-in redaction pattern \"cards\"");
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    assert_int_equal(redactor_pattern_count(r), 0);
    untouched(r, "password=x 4111 1111 1111 1111");
    redactor_free(r);
}

static void user_patterns(void **state)
{
    (void)state;
    char err[256] = "";
    struct redactor *r = redactor_new();
    assert_int_equal(redactor_enable_all_builtins(r), 0);
    assert_int_equal(redactor_add_pattern(r, "ref", "order_ref=(?<secret>[A-Z]{3}-\\d+)", NULL,
                                          err, sizeof err), 0);
    assert_int_equal(redactor_add_pattern(r, "ssn", "\\b\\d{3}-\\d{2}-\\d{4}\\b", "[SSN $1]", err,
                                          sizeof err), 0);
    assert_int_equal(redactor_add_pattern(r, NULL, "(?i)internal-(?<secret>[a-z]+)?-host", NULL,
                                          err, sizeof err), 0);
    assert_int_equal(redactor_add_pattern(r, "empty", "x*", NULL, err, sizeof err), 0);
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    assert_int_equal(redactor_pattern_count(r), 12);
    check(r, "order_ref=ABC-123 ssn 078-05-1120 password=p",
          "order_ref=[REDACTED] ssn [SSN $1] password=[REDACTED]", 3);
    check(r, "INTERNAL-db-host and internal--host", "INTERNAL-[REDACTED]-host and internal--host",
          1);
    check(r, "xxx xx", "[REDACTED] [REDACTED]", 2);
    untouched(r, "order_ref=abc-123 ssn 078-05-11200");
    redactor_free(r);
}

static void user_pattern_errors(void **state)
{
    (void)state;
    char err[256] = "";
    struct redactor *r = redactor_new();
    assert_int_equal(redactor_add_pattern(r, "bad", "a(b", NULL, err, sizeof err), -1);
    assert_string_equal(err, "missing closing parenthesis at offset 3 in regex \"a(b\"");
    assert_int_equal(redactor_add_pattern(r, "bad", "(a)\\1", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "backreferences"));
    static const char *const refused[] = {"a(?R)?b", "(a)(?1)", "(a)(?-1)", "(?(1)a|b)",
                                          "(?<n>a)(?&n)", "(?P<n>a)(?P>n)", "a\\g<1>",
                                          "a(*SKIP)b", "(*UTF)a", NULL};
    for (const char *const *re = refused; *re; re++) {
        err[0] = '\0';
        assert_int_equal(redactor_add_pattern(r, "bad", *re, NULL, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(redactor_add_pattern(r, "two", "(?J)(?<secret>a)|(?<secret>b)", NULL, err,
                                          sizeof err), -1);
    assert_non_null(strstr(err, "more than one group named secret"));
    /* Look-alikes that are fine: option settings, escaped parentheses, \Q..\E. */
    assert_int_equal(redactor_add_pattern(r, "ok", "(?-i)a\\(?1\\)|\\Q(?R)\\E|(?i:b)", NULL,
                                          err, sizeof err), 0);
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    assert_int_equal(redactor_pattern_count(r), 1);
    check(r, "a(1) (?R) B", "[REDACTED] [REDACTED] [REDACTED]", 3);
    redactor_free(r);
}

static void json_by_key_and_by_value(void **state)
{
    (void)state;
    struct redactor *r = with_all();
    json_error_t error;
    json_t *v = json_loads(
        "{\"password\": 1234, \"user\": \"bob\", \"token_count\": 3,"
        " \"nested\": {\"apiKey\": {\"a\": 1}, \"list\": [\"Bearer abcdef123456\","
        " {\"Set-Cookie\": \"sid=1\", \"HTTP_AUTHORIZATION\": null}, 7]},"
        " \"msg\": \"login password=x from 4111111111111111\","
        " \"aws_secret_access_key\": true, \"dbPassword\": \"[REDACTED]\"}",
        0, &error);
    assert_non_null(v);
    assert_int_equal(redactor_apply_json(r, v), 8);
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
        "{\"aws_secret_access_key\":\"[REDACTED]\",\"dbPassword\":\"[REDACTED]\","
        "\"msg\":\"login password=[REDACTED] from [REDACTED]\",\"nested\":{\"apiKey\":"
        "\"[REDACTED]\",\"list\":[\"Bearer [REDACTED]\",{\"HTTP_AUTHORIZATION\":\"[REDACTED]\","
        "\"Set-Cookie\":\"[REDACTED]\"},7]},\"password\":\"[REDACTED]\",\"token_count\":3,"
        "\"user\":\"bob\"}");
    free(text);
    assert_int_equal(redactor_apply_json(r, v), 0); /* nothing new the second time */
    json_decref(v);
    redactor_free(r);

    /* Keys follow their built-in: with "password" off, its keys stay. */
    r = with_only("card");
    v = json_pack("{s:s, s:s}", "password", "x", "n", "4111 1111 1111 1111");
    assert_int_equal(redactor_apply_json(r, v), 1);
    assert_string_equal(json_string_value(json_object_get(v, "password")), "x");
    assert_string_equal(json_string_value(json_object_get(v, "n")), "[REDACTED]");
    json_decref(v);
    redactor_free(r);
}

static void json_string_never_left_invalid(void **state)
{
    (void)state;
    char err[256] = "";
    struct redactor *r = redactor_new();
    /* Bytes, not characters: this cuts "é" (C3 A9) in two. */
    assert_int_equal(redactor_add_pattern(r, "half", "\\xc3", "?", err, sizeof err), 0);
    assert_int_equal(redactor_finish(r, err, sizeof err), 0);
    json_t *v = json_pack("[s, s]", "h\xc3\xa9llo", "plain");
    assert_int_equal(redactor_apply_json(r, v), 1);
    assert_string_equal(json_string_value(json_array_get(v, 0)), "[REDACTED]");
    assert_string_equal(json_string_value(json_array_get(v, 1)), "plain");
    json_decref(v);
    redactor_free(r);
}

static void invalid_utf8_and_nuls(void **state)
{
    (void)state;
    struct redactor *r = with_all();
    static const char in[] = "\xff\xfe password=ab\xff\xc0z \xc0\x00 Bearer abc\x00" "12345678 \xe2\x82";
    static const char want[] = "\xff\xfe password=[REDACTED] \xc0\x00 Bearer abc\x00" "12345678 \xe2\x82";
    check_bytes(r, in, sizeof in - 1, want, sizeof want - 1, 1);
    static const char plain[] = "\x80\x81\xff\xfe\x00\xc3(\xed\xa0\x80";
    check_bytes(r, plain, sizeof plain - 1, plain, sizeof plain - 1, 0);
    check_bytes(r, "", 0, "", 0, 0);
    redactor_free(r);
}

static void a_redactor_with_nothing_redacts_nothing(void **state)
{
    (void)state;
    struct redactor *r = redactor_new();
    untouched(r, "password=x"); /* not even finished */
    json_t *v = json_pack("{s:s}", "password", "x");
    assert_int_equal(redactor_apply_json(r, v), 0);
    json_decref(v);
    redactor_free(r);
    redactor_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bearer_tokens),
        cmocka_unit_test(authorization_headers),
        cmocka_unit_test(url_passwords),
        cmocka_unit_test(passwords_by_key),
        cmocka_unit_test(aws_keys),
        cmocka_unit_test(private_keys),
        cmocka_unit_test(card_numbers),
        cmocka_unit_test(a_second_pass_finds_nothing_new),
        cmocka_unit_test(switching_one_off),
        cmocka_unit_test(user_patterns),
        cmocka_unit_test(user_pattern_errors),
        cmocka_unit_test(json_by_key_and_by_value),
        cmocka_unit_test(json_string_never_left_invalid),
        cmocka_unit_test(invalid_utf8_and_nuls),
        cmocka_unit_test(a_redactor_with_nothing_redacts_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
