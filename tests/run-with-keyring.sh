#!/bin/sh
# Runs a command on a private D-Bus session bus with its own
# gnome-keyring-daemon (Secret Service only), whose login keyring lives in a
# throwaway directory and is unlocked with a test password:
#
#   tests/run-with-keyring.sh COMMAND [ARG...]
#
# HOME and the XDG directories point into that directory, and the session
# bus, keyring control and display variables of the caller are dropped, so
# neither the command nor the keyring daemon can reach the user's keyring.
# The command sees MB_TEST_KEYRING_BUS (the private bus address; tests
# compare it with DBUS_SESSION_BUS_ADDRESS before touching any keyring).
# The directory goes under $MB_TEST_TMPDIR (default /var/tmp) and is removed
# afterwards.  Exit status: the command's.  Without dbus-run-session or
# gnome-keyring-daemon it prints a TAP skip plan and exits 0.
set -eu

for tool in dbus-run-session gdbus gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed"
    exit 0
  fi
done
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

dir=$(mktemp -d "${MB_TEST_TMPDIR:-/var/tmp}/mbkeyring-XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -m 700 "$dir/home" "$dir/run"
export HOME="$dir/home"
export XDG_RUNTIME_DIR="$dir/run"
export XDG_DATA_HOME="$dir/home/.local/share"
export XDG_CONFIG_HOME="$dir/home/.config"
export XDG_CACHE_HOME="$dir/home/.cache"
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK \
  DISPLAY WAYLAND_DISPLAY MB_TEST_KEYRING_BUS

# Inside the private bus: start and unlock the keyring (the daemon forks
# and its first process exits once the Secret Service is on the bus), run
# the command, then end the daemon by its pid and wait until it is gone,
# so nothing writes into $dir while it is removed.  The daemon's chatter
# goes to a file, shown only when it fails to start.
export MB_KEYRING_LOG="$dir/gnome-keyring.log"
status=0
dbus-run-session -- sh -c '
  printf %s testpass |
    gnome-keyring-daemon --unlock --components=secrets \
      >/dev/null 2>"$MB_KEYRING_LOG"
  # The daemon may still be registering on the bus when its first
  # process exits: wait for the name (bounded), then ask for its pid.
  gdbus wait --session --timeout 30 org.freedesktop.secrets
  pid=$(gdbus call --session --dest org.freedesktop.DBus \
          --object-path /org/freedesktop/DBus \
          --method org.freedesktop.DBus.GetConnectionUnixProcessID \
          org.freedesktop.secrets 2>/dev/null | tr -dc 0-9)
  if [ -z "$pid" ]; then
    echo "Bail out! gnome-keyring-daemon did not start"
    cat "$MB_KEYRING_LOG" >&2
    exit 1
  fi
  export MB_TEST_KEYRING_BUS="$DBUS_SESSION_BUS_ADDRESS"
  unset MB_KEYRING_LOG
  status=0
  "$@" || status=$?
  kill "$pid" 2>/dev/null || true
  /usr/bin/python3 -c "
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
select.select([fd], [], [], 10)
" "$pid"
  exit $status
' sh "$@" || status=$?
exit $status
