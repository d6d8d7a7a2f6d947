/*
 * web_assets.h - the live page's files (aggregator/web/), built into ulogd
 * by web_assets_data.S so that the binary alone serves the page: no directory to
 * install, nothing on disk an attacker could swap.
 */
#ifndef ULOGD_WEB_ASSETS_H
#define ULOGD_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path;           /* as requested: "/app.js" */
    const char *content_type;   /* with its charset: "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t size;
};

/* The asset served at `path` (the URL path, query already removed): "/" and
 * "/index.html" are the page. NULL for any other path. */
const struct web_asset *web_asset_find(const char *path);

#endif
