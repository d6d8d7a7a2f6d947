/*
 * test_levels.c - level names and level detection in text (aggregator/levels.c).
 *
 * The text lines are what the libraries really print (default formats of
 * Python logging, glog, nginx, Apache, logback, log4j, Rails, Go, Rust,
 * Node, runtimes' crash reports). The negatives matter as much: prose that
 * merely mentions an error must stay without a level, or every "0 errors"
 * line would land in errors.log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "levels.h"

#define NAME(s) level_from_name(s, strlen(s))
#define DETECT(s) level_detect_text(s, strlen(s))

static void test_names_any_case(void **state)
{
    (void)state;
    const char *debug[] = {"trace", "TRACE", "verbose", "Verbose", "debug", "DEBUG", "dbug", "dbg",
                           "VRB", "fine", "Finer", "FINEST"};
    const char *info[] = {"info", "INFO", "Information", "informational", "notice", "NOTE", "inf"};
    const char *warning[] = {"warn", "WARN", "warning", "Warning", "WRN"};
    const char *error[] = {"error", "ERROR", "Error", "err", "ERR", "eror", "fail", "FAIL",
                           "SEVERE", "severe"};
    const char *critical[] = {"critical", "CRITICAL", "crit", "fatal", "Fatal", "FTL", "panic", "PNC",
                              "dpanic", "DPANIC", "emerg", "emergency", "alert", "ALERT"};
    for (size_t i = 0; i < sizeof debug / sizeof *debug; i++)
        assert_int_equal(NAME(debug[i]), ULOG_DEBUG);
    for (size_t i = 0; i < sizeof info / sizeof *info; i++)
        assert_int_equal(NAME(info[i]), ULOG_INFO);
    for (size_t i = 0; i < sizeof warning / sizeof *warning; i++)
        assert_int_equal(NAME(warning[i]), ULOG_WARNING);
    for (size_t i = 0; i < sizeof error / sizeof *error; i++)
        assert_int_equal(NAME(error[i]), ULOG_ERROR);
    for (size_t i = 0; i < sizeof critical / sizeof *critical; i++)
        assert_int_equal(NAME(critical[i]), ULOG_CRITICAL);
    assert_int_equal(NAME("  warn \t"), ULOG_WARNING);
    assert_int_equal(level_from_name("errorX", 5), ULOG_ERROR); /* the length counts, not NUL */
}

static void test_names_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", " ", "e", "E", "W", "I", "errors", "warnings", "infos", "debugging",
                         "erro", "war", "critic", "level", "ok", "success", "-1", "3.5", "1e2",
                         "100", "8", "9", "007x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(NAME(bad[i]), -1);
    assert_int_equal(level_from_name(NULL, 0), -1);
    assert_int_equal(level_from_name("error", 0), -1);
    assert_int_equal(level_from_name("er\0or", 5), -1);
}

static void test_numbers(void **state)
{
    (void)state;
    /* syslog severities */
    assert_int_equal(NAME("0"), ULOG_CRITICAL);
    assert_int_equal(NAME("1"), ULOG_CRITICAL);
    assert_int_equal(NAME("2"), ULOG_CRITICAL);
    assert_int_equal(NAME("3"), ULOG_ERROR);
    assert_int_equal(NAME("4"), ULOG_WARNING);
    assert_int_equal(NAME("5"), ULOG_INFO);
    assert_int_equal(NAME("6"), ULOG_INFO);
    assert_int_equal(NAME("7"), ULOG_DEBUG);
    /* pino / bunyan */
    assert_int_equal(NAME("10"), ULOG_DEBUG);
    assert_int_equal(NAME("20"), ULOG_DEBUG);
    assert_int_equal(NAME("30"), ULOG_INFO);
    assert_int_equal(NAME("35"), ULOG_INFO);
    assert_int_equal(NAME("39"), ULOG_INFO);
    assert_int_equal(NAME("40"), ULOG_WARNING);
    assert_int_equal(NAME("50"), ULOG_ERROR);
    assert_int_equal(NAME("59"), ULOG_ERROR);
    assert_int_equal(NAME("60"), ULOG_CRITICAL);
    assert_int_equal(NAME("70"), ULOG_CRITICAL);
    assert_int_equal(NAME(" 30 "), ULOG_INFO);
}

static void assert_detects(const char *const *lines, size_t count, int level)
{
    for (size_t i = 0; i < count; i++) {
        int got = DETECT(lines[i]);
        if (got != level)
            print_error("line %zu \"%s\": got %d, want %d\n", i, lines[i], got, level);
        assert_int_equal(got, level);
    }
}

#define DETECTS(level, ...)                                                                        \
    do {                                                                                           \
        const char *const lines_[] = {__VA_ARGS__};                                                \
        assert_detects(lines_, sizeof lines_ / sizeof *lines_, level);                             \
    } while (0)

static void test_log_library_formats(void **state)
{
    (void)state;
    DETECTS(ULOG_ERROR,
            "ERROR:root:failed to connect",                                    /* Python basicConfig */
            "2026-11-21 14:22:18,214 - app.db - ERROR - connection lost",      /* Python asctime */
            "2026/11/21 14:22:18 [error] 1#1: *1 open() \"/usr/share/nginx/html/x\" failed (2: No such file or directory)",
            "[Sat Nov 21 14:22:18.214521 2026] [core:error] [pid 4242:tid 140] [client 10.0.0.1:5678] AH00126: Invalid URI in request",
            "14:22:18.214 [main] ERROR com.example.Billing - charge failed",   /* logback */
            "2026-11-21 14:22:18,214 ERROR [main] com.example.Billing: charge failed", /* log4j */
            "E, [2026-11-21T14:22:18.214521 #4242] ERROR -- : boom",            /* Rails / Ruby Logger */
            "[2026-11-21T14:22:18Z ERROR app] could not open config",          /* Rust env_logger */
            "2026-11-21T14:22:18.214521Z ERROR app::db: pool exhausted",       /* Rust tracing */
            "error: could not compile `app` due to previous error",            /* cargo */
            "x.c:3:5: error: expected ';' before '}' token",                   /* gcc */
            "error: failed to push some refs",                                  /* git */
            "[14:22:18 ERR] Request failed",                                    /* Serilog console */
            "[2026-11-21 14:22:18,214: ERROR/MainProcess] Task failed",        /* Celery */
            "<error> disk full",
            "[Error] something",
            "(ERROR) something",
            "SEVERE: Servlet.service() threw exception",                       /* java.util.logging */
            "time=\"2026-11-21T14:22:18Z\" level=error msg=\"boom\" extra",     /* logrus text, not pure */
            "2026/11/21 14:22:18 handler: severity=ERROR took 3ms",
            "\033[31mERROR\033[0m failed to bind",                              /* coloured */
            "E1121 14:22:18.214521    4242 server.cc:12] RPC failed",           /* glog */
            "E20261121 14:22:18.214521 4242 server.cc:12] RPC failed",          /* glog with year */
            "<3>disk error");                                                   /* sd-daemon */
    DETECTS(ULOG_WARNING, "WARNING:root:low disk space",
            "W1121 14:22:18.214521  4242 reflector.go:324] watch closed",       /* klog */
            "2026/11/21 14:22:18 [warn] 7#7: *3 an upstream response is buffered",
            "warning: unused variable 'x' [-Wunused-variable]",
            "x.c:1:5: warning: unused variable 'x'",
            "[Sat Nov 21 14:22:18 2026] [warn] mod_ssl: certificate expires",
            "  WARN  [main] o.a.k.c.NetworkClient - connection refused",
            "/app/x.py:3: DeprecationWarning: datetime.utcnow() is deprecated",
            "lvl=warn msg=\"slow query\" took=3s", "<4>low memory", "<12>user warning");
    DETECTS(ULOG_INFO, "INFO:     Started server process [4242]",      /* uvicorn */
            "INFO:root:started", "2026-11-21T14:22:18.214521Z  INFO app: listening on :8080",
            "I1121 14:22:18.214521  4242 main.go:42] Starting", "info: hello {\"a\":1}", /* winston */
            "[2026-11-21 14:22:18] production.INFO: order placed", /* Laravel/monolog */
            "NOTICE: database system is ready", "<6>started", "<30>daemon info");
    DETECTS(ULOG_DEBUG, "DEBUG:urllib3.connectionpool:Starting new HTTPS connection (1): x:443",
            "[Sat Nov 21 14:22:18 2026] [authz_core:trace3] [pid 1] AH01626: authorization result",
            "D 14:22 [debug] cache hit", "<7>details", "loglevel=debug cache miss");
    DETECTS(ULOG_CRITICAL, "CRITICAL:root:out of memory", "F1121 14:22:18.214521  4242 main.cc:9] Check failed",
            "2026/11/21 14:22:18 [emerg] 1#1: bind() to 0.0.0.0:80 failed", "FATAL: role \"x\" does not exist",
            "fatal: not a git repository (or any of the parent directories): .git",
            "<2>critical", "<0>emergency", "<8>user emerg");
}

static void test_crash_openers(void **state)
{
    (void)state;
    DETECTS(ULOG_ERROR, "Traceback (most recent call last):",
            "Exception in thread \"main\" java.lang.IllegalStateException: boom",
            "Uncaught TypeError: Cannot read properties of undefined (reading 'x')",
            "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010",
            "==4242==ERROR: LeakSanitizer: detected memory leaks",
            "WARNING: ThreadSanitizer: data race (pid=4242)",
            "x.c:5:3: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'",
            "java.lang.IllegalStateException: boom", "java.lang.NullPointerException",
            "ValueError: bad value", "TypeError: x is not a function", "Error: ENOENT: no such file",
            "KeyError: 'user'", "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='x')",
            "[main] java.io.IOException: stream closed");
    DETECTS(ULOG_CRITICAL, "panic: runtime error: index out of range [5] with length 3",
            "fatal error: all goroutines are asleep - deadlock!", "Segmentation fault",
            "Segmentation fault (core dumped)", "Aborted (core dumped)", "Aborted",
            "Bus error (core dumped)", "thread 'main' panicked at src/main.rs:2:5:");
}

static void test_prose_has_no_level(void **state)
{
    (void)state;
    DETECTS(-1, "", "   ", "no errors found", "error handling improved", "Error handling improved",
            "Information retrieval", "information retrieval is fun", "All 12 tests passed",
            "2026/11/21 14:22:18 http: TLS handshake error from 10.0.0.1:5678: EOF", /* Go log */
            "  app:server listening on 3000 +0ms",                                    /* Node debug */
            "127.0.0.1 - - [21/Nov/2026:14:22:18 +0000] \"GET /errors HTTP/1.1\" 500 12", /* access */
            "Processed 3 items with 0 warnings", "the level=high is not a level", "level=",
            "Handling the errors: none", "errors: 0", "Warnings: 0 (ok)",
            "user selected [warning colours] theme",
            "we had only one small WARN and two more things here and then ERROR much later in the line",
            "Segmentation fault in the parser is fixed", "Aborted by user", "panic attack",
            "Tracebacks are helpful", "fatal errors are rare", "<99999>x", "<>x", "<3x",
            "E112 14:22:18 short", "E1121 1422:18 no", "X1121 14:22:18.0 x",
            "MyErrorHandler started", "ErrorCount: 3 things", "thread 'main' finished",
            "==4242== Memcheck, a memory error detector", "x.c:5: runtime errors are bad",
            "\033", "\033[", "(", "<", "[", "a=b=c");
    /* Only the head is read: a level word after 256 bytes is not seen. */
    char long_line[400];
    memset(long_line, 'x', sizeof long_line);
    memcpy(long_line + 300, " level=error ", 13);
    assert_int_equal(level_detect_text(long_line, sizeof long_line), -1);
    memcpy(long_line + 100, " level=error ", 13);
    assert_int_equal(level_detect_text(long_line, sizeof long_line), ULOG_ERROR);
    assert_int_equal(level_detect_text(NULL, 0), -1);
    assert_int_equal(level_detect_text("ERROR", 3), ULOG_ERROR); /* "ERR" */
    assert_int_equal(level_detect_text("WARNING", 2), -1);
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    char buf[8] = {'W', 'A', 'R', 'N', 'X', 'X', 'X', 'X'};
    assert_int_equal(level_detect_text(buf, 4), ULOG_WARNING);
    assert_int_equal(level_detect_text(buf, 8), -1);
    char nul[] = "ERROR\0 x";
    assert_int_equal(level_detect_text(nul, sizeof nul - 1), -1); /* "ERROR\0" is one token */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_any_case),    cmocka_unit_test(test_names_refused),
        cmocka_unit_test(test_numbers),           cmocka_unit_test(test_log_library_formats),
        cmocka_unit_test(test_crash_openers),     cmocka_unit_test(test_prose_has_no_level),
        cmocka_unit_test(test_not_nul_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
