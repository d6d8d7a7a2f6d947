/*
 * rules_route.c - the route action: a file name made from a template, per
 * record (see rules.h for what a template may hold).
 *
 * A route name becomes a file name in the log directory, so the template is
 * checked when the configuration is read (no way out of the directory, no
 * clash with all.log or errors.log) and split then into static text and
 * {field} placeholders. Rendering is copying that text and each value, made
 * safe byte by byte and cut to fit ROUTE_NAME_MAX, into a stack buffer: a
 * value can neither add a '.' nor be empty, so no record makes a name the
 * check would have refused; one that comes out as all.log or errors.log is
 * simply not routed. Apart from rules.c because it is a file-naming policy,
 * not matching.
 */
#include "rules_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "draft.h"

#define ROUTE_TEMPLATE_MAX 100
#define ROUTE_NAME_MAX 240
#define ROUTE_VALUE_MAX 64

void rules_route_free(struct route *rt)
{
    for (size_t j = 0; j < rt->count; j++) {
        free(rt->segments[j].text);
        field_ref_free(&rt->segments[j].field);
    }
    free(rt->segments);
}

/* ASCII only, whatever the locale: these bytes become file names. */
static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static bool route_char(char c)
{
    return name_char(c) || c == '.';
}

static void add_text(struct route *rt, const char *text, size_t len)
{
    struct segment *s = PUSH(rt->segments, rt->count, rt->cap);
    s->text = must_strndup(text, len);
    s->len = len;
    rt->static_len += len;
}

static int parse_route(struct route *rt, const char *t, char *err, size_t err_size)
{
    size_t len = strlen(t);
    const char *why = NULL;
    if (len == 0 || len > ROUTE_TEMPLATE_MAX)
        why = "a route name has 1 to 100 bytes";
    else if (t[0] == '.')
        why = "a route name cannot start with '.'";
    else if (strstr(t, ".."))
        why = "a route name cannot contain \"..\"";
    bool has_dot = false;
    for (const char *p = t; !why && *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close || close == p + 1) {
                why = close ? "empty {} in route name" : "unclosed { in route name";
                break;
            }
            char name[ROUTE_TEMPLATE_MAX + 1];
            memcpy(name, p + 1, (size_t)(close - p - 1));
            name[close - p - 1] = '\0';
            struct segment *s = PUSH(rt->segments, rt->count, rt->cap);
            char why_field[256];
            if (field_ref_parse(&s->field, name, why_field, sizeof why_field) != 0) {
                snprintf(err, err_size, "route \"%s\" refused: %s", t, why_field);
                return -1;
            }
            rt->placeholders++;
            p = close + 1;
            continue;
        }
        size_t n = 0;
        while (p[n] && p[n] != '{' && route_char(p[n]))
            n++;
        if (n == 0) {
            why = "a route name has only letters, digits, '.', '_', '-' and {field}";
            break;
        }
        has_dot |= memchr(p, '.', n) != NULL;
        add_text(rt, p, n);
        p += n;
    }
    if (!why && !has_dot)
        add_text(rt, ".log", 4);
    char whole[ROUTE_TEMPLATE_MAX + 5] = "";
    for (size_t i = 0; !why && rt->placeholders == 0 && i < rt->count; i++)
        strcat(whole, rt->segments[i].text);
    if (!why && (!strcmp(whole, "all.log") || !strcmp(whole, "errors.log")))
        why = "all.log and errors.log are always written";
    if (why) {
        snprintf(err, err_size, "route \"%s\" refused: %s", t, why);
        return -1;
    }
    return 0;
}

int rule_action_route(struct rule *rule, const char *name_template, char *err, size_t err_size)
{
    struct route *rt = PUSH(rule->routes, rule->route_count, rule->route_cap);
    if (parse_route(rt, name_template, err, err_size) == 0)
        return 0;
    rules_route_free(rt);
    rule->route_count--;
    return -1;
}

void rules_route_render(const struct route *rt, struct draft *d)
{
    char name[ROUTE_NAME_MAX + 1], scratch[64];
    /* Every placeholder gets at least one byte: no empty part can make a ".." */
    size_t len = 0, budget = ROUTE_NAME_MAX - rt->static_len, later = rt->placeholders;
    for (size_t i = 0; i < rt->count; i++) {
        const struct segment *s = &rt->segments[i];
        if (s->text) {
            memcpy(name + len, s->text, s->len);
            len += s->len;
            continue;
        }
        size_t n;
        const char *v = draft_get(d, &s->field, &n, scratch);
        if (!v || n == 0)
            v = "unknown", n = 7;
        later--;
        n = n < ROUTE_VALUE_MAX ? n : ROUTE_VALUE_MAX;
        n = n < budget - later ? n : budget - later;
        budget -= n;
        for (size_t j = 0; j < n; j++)
            name[len++] = name_char(v[j]) ? v[j] : '_';
    }
    name[len] = '\0';
    if (strcmp(name, "all.log") != 0 && strcmp(name, "errors.log") != 0)
        draft_add_route(d, name);
}
