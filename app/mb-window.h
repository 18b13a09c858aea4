#pragma once

#include <gtk/gtk.h>

#include "mb-application.h"
#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_WINDOW (mb_window_get_type ())
G_DECLARE_FINAL_TYPE (MbWindow, mb_window, MB, WINDOW, GtkApplicationWindow)

/* @settings: (nullable) the app's GSettings; without it the window starts
 * at its default size on the Status page and remembers nothing. */
MbWindow *mb_window_new (MbApplication *application,
                         MbRelayClient *client,
                         GSettings     *settings);

/* "status", "queue" or "log". */
void mb_window_show_page (MbWindow *self, const char *name);

G_END_DECLS
