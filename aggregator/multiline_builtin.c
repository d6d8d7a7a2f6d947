/*
 * multiline_builtin.c - the rules of the built-in multiline formats.
 *
 * Each was written against real output, kept under tests/fixtures/multiline/
 * (its README.md says how each was produced), and against the near misses
 * that must stay single lines. Every format's level is ERROR: the level a
 * block gets when its own text names none (a Go goroutine dump, a Node
 * "/app/x.js:12" header), since a trace is printed because something failed.
 */
#include <string.h>

#include "multiline_formats.h"
#include "ulog/level.h"

/* Python: tracebacks with their chained causes ("The above exception was the
 * direct cause...", "During handling..."), 3.11 exception groups, and the
 * thread / "Exception ignored in" preambles. Not: exception messages that span
 * lines, or add_note() notes (free text after the exception line). */
static const struct multiline_rule_spec python_rules[] = {
    {"start_state", "^Traceback \\(most recent call last\\):$", "py_frames"},
    {"start_state", "^\\s*\\+ Exception Group Traceback \\(most recent call last\\):$", "py_group"},
    {"start_state", "^(?:Exception ignored in: .*|Exception in thread [^\"\\s].*:)$", "py_preamble"},
    {"py_preamble", "^Traceback \\(most recent call last\\):$", "py_frames"},
    {"py_frames", "^[ \\t]+\\S", "py_frames"},
    {"py_frames", "^(?:[A-Za-z_][\\w.]*: .*|(?:[A-Za-z_]\\w*\\.)*[A-Z]\\w*)$", "py_exception"},
    {"py_exception", "^$", "py_gap"},
    {"py_gap",
     "^(?:The above exception was the direct cause of the following exception"
     "|During handling of the above exception, another exception occurred):$",
     "py_chain"},
    {"py_chain", "^$", "py_chain_gap"},
    {"py_chain_gap", "^Traceback \\(most recent call last\\):$", "py_frames"},
    {"py_chain_gap", "^\\s*\\+ Exception Group Traceback \\(most recent call last\\):$",
     "py_group"},
    {"py_group", "^\\s*[|+]", "py_group"},
    {"py_group", "^$", "py_gap"},
};

/* JVM (Java, Kotlin, Scala): a dotted throwable class (…Exception, …Error,
 * …Throwable) or "Exception in thread", then "at" frames, "... N more",
 * logback's "... N common frames omitted", "Caused by:", "Suppressed:".
 * Not: a first line that names no such class (a logger's message line joins
 * as the lead when it came in the same write), or multi-line messages. */
static const struct multiline_rule_spec java_rules[] = {
    {"start_state",
     "^(?:[A-Za-z_$][\\w$]*\\.)+[A-Za-z_$][\\w$]*(?:Exception|Error|Throwable)(?:: .*)?$",
     "java_frames"},
    {"start_state", "^Exception in thread \"[^\"]*\" \\S", "java_frames"},
    {"java_frames", "^\\s+at \\S", "java_frames"},
    {"java_frames", "^\\s+\\.\\.\\. \\d+ (?:more|common frames omitted)$", "java_frames"},
    {"java_frames", "^\\s*Caused by: \\S", "java_frames"},
    {"java_frames", "^\\s+Suppressed: \\S", "java_frames"},
    {"java_frames", "^\\s+\\[CIRCULAR REFERENCE: ", "java_frames"},
};

/* Go: "panic:" (with [recovered] re-panics and the [signal ...] line),
 * "fatal error:", net/http's "http: panic serving", a signal dump (SIGQUIT:
 * every goroutine, then the registers), and a bare goroutine stack
 * (debug.PrintStack). Not: multi-line panic values. */
#define GO_GOROUTINE "^goroutine \\d+ \\[[^\\]]+\\]:$"
#define GO_REGISTER "^[a-z][a-z0-9]*\\s+0x[0-9a-f]+$"
static const struct multiline_rule_spec go_rules[] = {
    {"start_state", "^(?:panic|fatal error): ", "go_header"},
    {"start_state", "^(?:\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)? )?http: panic serving ",
     "go_header"},
    {"start_state", "^SIG[A-Z0-9]+: \\S", "go_header"},
    {"start_state", GO_GOROUTINE, "go_frames"},
    {"go_header", "^(?:\\[signal |\\tpanic: |PC=0x[0-9a-f]+ |signal arrived during )",
     "go_header"},
    {"go_header", "^$", "go_gap"},
    {"go_header", GO_GOROUTINE, "go_frames"},
    {"go_gap", GO_GOROUTINE, "go_frames"},
    {"go_gap", "^runtime stack:$", "go_frames"},
    {"go_gap", GO_REGISTER, "go_registers"},
    {"go_frames", "^\\t\\S", "go_frames"},
    {"go_frames", "^created by \\S", "go_frames"},
    {"go_frames", "^\\.\\.\\.additional frames elided\\.\\.\\.$", "go_frames"},
    {"go_frames", "^\\S+\\(.*\\)$", "go_frames"},
    {"go_frames", "^$", "go_gap"},
    {"go_registers", GO_REGISTER, "go_registers"},
};

/* Node.js: an Error line ("TypeError: x", "Error [ERR_X]: y") with its
 * "    at" frames and the { [cause]: ... } properties util.inspect prints
 * after them (console.error(err)); and the uncaught-exception report: the
 * "/path/file.js:12" header, the source line, the caret line, a blank, the
 * error, and the "Node.js vNN" trailer. Not: errors whose message spans
 * lines, or an "Uncaught" REPL prefix. */
static const struct multiline_rule_spec node_rules[] = {
    {"start_state", "^(?:[A-Z][\\w$]*)?(?:Error|Exception)(?: \\[[\\w$]+\\])?(?:: |$)",
     "node_frames"},
    {"start_state", "^(?:(?:file://)?/\\S+\\.[cm]?[jt]sx?|node:[\\w/.-]+):\\d+$", "node_source"},
    {"node_source", "^", "node_caret"},
    {"node_caret", "^\\s*\\^+\\s*$", "node_gap"},
    {"node_gap", "^$", "node_error"},
    {"node_error", "^\\S", "node_frames"},
    {"node_frames", "^\\s+at \\S.* \\{$", "node_props"},
    {"node_frames", "^\\s+at \\S", "node_frames"},
    {"node_frames", "^\\(Use `node --trace-", "node_frames"},
    {"node_frames", "^$", "node_trailer"},
    {"node_props", "^\\s+\\S", "node_props"},
    {"node_props", "^\\}$", "node_frames"},
    {"node_trailer", "^Node\\.js v\\d+", "end"},
};

/* Sanitizers: an ASan / LSan / MSan report from its "=====" ruler or its
 * "==PID==ERROR:" line to "==PID==ABORTING" (through the shadow-byte map) or
 * to its SUMMARY; a TSan warning between its two rulers; ASan's
 * ":DEADLYSIGNAL" lines; a UBSan "file:L:C: runtime error:" line with the
 * stack print_stacktrace=1 adds. Not: "==PID==WARNING:" one-liners that open
 * no report, or text other tools print inside a report. */
#define SAN_ABORTING "^==\\d+==ABORTING$"
#define SAN_RULER "^={18,}$"
static const struct multiline_rule_spec sanitizer_rules[] = {
    {"start_state", SAN_RULER, "san_open"},
    {"start_state", "^==\\d+==ERROR: \\w*Sanitizer", "san_body"},
    {"start_state", "^[A-Z][a-z]+Sanitizer:DEADLYSIGNAL$", "san_deadly"},
    {"start_state", "^[\\w./~-][^\\s:]*:\\d+:\\d+: runtime error: ", "ubsan_frames"},
    {"san_deadly", "^[A-Z][a-z]+Sanitizer:DEADLYSIGNAL$", "san_deadly"},
    {"san_deadly", SAN_RULER, "san_open"},
    {"san_open", "^(?:==\\d+==)?(?:ERROR|WARNING): \\w*Sanitizer", "san_body"},
    {"san_body", SAN_ABORTING, "end"},
    {"san_body", "^SUMMARY: \\w*Sanitizer: ", "san_summary"},
    {"san_body",
     "^(?:$|\\s|==\\d+==|(?:READ|WRITE) of size |0x[0-9a-f]+ is located |Address 0x"
     "|(?:Direct|Indirect) leak of |HINT: |Thread T\\d+ |\\w*Sanitizer|Objects leaked above:"
     "|\\S.* (?:here|at):$)",
     "san_body"},
    {"san_summary", SAN_ABORTING, "end"},
    {"san_summary", SAN_RULER, "end"},
    {"san_summary", "^Shadow bytes around the buggy address:$", "san_shadow"},
    {"san_shadow", SAN_ABORTING, "end"},
    {"san_shadow",
     "^(?:(?:=>|  )0x[0-9a-f]+:|Shadow byte legend|  [A-Z][\\w ]+:(?: +[0-9a-f]{2})+ *$)",
     "san_shadow"},
    {"ubsan_frames", "^\\s+#\\d+ ", "ubsan_frames"},
    {"ubsan_frames", "^SUMMARY: UndefinedBehaviorSanitizer: ", "end"},
};

/* PEM private keys: a program that prints a key prints it line by line, and
 * redaction sees one record at a time; joined, the whole block is one record
 * and the private_key redaction pattern removes its body. Its level is left
 * to the text (-1): a key is a leak, not a failure. The BEGIN line must be a
 * line of its own (as PEM writes it): an unanchored start rule would be
 * tried at every byte of every line. Not: keys whose lines arrive on
 * different streams or threads. */
static const struct multiline_rule_spec pem_rules[] = {
    {"start_state", "^\\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----\\s*$", "pem_body"},
    {"pem_body", "^\\s*-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----", "end"},
    {"pem_body", "^[A-Za-z0-9+/=\\s]*$|^[A-Za-z-]+: ", "pem_body"},
};

#define BUILTIN(name, level, rules) {name, level, rules, sizeof rules / sizeof rules[0]}
static const struct {
    const char *name;
    int level;
    const struct multiline_rule_spec *rules;
    size_t count;
} builtins[] = {
    BUILTIN("python", ULOG_ERROR, python_rules), BUILTIN("java", ULOG_ERROR, java_rules),
    BUILTIN("go", ULOG_ERROR, go_rules),         BUILTIN("node", ULOG_ERROR, node_rules),
    BUILTIN("sanitizer", ULOG_ERROR, sanitizer_rules), BUILTIN("pem", -1, pem_rules),
};

const char *const multiline_builtin_names[] = {"python", "java", "go", "node", "sanitizer",
                                               "pem", NULL};

const struct multiline_rule_spec *multiline_builtin_rules(const char *name, size_t *count,
                                                          int *level)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0) {
            *count = builtins[i].count;
            *level = builtins[i].level;
            return builtins[i].rules;
        }
    return NULL;
}
