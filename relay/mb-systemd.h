/* mb-systemd.h - the sd_notify protocol, without libsystemd
 *
 * Tells the service manager (or a test harness) about state changes by a
 * datagram to $NOTIFY_SOCKET, e.g. "READY=1" or "RELOADING=1".  Without
 * NOTIFY_SOCKET it does nothing.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean mb_systemd_notify (const char *state, GError **error);

G_END_DECLS
