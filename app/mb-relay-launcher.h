#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Starts the mailbridged binary in its own session, so it outlives the app,
 * with stderr written to $XDG_STATE_HOME/mailbridge/relay.log.  The fallback
 * for when D-Bus cannot activate the relay (running from the build tree, no
 * service file installed).  The relay announces itself by taking its bus
 * name; the caller watches for that.
 *
 * $MB_MAILBRIDGED overrides the binary; from the build tree the sibling
 * relay/mailbridged is used.  Spawning does not wait for the relay.
 * Returns the process, or NULL with @error set; @log_path receives the log
 * file either way. */
GSubprocess *mb_relay_launcher_spawn (char **log_path, GError **error);

G_END_DECLS
