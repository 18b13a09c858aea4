#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MB_TYPE_APPLICATION (mb_application_get_type ())
G_DECLARE_FINAL_TYPE (MbApplication, mb_application, MB, APPLICATION,
                      GtkApplication)

MbApplication *mb_application_new (void);

G_END_DECLS
