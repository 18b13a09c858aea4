#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_TRAY (mb_tray_get_type ())
G_DECLARE_FINAL_TYPE (MbTray, mb_tray, MB, TRAY, GObject)

/* The tray icon (StatusNotifierItem through libayatana-appindicator3):
 * icon and title per state (idle, sending, deferred mail waiting, needs
 * attention), a menu with the status line, "Open Mailbridge", "Send Test
 * Email", pause/resume and "Quit".  Menu items activate the actions of
 * @application (app.show-window, app.test-send, app.pause, app.quit).
 *
 * Property "available" (boolean): whether a tray host shows the icon; the
 * application keeps running without a window only while it is TRUE. */
MbTray  *mb_tray_new (GApplication *application, MbRelayClient *client);
gboolean mb_tray_get_available (MbTray *self);

G_END_DECLS
