/* mb-log-view.h - the Log page: the relay's delivery log
 *
 * Filters (time range, address, status), a search, each failure with its
 * plain-language hint, new records as they are logged, and export of
 * everything the filters select to CSV.  Records come from ReadLog a page
 * at a time as the admin scrolls.
 *
 * For the window (app/mb-window.c, owned by the shell):
 *
 *   GtkWidget *log = mb_log_view_new (client);
 *   gtk_stack_add_titled (stack, log, "log", _("Log"));
 *
 * mb_log_view_focus_search() is for a Ctrl+F accelerator.
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_LOG_VIEW (mb_log_view_get_type ())
G_DECLARE_FINAL_TYPE (MbLogView, mb_log_view, MB, LOG_VIEW, GtkBox)

GtkWidget *mb_log_view_new (MbRelayClient *client);
void       mb_log_view_focus_search (MbLogView *self);

G_END_DECLS
