/* mb-signin-flow.h - signing one route in to Microsoft 365 and storing it
 *
 * What `mailbridgectl signin ROUTE` and the application's "Sign In" dialog
 * both do, once: for the [route NAME] of a configuration,
 *   auth=oauth-device   asks Entra for a device code ("device-code"
 *                       signal: show the code and the address), polls
 *                       until the admin signed in, stores the refresh
 *                       token;
 *   auth=oauth-browser  starts the loopback redirect listener, announces
 *                       the address to open ("browser-uri"; opens it when
 *                       open-browser is set), stores the refresh token;
 *   auth=oauth-app      asks for an app-only token with the stored client
 *                       secret (or the one given with
 *                       mb_signin_flow_set_client_secret(), stored once it
 *                       works, with the expiry given with
 *                       mb_signin_flow_set_client_secret_expiry()) or
 *                       with the route's client certificate;
 * then removes a stale static access-token, so the relay's next reading
 * (ReloadCredentials, left to the caller) uses the new sign-in.
 *
 * Secrets are stored where the relay reads them
 * (mb_credentials_new_for_config(): the [relay] secrets file, else the
 * keyring).  Tokens and secrets are never logged.  Main-loop only; every
 * step is asynchronous, so it runs in the GTK application as is and in
 * mailbridgectl on an iterated main context.
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"

G_BEGIN_DECLS

#define MB_SIGNIN_FLOW_ERROR (mb_signin_flow_error_quark ())
GQuark mb_signin_flow_error_quark (void);

typedef enum
{
  /* The route does not exist, or signs in otherwise (auth=basic/none). */
  MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE,
  /* oauth-app with a client secret: none is stored and none was given;
   * ask the admin and run again with mb_signin_flow_set_client_secret(). */
  MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET,
  /* Entra answered without a refresh token (offline_access not granted). */
  MB_SIGNIN_FLOW_ERROR_NO_REFRESH_TOKEN,
  /* The sign-in worked but its result cannot be stored (keyring locked or
   * missing, secrets file not writable); the message says which. */
  MB_SIGNIN_FLOW_ERROR_STORE_FAILED,
} MbSigninFlowError;

/* Refusals by Entra (declined, expired code, wrong tenant or client id,
 * a refused secret) keep their MB_OAUTH_ERROR codes and messages. */

#define MB_TYPE_SIGNIN_FLOW (mb_signin_flow_get_type ())
G_DECLARE_FINAL_TYPE (MbSigninFlow, mb_signin_flow, MB, SIGNIN_FLOW, GObject)

/**
 * mb_signin_flow_new:
 * @config: the relay's configuration (referenced).
 * @route: the [route NAME] to sign in.
 *
 * Returns: (transfer full) (nullable): the flow, or NULL with
 *   MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE (no such route, or its auth is
 *   not oauth-*), or the error of the credentials store or of the OAuth
 *   client (an invalid authority, a missing client id).
 */
MbSigninFlow *
mb_signin_flow_new (MbRelayConfig *config, const char *route, GError **error);

const char *mb_signin_flow_get_route (MbSigninFlow *self);
MbRouteAuth mb_signin_flow_get_auth (MbSigninFlow *self);

/* oauth-app: whether the route signs in with a client secret (not a
 * certificate), so a dialog may offer to enter one. */
gboolean mb_signin_flow_uses_client_secret (MbSigninFlow *self);

/* oauth-app: a new client secret to try (copied; wiped on free); stored
 * only once Entra accepted it. */
void mb_signin_flow_set_client_secret (MbSigninFlow *self, const char *secret);

/* oauth-app: when the new client secret expires (unix seconds; 0, the
 * default: unknown), as Entra showed it when the secret was made.  Stored
 * with the new secret, so the relay warns ahead of that date; ignored
 * when no new secret is given (the stored one keeps its date). */
void mb_signin_flow_set_client_secret_expiry (MbSigninFlow *self,
                                              gint64        expires_at);

/* oauth-browser: open the address in the default browser (default
 * FALSE: only announce it). */
void mb_signin_flow_set_open_browser (MbSigninFlow *self, gboolean open);

/* Signals:
 * "device-code" (const char *user_code, const char *verification_uri,
 *   gint64 expires_in_seconds): oauth-device, once the code is there.
 * "browser-uri" (const char *uri): oauth-browser, once the listener
 *   runs. */

/* Runs the flow (once per object).  Cancelling stops the polling or the
 * listener; nothing is stored then. */
void     mb_signin_flow_run_async (MbSigninFlow       *self,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
gboolean mb_signin_flow_run_finish (MbSigninFlow *self,
                                    GAsyncResult *result,
                                    GError      **error);

G_END_DECLS
