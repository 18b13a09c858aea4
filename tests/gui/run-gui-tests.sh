#!/bin/sh
# Runs the GUI tests (DESIGN.md, "Tests") in a throwaway desktop session:
# an Xvfb display, a private D-Bus session bus, a gnome-keyring-daemon whose
# login keyring is unlocked with a test password, and accessibility on, so
# dogtail drives the real app through AT-SPI.
#
#   tests/gui/run-gui-tests.sh tests/gui/test_queue.py     TAP on stdout
#   tests/gui/run-gui-tests.sh --exec COMMAND [ARG...]     any command in
#                                                          the same session
#
# The session has its own HOME and XDG directories under $MB_TEST_TMPDIR
# (default /var/tmp), removed afterwards; nothing of the caller's bus,
# keyring or display is reachable.  AT-SPI with GTK 3 on Debian 12: GTK
# loads atk-bridge itself (unless NO_AT_BRIDGE=1), the bridge D-Bus-
# activates at-spi-bus-launcher (org.a11y.Bus) on the session bus, and
# dogtail refuses to run unless org.gnome.desktop.interface
# toolkit-accessibility is true (set here through dconf, which the session
# bus activates).  The app reads its translations from $MB_LOCALEDIR
# (default $MB_BUILDDIR/po).  Screenshots go to $MB_ARTIFACTS_DIR (default
# $MB_BUILDDIR/screenshots, else build/screenshots).  Without the tools it
# prints a TAP skip plan and exits 0.
set -eu

if [ "${1:-}" = "--inner" ]; then
  shift
  exec 1>&3 3>&-
  # Inside Xvfb and the private bus.
  gsettings set org.gnome.desktop.interface toolkit-accessibility true
  printf %s testpass |
    gnome-keyring-daemon --unlock --components=secrets \
      >/dev/null 2>"$MB_GUI_DIR/gnome-keyring.log"
  gdbus wait --session --timeout 30 org.freedesktop.secrets
  keyring_pid=$(gdbus call --session --dest org.freedesktop.DBus \
      --object-path /org/freedesktop/DBus \
      --method org.freedesktop.DBus.GetConnectionUnixProcessID \
      org.freedesktop.secrets 2>/dev/null | tr -dc 0-9)
  if [ -z "$keyring_pid" ]; then
    echo "Bail out! gnome-keyring-daemon did not start"
    cat "$MB_GUI_DIR/gnome-keyring.log" >&2
    exit 1
  fi
  export MB_TEST_KEYRING_BUS="$DBUS_SESSION_BUS_ADDRESS"
  status=0
  if [ "${1:-}" = "--exec" ]; then
    shift
    "$@" || status=$?
  else
    /usr/bin/python3 "$MB_GUI_TAPRUNNER" "$@" || status=$?
  fi
  kill "$keyring_pid" 2>/dev/null || true
  exit $status
fi

for tool in xvfb-run xauth dbus-run-session gdbus gsettings \
            gnome-keyring-daemon /usr/libexec/at-spi-bus-launcher; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed"
    exit 0
  fi
done
if ! /usr/bin/python3 -c 'import dogtail, pyatspi' 2>/dev/null; then
  echo "1..0 # SKIP python3-dogtail is not installed"
  exit 0
fi
if [ $# -eq 0 ]; then
  echo "usage: $0 TEST_MODULE.py | --exec COMMAND [ARG...]" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$here/../.." && pwd)
export MB_SOURCEDIR="${MB_SOURCEDIR:-$source_root}"
export MB_BUILDDIR="${MB_BUILDDIR:-$source_root/build}"
export MB_ARTIFACTS_DIR="${MB_ARTIFACTS_DIR:-$MB_BUILDDIR/screenshots}"
# The app's catalogues from the build tree (po/de/LC_MESSAGES/mailbridge.mo),
# as scripts/run-app.sh does: app/main.c binds its text domain there.
export MB_LOCALEDIR="${MB_LOCALEDIR:-$MB_BUILDDIR/po}"
export MB_GUI_TAPRUNNER="$source_root/tests/integration/taprunner.py"
mkdir -p "$MB_ARTIFACTS_DIR"

dir=$(mktemp -d "${MB_TEST_TMPDIR:-/var/tmp}/mbgui-XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -m 700 "$dir/home" "$dir/run"
export MB_GUI_DIR="$dir"
export HOME="$dir/home"
export XDG_RUNTIME_DIR="$dir/run"
export XDG_DATA_HOME="$dir/home/.local/share"
export XDG_CONFIG_HOME="$dir/home/.config"
export XDG_CACHE_HOME="$dir/home/.cache"
export XDG_CURRENT_DESKTOP=GNOME
export NO_AT_BRIDGE=0
export GTK_THEME=Adwaita
export GDK_BACKEND=x11
export PYTHONDONTWRITEBYTECODE=1
# No animations: stack cross-fades and revealers finish at once, so a
# screenshot never catches two pages half blended.
mkdir -p "$XDG_CONFIG_HOME/gtk-3.0"
printf '[Settings]\ngtk-enable-animations=false\n' \
  >"$XDG_CONFIG_HOME/gtk-3.0/settings.ini"
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK \
  DISPLAY WAYLAND_DISPLAY SESSION_MANAGER AT_SPI_BUS_ADDRESS

status=0
# The bus and the services it activates (the AT-SPI registry prints a
# line when it starts) write to stderr; only the tests' TAP reaches
# stdout, through fd 3.
xvfb-run --auto-servernum --error-file="$dir/xvfb.log" \
  --server-args="-screen 0 1280x1024x24 -nolisten tcp" \
  dbus-run-session -- "$0" --inner "$@" 3>&1 1>&2 || status=$?
exit $status
