/* mb-message-details.h - one queued message in detail: its envelope (each
 * recipient with its state, attempts and last reply), its header fields and
 * its delivery history from the log.  Read with ShowMessage and ReadLog
 * when the window opens; a message that left the queue meanwhile still
 * shows its history.
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_MESSAGE_DETAILS (mb_message_details_get_type ())
G_DECLARE_FINAL_TYPE (MbMessageDetails,
                      mb_message_details,
                      MB,
                      MESSAGE_DETAILS,
                      GtkWindow)

GtkWidget *mb_message_details_new (MbRelayClient *client, const char *queue_id);

G_END_DECLS
