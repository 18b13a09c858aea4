#pragma once

#include <gtk/gtk.h>

#include "mb-application.h"
#include "mb-relay-launcher.h"

G_BEGIN_DECLS

#define MB_TYPE_WINDOW (mb_window_get_type ())
G_DECLARE_FINAL_TYPE (MbWindow, mb_window, MB, WINDOW, GtkApplicationWindow)

MbWindow *mb_window_new (MbApplication *application, MbRelayLauncher *launcher);

G_END_DECLS
