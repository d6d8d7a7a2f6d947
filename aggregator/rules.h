/*
 * rules.h - the user's rules: match fields, then drop, keep, set, redact,
 * route or rate-limit; and the minimum levels per service and component.
 *
 * Rules are data, not a language: a rule is a list of field conditions that
 * must all hold and a list of actions. The configuration reader builds them
 * once (every regex compiled and JIT-ed here, every mistake refused with a
 * reason); the pipeline then runs every record through them in order, so
 * what an earlier rule sets is what a later rule sees.
 *
 * Within one matching rule the actions run in a fixed order, whatever order
 * the file wrote them in: rate_limit (over the limit: the record is dropped
 * and nothing else runs), set, redact, route, then keep or drop, which end
 * the evaluation. Rules that do not match run nothing.
 */
#ifndef ULOGD_RULES_H
#define ULOGD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "draft.h"
#include "ulog/level.h"

/* Rate-limit drops are summed and reported this often per (rule, service). */
#define RULES_REPORT_INTERVAL_NS 10000000000ull

struct rule_set;
struct rule;

struct rule_set *rule_set_new(void);
void rule_set_free(struct rule_set *set);
size_t rule_set_count(const struct rule_set *set);
/* A new empty rule at the end; fill it, then rule_finish it (an unfinished rule never runs). */
struct rule *rule_set_append(struct rule_set *set);

/*
 * Conditions; all of a rule's must hold. A field named twice must satisfy
 * both. `values`: any one of them. Value forms: "text" exact (bytes);
 * "~regex" PCRE2, unanchored, UTF-8 (bytes that are not UTF-8 never match a
 * character but do not stop the match); for level: "WARNING" and ">=WARNING",
 * ">ERROR", "<=INFO", "<INFO", "!=DEBUG", "=INFO" (names any case, aliases
 * warn, err, crit, fatal); for pid/tid: decimal. An absent field matches no
 * value.
 */
int rule_match_values(struct rule *rule, const char *field, const char *const *values,
                      size_t count, char *err, size_t err_size);
/* The field is there (true) or not (false); see draft_has. */
int rule_match_presence(struct rule *rule, const char *field, bool present, char *err,
                        size_t err_size);

/* Actions. */
int rule_action_drop(struct rule *rule, char *err, size_t err_size);
int rule_action_keep(struct rule *rule, char *err, size_t err_size);
/* Checked here: the field must be settable (not pid, tid, context), a level must be a level. */
int rule_action_set(struct rule *rule, const char *field, const char *value, char *err,
                    size_t err_size);
/*
 * In the message and every string of the metadata (recursively), each match
 * replaced (pcre2_substitute, global). replacement NULL = "[REDACTED]"; $1,
 * ${name} and $$ as in pcre2_substitute, checked against the regex's groups.
 */
int rule_action_redact(struct rule *rule, const char *regex, const char *replacement,
                       char *err, size_t err_size);
/*
 * A file in the log directory the record is also written to. Static text is
 * [A-Za-z0-9._-], does not start with '.', has no "..", at most 100 bytes;
 * ".log" is appended when the static text has no '.'. {field} placeholders
 * (any field name) are filled from the record with every byte outside
 * [A-Za-z0-9_-] made '_', an absent value made "unknown", each cut at 64
 * bytes and together cut to keep the name within 240 bytes. all, all.log, errors, errors.log
 * are refused (those files exist already); a rendered name equal to one of
 * them is not routed.
 */
int rule_action_route(struct rule *rule, const char *name_template, char *err,
                      size_t err_size);
/*
 * A token bucket per service (NULL service counts as ""), per rule: at most
 * `burst` records at once, refilled at `per_second`. burst 0 means
 * per_second; a bucket always holds at least one record.
 */
int rule_action_rate_limit(struct rule *rule, double per_second, double burst, char *err,
                           size_t err_size);
/* At least one action; drop with any other action (keep included) is refused. */
int rule_finish(struct rule *rule, char *err, size_t err_size);

/*
 * Per-service / per-component minimum levels ("levels:" in YAML). Setting a
 * name again replaces its level. 0, or -1 for an empty name.
 */
int rule_set_min_level(struct rule_set *set, bool component, const char *name,
                       enum ulog_level level);
/*
 * The record's minimum level, -1 when none applies. A component's own entry
 * wins, then its nearest dotted ancestor's ("app.db" covers "app.db.pool", as
 * logger hierarchies do), then the service's.
 */
int rule_set_min_level_for(const struct rule_set *set, const struct draft *d);

enum rule_verdict { RULES_PASS, RULES_KEEP, RULES_DROP, RULES_RATE_LIMITED };
/* Run `d` through the rules; RULES_KEEP also sets d->kept. */
enum rule_verdict rule_set_apply(struct rule_set *set, struct draft *d, uint64_t now_ns);

/*
 * Rate-limit drops: RULES_REPORT_INTERVAL_NS after the first unreported drop
 * of a (rule, service), `report` is called once for it with the count since
 * its last report. rule_index counts from 0 in append order; service is ""
 * when the records had none, "(other services)" past 1024 services a rule
 * tracks at once. Returns the next
 * deadline, UINT64_MAX when nothing is waiting.
 */
typedef void rate_limit_report_fn(void *ctx, size_t rule_index, const char *service,
                                  uint64_t dropped, double per_second);
uint64_t rule_set_report(struct rule_set *set, uint64_t now_ns, rate_limit_report_fn *report,
                         void *ctx);
uint64_t rule_set_next_report(const struct rule_set *set); /* UINT64_MAX: nothing waiting */
/*
 * On reload: `to` takes over `from`'s unreported counts (with their old rule
 * numbers and deadlines) so nothing is lost; `from` is left with none.
 */
void rule_set_take_reports(struct rule_set *to, struct rule_set *from);

#endif
