#!/usr/bin/env bash
# bench/kannel/install.sh - installs what bench/compare.mjs compares against and loads with:
# Debian's `kannel` (bearerbox, smsbox) and `wrk`, with apt-get, only when missing. The
# package's own init script may start a system-wide bearerbox on ports 13000-13013; the
# benchmark runs its own boxes on free ports with its own configuration, so that one is left
# alone.
set -euo pipefail
missing=()
command -v bearerbox >/dev/null 2>&1 && command -v smsbox >/dev/null 2>&1 || missing+=(kannel)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bench/kannel/install.sh: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
