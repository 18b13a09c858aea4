/* mb-signin-dialog.h - signing a route in from the application
 *
 * A dialog that signs one route in to Microsoft 365 (MbSigninFlow), as
 * `mailbridgectl signin` does in a terminal: it reads the relay's
 * configuration (asynchronously), shows the device code with "Copy Code"
 * and "Open Sign-in Page", or opens the browser sign-in, or asks for the
 * client secret of an app-only route; stores the result where the relay
 * reads it; asks the relay to read it again (ReloadCredentials); and
 * shows the outcome: ready, or what is still wrong and what to do, in
 * the words of the reply hints.  Cancel stops the sign-in.
 */
#pragma once

#include <gtk/gtk.h>

#include "mb-relay-client.h"

G_BEGIN_DECLS

#define MB_TYPE_SIGNIN_DIALOG (mb_signin_dialog_get_type ())
G_DECLARE_FINAL_TYPE (MbSigninDialog,
                      mb_signin_dialog,
                      MB,
                      SIGNIN_DIALOG,
                      GtkDialog)

/* Starts the sign-in as soon as it is shown.  @config_path: (nullable)
 * the configuration to read (NULL: the relay's ConfigPath, or the user
 * configuration file when the relay runs on defaults). */
MbSigninDialog *mb_signin_dialog_new (GtkWindow     *parent,
                                      MbRelayClient *client,
                                      const char    *route,
                                      const char    *config_path);

/* For a route that signs in with a client secret: opens at the page for
 * a new secret and the date it expires (with the stored secret still
 * working, a plain sign-in would only try that one).  Any other route
 * signs in as with mb_signin_dialog_new(). */
MbSigninDialog *mb_signin_dialog_new_for_new_secret (GtkWindow     *parent,
                                                     MbRelayClient *client,
                                                     const char    *route,
                                                     const char *config_path);

/* Signal "finished" (gboolean ready): the route is signed in and ready
 * (TRUE), or the dialog closed without it (FALSE). */

G_END_DECLS
