/* mb-route-signin.h - what one route signs in with
 *
 * An MbRouteSignin holds the sign-in material of one [route NAME] while
 * the relay runs: the secrets it reads from MbCredentials (keyring or
 * secrets file, asynchronously), the OAuth token source of an XOAUTH2
 * route (delegated from the stored refresh token, app-only from the
 * client secret or certificate), and the client certificate presented
 * over TLS.  The connection pool asks it for the sign-in part of every
 * new connection.
 *
 * It sets the route's state when the route cannot sign in: NEEDS_SIGNIN
 * (no refresh token, or Entra refused it), or PAUSED with the reason (no
 * password, the secret store is unavailable, the app registration
 * refused the client secret or certificate, an unusable client
 * certificate).  A reload (after `mailbridgectl signin` or the
 * application stored new secrets) reads the secrets again and lifts what
 * it set.
 *
 * Main-loop only.
 */
#pragma once

#include <gio/gio.h>

#include "mb-credentials.h"
#include "mb-relay-config.h"
#include "mb-route.h"
#include "mb-smtp-client.h"

G_BEGIN_DECLS

#define MB_TYPE_ROUTE_SIGNIN (mb_route_signin_get_type ())
G_DECLARE_FINAL_TYPE (MbRouteSignin, mb_route_signin, MB, ROUTE_SIGNIN, GObject)

/**
 * mb_route_signin_new:
 * @route: the route whose state follows the sign-in.
 * @config: its [route NAME] (copied).
 * @credentials: (nullable): where the secrets are; NULL: none (only
 *   routes without sign-in work).
 *
 * Starts reading the secrets at once.
 */
MbRouteSignin *mb_route_signin_new (MbRoute             *route,
                                    const MbRouteConfig *config,
                                    MbCredentials       *credentials);

/* Reads the secrets again from @credentials (nullable: keep the current
 * store), e.g. after a sign-in stored a new refresh token; completes once
 * they are read and the route's state follows them. */
void     mb_route_signin_reload_async (MbRouteSignin      *self,
                                       MbCredentials      *credentials,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data);
gboolean mb_route_signin_reload_finish (MbRouteSignin *self,
                                        GAsyncResult  *result,
                                        GError       **error);

/**
 * mb_route_signin_prepare_async:
 *
 * The sign-in part of the options for a new connection: auth, username,
 * secret (a password or a valid access token, renewed before it
 * expires) and client certificate.  Waits while the secrets are read.
 * mb_route_signin_prepare_finish() fills @options and returns TRUE, or
 * fails with:
 *   MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE: the route cannot sign in; its
 *     state says why (NEEDS_SIGNIN or PAUSED): not a connection failure;
 *   MB_SMTP_CLIENT_ERROR_CONNECT or _TLS_UNTRUSTED/_TLS_FAILED: the
 *     sign-in service could not be reached (try again later).
 */
void     mb_route_signin_prepare_async (MbRouteSignin      *self,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data);
gboolean mb_route_signin_prepare_finish (MbRouteSignin       *self,
                                         GAsyncResult        *result,
                                         MbSmtpClientOptions *options,
                                         GError             **error);

/* Whether a refused AUTH is worth one more try with a new token: the
 * route signs in with a token it renews itself. */
gboolean mb_route_signin_can_renew (MbRouteSignin *self);

/* The server refused the access token (535): forget it, so the next
 * prepare asks Entra for a new one. */
void mb_route_signin_token_refused (MbRouteSignin *self);

/* (nullable) Why the route cannot sign in, in plain English, for the
 * status ("sign in again: the refresh token was revoked ... (AADSTS50173)"),
 * or NULL.  Property "problem", notified on change. */
const char *mb_route_signin_get_problem (MbRouteSignin *self);

G_END_DECLS
