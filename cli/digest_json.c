/*
 * digest_json.c - the digest as JSON (`ulog context --json`, the MCP
 * log_context tool): the same selection as the text, records redacted again.
 *
 * JSON repeats every key, so the same content is longer than the text: the
 * records are slimmed to what a reader of a digest uses (the host, the
 * thread, the static context and the exit record's copy of the lines
 * already shown go), and the whole is held to DIGEST_JSON_FACTOR times the
 * budget — what it must drop beyond that, it drops as the text would, and
 * "cut" says so.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest_private.h"
#include "record.h"

#define DIGEST_JSON_FACTOR 2

static json_t *redacted(struct digest *d, const json_t *record, size_t keep)
{
    json_t *copy = json_deep_copy(record);
    json_object_del(copy, "host");
    json_object_del(copy, "tid");
    json_object_del(copy, "context");
    json_t *meta = json_object_get(copy, "metadata"), *last = json_object_get(meta, "last_lines");
    size_t total = json_array_size(last);
    if (total > keep) {
        while (json_array_size(last) > keep)
            json_array_remove(last, 0);
        json_object_set_new(meta, "last_lines_left_out", json_integer((json_int_t)(total - keep)));
    }
    redactor_apply_json(d->redactor, copy);
    return copy;
}

static json_t *level_counts(const size_t levels[ULOG_LEVEL_COUNT])
{
    json_t *o = json_object();
    for (int l = 0; l < ULOG_LEVEL_COUNT; l++)
        json_object_set_new(o, ulog_level_name(l), json_integer((json_int_t)levels[l]));
    return o;
}

static json_t *build_json(struct digest *d, const char *origin)
{
    char t[RECORD_TIMESTAMP_SIZE];
    json_t *root = json_object(), *window = json_object(), *services = json_array();
    json_t *templates = json_array(), *problems = json_array();

    json_object_set_new(window, "since", d->opt->since_ns ? (record_format_timestamp(d->opt->since_ns, t), json_string(t)) : json_null());
    json_object_set_new(window, "until", d->opt->until_ns ? (record_format_timestamp(d->opt->until_ns, t), json_string(t)) : json_null());
    json_object_set_new(window, "origin", json_string(origin ? origin : "?"));
    json_object_set_new(window, "service", d->opt->service ? json_string(d->opt->service) : json_null());
    json_object_set_new(window, "records", json_integer((json_int_t)d->n));
    json_object_set_new(window, "levels", level_counts(d->levels));
    json_object_set_new(window, "problems", json_integer((json_int_t)d->problems_total));
    json_object_set_new(root, "window", window);
    for (size_t i = 0; i < d->svcs_shown; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "service", json_string(d->svcs[i].name));
        json_object_set_new(s, "records", json_integer((json_int_t)d->svcs[i].total));
        json_object_set_new(s, "levels", level_counts(d->svcs[i].levels));
        json_array_append_new(services, s);
    }
    json_object_set_new(root, "services", services);
    for (size_t k = 0; k < d->problems_shown; k++) {
        size_t i = d->shown_problems[k], before[DIGEST_PRECEDING];
        size_t nb = digest_preceding(d, i, d->shown_preceding[k], before), ex = digest_exit_record(d, i);
        json_t *p = json_object(), *pre = json_array();
        json_object_set_new(p, "record", redacted(d, d->recs[i].r, nb ? 0 : DIGEST_PRECEDING));
        json_object_set_new(p, "occurrences", json_integer((json_int_t)d->occurrences[d->recs[i].tmpl]));
        for (size_t b = 0; b < nb; b++)
            json_array_append_new(pre, redacted(d, d->recs[before[b]].r, 0));
        json_object_set_new(p, "preceding", pre);
        json_object_set_new(p, "exit", ex == SIZE_MAX ? json_null() : redacted(d, d->recs[ex].r, 0));
        json_array_append_new(problems, p);
    }
    json_object_set_new(root, "problems", problems);
    for (size_t k = 0; k < d->templates_shown; k++) {
        const struct template *tp = template_miner_get(d->miner, d->shown_templates[k]);
        json_t *o = json_object(), *svc = json_array();
        json_object_set_new(o, "template", json_string(tp->text));
        json_object_set_new(o, "count", json_integer((json_int_t)tp->count));
        json_object_set_new(o, "level", tp->max_level >= 0 ? json_string(ulog_level_name(tp->max_level)) : json_null());
        for (size_t s = 0; s < tp->service_count; s++)
            json_array_append_new(svc, json_string(tp->services[s]));
        json_object_set_new(o, "services", svc);
        json_object_set_new(o, "first", json_string(tp->first ? tp->first : ""));
        json_object_set_new(o, "last", json_string(tp->last ? tp->last : ""));
        json_object_set_new(o, "example", json_string(tp->example ? tp->example : ""));
        redactor_apply_json(d->redactor, o);
        json_array_append_new(templates, o);
    }
    json_object_set_new(root, "templates", templates);
    return root;
}

static void set_cut(struct digest *d, json_t *root)
{
    json_t *cut = json_object();
    json_object_set_new(cut, "services_shown", json_integer((json_int_t)json_array_size(json_object_get(root, "services"))));
    json_object_set_new(cut, "services_total", json_integer((json_int_t)d->nsvcs));
    json_object_set_new(cut, "problems_shown", json_integer((json_int_t)json_array_size(json_object_get(root, "problems"))));
    json_object_set_new(cut, "problems_total", json_integer((json_int_t)d->problems_total));
    json_object_set_new(cut, "preceding_trimmed", json_integer((json_int_t)d->preceding_trimmed));
    json_object_set_new(cut, "templates_shown", json_integer((json_int_t)json_array_size(json_object_get(root, "templates"))));
    json_object_set_new(cut, "templates_total", json_integer((json_int_t)d->templates_total));
    json_object_set(root, "cut", cut);
    json_decref(cut);
}

static size_t json_length(struct digest *d, json_t *root)
{
    set_cut(d, root);
    char *text = json_dumps(root, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    free(text);
    return len;
}

/* Until its compact dump fits DIGEST_JSON_FACTOR budgets: drop preceding
 * records (oldest first, of the oldest problems first), then templates,
 * problems and services from the end, the text's order of priority. */
static void fit_json(struct digest *d, json_t *root)
{
    static const char *const lists[] = {"templates", "problems", "services"};
    size_t budget = d->budget * DIGEST_JSON_FACTOR;
    json_t *problems = json_object_get(root, "problems");
    for (size_t k = json_array_size(problems); k-- > 0;) {
        json_t *pre = json_object_get(json_array_get(problems, k), "preceding");
        while (json_array_size(pre) && json_length(d, root) > budget) {
            json_array_remove(pre, 0);
            d->preceding_trimmed++;
        }
    }
    while (json_length(d, root) > budget) {
        size_t l = 0;
        while (l < 3 && json_array_size(json_object_get(root, lists[l])) == 0)
            l++;
        if (l == 3)
            return; /* the window object alone: cannot be smaller */
        json_t *a = json_object_get(root, lists[l]);
        json_array_remove(a, json_array_size(a) - 1);
    }
}


json_t *digest_json(struct digest *d, const char *origin)
{
    json_t *root = build_json(d, origin);
    fit_json(d, root);
    return root;
}
