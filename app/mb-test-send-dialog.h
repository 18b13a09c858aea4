#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_TEST_SEND_DIALOG (mb_test_send_dialog_get_type ())
G_DECLARE_FINAL_TYPE (MbTestSendDialog,
                      mb_test_send_dialog,
                      MB,
                      TEST_SEND_DIALOG,
                      GtkDialog)

/* The test-send dialog: the recipient prefilled with the admin address,
 * the sender with the route's mailbox; a progress state while the relay
 * tries; then the outcome with Microsoft's reply and its meaning.
 * @parent: (nullable).  Destroys itself when closed. */
GtkWidget *mb_test_send_dialog_new (GtkWindow *parent, MbRelayClient *client);

G_END_DECLS
