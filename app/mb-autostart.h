#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Starting the tray at login: copies the autostart entry
 * (share/mailbridge/org.mailbridge.Mailbridge-autostart.desktop) to
 * $XDG_CONFIG_HOME/autostart, or removes it.  The file work runs in a
 * thread. */
void     mb_autostart_set_enabled_async (gboolean            enabled,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data);
gboolean mb_autostart_set_enabled_finish (GAsyncResult *result, GError **error);

G_END_DECLS
