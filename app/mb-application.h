#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MB_TYPE_APPLICATION (mb_application_get_type ())
G_DECLARE_FINAL_TYPE (MbApplication,
                      mb_application,
                      MB,
                      APPLICATION,
                      GtkApplication)

/* The single-instance application (org.mailbridge.Mailbridge).
 *
 * Actions (for menus, the tray, banners and notifications):
 *   app.show-window, app.show-page(s "status"|"queue"|"log"),
 *   app.test-send, app.pause (stateful boolean), app.retry-all,
 *   app.resume-route (release routes paused after failures, then retry),
 *   app.start-relay, app.sign-in(s route), app.setup, app.autostart
 *   (stateful, the GSettings key), app.about, app.quit (asks; may stop the
 *   relay too).
 *
 * Closing the window keeps the application (and the relay) running while
 * the tray icon is shown.  "--tray" starts with the tray only. */
MbApplication *mb_application_new (void);

G_END_DECLS
