#!/bin/bash
# Installs what is needed, builds, and starts the Mailbridge app with its
# relay on the safe local default (127.0.0.1:2525 and [::1]:2525 only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${MB_BUILD_DIR:-build}
[[ -f "$build/build.ninja" ]] || meson setup "$build" >/dev/null
meson compile -C "$build"
# Run from the build tree: its compiled settings schema and translations.
build_abs=$(cd "$build" && pwd)
export GSETTINGS_SCHEMA_DIR="$build_abs/data${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}"
export MB_LOCALEDIR="$build_abs/po"
exec "$build/app/mailbridge" "$@"
