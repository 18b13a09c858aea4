#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_STATUS_PAGE (mb_status_page_get_type ())
G_DECLARE_FINAL_TYPE (MbStatusPage,
                      mb_status_page,
                      MB,
                      STATUS_PAGE,
                      GtkScrolledWindow)

/* The Status page: the relay's state, where it listens, the route, the
 * queue, today's counts, and a banner when something needs the admin.
 * Property "client" (MbRelayClient, construct-only). */
GtkWidget *mb_status_page_new (MbRelayClient *client);

G_END_DECLS
