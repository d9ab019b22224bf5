/*
 * console_assets.h - the web console's files (src/console/assets), compiled into the binary.
 *
 * The table is generated at build time by scripts/embed-assets into build/gen/console_assets.c
 * (never committed): the console needs nothing on disk and nothing from the network. Read-only,
 * any thread.
 */
#ifndef SG_CONSOLE_ASSETS_H
#define SG_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct console_asset {
    const char *name;         /* base name: "index.html", "app.js" */
    const unsigned char *data; /* len bytes, followed by a NUL */
    size_t len;
    const char *type;         /* Content-Type */
} console_asset;

/* Ended by an entry whose name is NULL. */
extern const console_asset console_assets[];

#endif
