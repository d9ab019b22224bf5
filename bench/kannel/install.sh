#!/usr/bin/env bash
# bench/kannel/install.sh - installs what bench/compare.mjs compares against and loads with,
# Debian's `kannel` (bearerbox, smsbox) and `wrk`, through `scripts/setup --bench` (apt-get,
# only what is missing). The package's own init script may start a system-wide bearerbox on
# ports 13000-13013; the benchmark runs its own boxes on free ports with its own
# configuration (bench/kannel/kannel.conf.in), so that one is left alone.
set -euo pipefail
if command -v bearerbox >/dev/null 2>&1 && command -v smsbox >/dev/null 2>&1 &&
    command -v wrk >/dev/null 2>&1; then
    exit 0
fi
exec "$(dirname "$0")/../../scripts/setup" --bench
