/*
 * test_templates.c - masking the variable parts of messages and mining
 * templates from them (cli/templates.c): each mask on its own and among
 * words, what must stay as written, 500 variants of one message collapsing
 * into one template with the right count, different messages staying apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "templates.h"

static void check_mask(const char *in, const char *want)
{
    char *got = template_mask(in, strlen(in));
    if (strcmp(got, want) != 0)
        fail_msg("mask(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void test_masks(void **state)
{
    (void)state;
    check_mask("took 42 tries", "took <NUM> tries");
    check_mask("balance -17.25 now", "balance <NUM> now");
    check_mask("ratio 1.5e3", "ratio <NUM>");
    check_mask("id 5f3a01e59e done", "id <HEX> done");
    check_mask("ptr 0x7ffd1234", "ptr <HEX>");
    check_mask("deadbeef stays", "deadbeef stays"); /* no digit: a word */
    check_mask("req 8c3f2a1e-1111-4222-8333-444455556666 ok", "req <UUID> ok");
    check_mask("from 10.0.0.7:40000 to 192.168.1.1", "from <IP> to <IP>");
    check_mask("v6 ::1 and fe80::1ff:fe23:4567:890a and [2001:db8::1]:8080", "v6 <IP> and <IP> and <IP>");
    check_mask("at 14:22:18 today", "at <NUM>:<NUM>:<NUM> today");
    check_mask("open /var/lib/db/main.sqlite: denied", "open <PATH>: denied");
    check_mask("file C:\\Users\\app\\x.txt gone", "file <PATH> gone");
    check_mask("GET https://api.example.com/v1/users?id=3 failed", "GET <URL> failed");
    check_mask("user \"alice smith\" and 'bob'", "user <STR> and <STR>");
    check_mask("don't split words", "don't split words");
    check_mask("slow: 12ms then 3.5s then 1h30m", "slow: <DUR> then <DUR> then <DUR>");
    check_mask("mail bob.smith+x@example.co.uk now", "mail <EMAIL> now");
    check_mask("v2 build7 user_42 stay", "v2 build7 user_42 stay");
    check_mask("commit abc123 is hex", "commit <HEX> is hex");
    check_mask("key=9 n:7", "key=<NUM> n:<NUM>");
    check_mask("first line 1\nsecond line 2", "first line <NUM>");
}

static void test_repeated_message_is_one_template(void **state)
{
    (void)state;
    struct template_miner *m = template_miner_new();
    char msg[256], ts[64];
    size_t index = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(msg, sizeof msg, "cache miss for key user:%d (id 5f3a%04x9e) after %dms from 10.1.%d.%d",
                 i * 13, i, i % 90, i % 250, (i * 7) % 250);
        snprintf(ts, sizeof ts, "2026-11-21T14:22:%02d.%06dZ", i / 60, i);
        size_t t = template_miner_add(m, msg, i % 2 ? "api" : "worker", i == 250 ? 2 : 1, ts);
        if (i == 0)
            index = t;
        assert_int_equal(t, index);
    }
    template_miner_add(m, "connected to the database", "api", 1, "t1");
    template_miner_add(m, "connected to the database", "api", 1, "t2");
    template_miner_add(m, "disk full on /dev/sda1", "api", 3, "t3");
    assert_int_equal(template_miner_count(m), 3);
    const struct template *t = template_miner_get(m, index);
    assert_int_equal(t->count, 500);
    assert_string_equal(t->text, "cache miss for key user:<NUM> (id <HEX>) after <DUR> from <IP>");
    assert_int_equal(t->service_count, 2);
    assert_int_equal(t->max_level, 2);
    assert_string_equal(t->first, "2026-11-21T14:22:00.000000Z");
    assert_string_equal(t->last, "2026-11-21T14:22:08.000499Z");
    assert_non_null(strstr(t->example, "user:0 "));
    template_miner_free(m);
}

static void test_drain_wildcards(void **state)
{
    (void)state;
    struct template_miner *m = template_miner_new();
    size_t a = template_miner_add(m, "user alice logged in from web", "s", 1, "t");
    size_t b = template_miner_add(m, "user bob logged in from web", "s", 1, "t");
    size_t c = template_miner_add(m, "payment declined for card holder", "s", 3, "t");
    size_t d = template_miner_add(m, "", "s", 1, "t");
    size_t e = template_miner_add(m, NULL, "s", 1, "t");
    assert_int_equal(a, b);
    assert_true(c != a);
    assert_int_equal(d, e);
    assert_string_equal(template_miner_get(m, a)->text, "user <*> logged in from web");
    assert_int_equal(template_miner_get(m, a)->count, 2);
    assert_null(template_miner_get(m, 99));
    template_miner_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_repeated_message_is_one_template),
        cmocka_unit_test(test_drain_wildcards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
