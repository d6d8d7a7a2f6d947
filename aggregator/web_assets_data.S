/*
 * web_assets_data.S - aggregator/web/'s files as read-only data in ulogd
 * (web_assets.c names them; this file is not web_assets.S because both
 * would build into web_assets.o). .incbin paths are relative to the
 * directory make runs in, the repository's top; the Makefile lists the
 * files as prerequisites, since the preprocessor cannot see them.
 *
 * Each file gets a start symbol and its size as a 64-bit value computed by
 * the assembler, so no terminator or end symbol arithmetic is needed in C.
 */
#define WEB_ASSET(name, file)                                   \
    .globl web_asset_##name##_data;                             \
    .type web_asset_##name##_data, @object;                     \
    .globl web_asset_##name##_size;                             \
    .type web_asset_##name##_size, @object;                     \
    .balign 16;                                                 \
web_asset_##name##_data:                                        \
    .incbin file;                                               \
1:                                                              \
    .size web_asset_##name##_data, 1b - web_asset_##name##_data; \
    .balign 8;                                                  \
web_asset_##name##_size:                                        \
    .quad 1b - web_asset_##name##_data;                         \
    .size web_asset_##name##_size, 8

    .section .rodata
WEB_ASSET(index_html, "aggregator/web/index.html")
WEB_ASSET(app_js, "aggregator/web/app.js")
WEB_ASSET(chart_js, "aggregator/web/chart.js")
WEB_ASSET(text_js, "aggregator/web/text.js")
WEB_ASSET(style_css, "aggregator/web/style.css")

    .section .note.GNU-stack,"",@progbits
