/*
 * web_assets.c - finds a file of the live page by its URL path. The bytes
 * themselves are assembled into ulogd by web_assets_data.S; this file only
 * gives each one its path and content type.
 */
#include "web_assets.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* web_assets_data.S's symbols: each file's bytes and its size. */
#define ASSET_SYMBOLS(name)                                                                  \
    extern const unsigned char web_asset_##name##_data[];                                   \
    extern const uint64_t web_asset_##name##_size
ASSET_SYMBOLS(index_html);
ASSET_SYMBOLS(app_js);
ASSET_SYMBOLS(chart_js);
ASSET_SYMBOLS(text_js);
ASSET_SYMBOLS(style_css);

#define HTML "text/html; charset=utf-8"
#define SCRIPT "text/javascript; charset=utf-8"
#define STYLE "text/css; charset=utf-8"
#define ASSET(path, type, name) {path, type, web_asset_##name##_data, &web_asset_##name##_size}

/* The sizes are data the assembler wrote, not C constants, so the table the
 * callers get is filled from this one once, on first use. */
static const struct {
    const char *path, *content_type;
    const unsigned char *data;
    const uint64_t *size;
} sources[] = {
    ASSET("/index.html", HTML, index_html), ASSET("/app.js", SCRIPT, app_js),
    ASSET("/chart.js", SCRIPT, chart_js),   ASSET("/text.js", SCRIPT, text_js),
    ASSET("/style.css", STYLE, style_css),
};
enum { ASSET_COUNT = sizeof sources / sizeof sources[0] };

static struct web_asset assets[ASSET_COUNT];
static pthread_once_t assets_once = PTHREAD_ONCE_INIT;

static void fill_assets(void)
{
    for (size_t i = 0; i < ASSET_COUNT; i++)
        assets[i] = (struct web_asset){sources[i].path, sources[i].content_type, sources[i].data,
                                       (size_t)*sources[i].size};
}

const struct web_asset *web_asset_find(const char *path)
{
    if (!path)
        return NULL;
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (size_t i = 0; i < ASSET_COUNT; i++) {
        if (strcmp(path, sources[i].path) == 0) {
            pthread_once(&assets_once, fill_assets);
            return &assets[i];
        }
    }
    return NULL;
}
