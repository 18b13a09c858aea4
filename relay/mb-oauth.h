/* mb-oauth.h - OAuth 2.0 with Microsoft Entra ID, for SMTP AUTH XOAUTH2
 *
 * Two objects:
 *  - MbOAuthClient talks to one route's authority (the `authority` and
 *    `tenant` keys; `trust` adds CAs for its HTTPS): the sign-in flows
 *    (device code, browser with PKCE, app-only client credentials) and the
 *    refresh grant.  It keeps no token.
 *  - MbOAuthTokenSource hands the delivery code a valid access token for
 *    one route, refreshing it as needed, and tells the credentials layer
 *    about every new refresh token ("refresh-token-changed").
 *
 * Everything is asynchronous and runs on the thread-default main context
 * of the caller that created the object; nothing blocks it (the one
 * exception is mb_oauth_build_client_assertion(), which says so).
 *
 * Secrets (access and refresh tokens, client secrets, passphrases, device
 * codes, authorization codes) are never logged: log lines show "********".
 * Strings holding them are wiped when freed: use mb_oauth_token_free(),
 * mb_oauth_app_credential_free() and mb_smtp_secret_free().
 *
 * Facts: M365-FACTS.md section 2.  RFC 6749 (OAuth 2.0), RFC 8628 (device
 * authorization grant), RFC 7636 (PKCE), RFC 8252 (native apps, loopback
 * redirect), RFC 7523 (JWT client assertion).
 */
#pragma once

#include <gio/gio.h>

#include "mb-relay-config.h"

G_BEGIN_DECLS

#define MB_OAUTH_ERROR (mb_oauth_error_quark ())
GQuark mb_oauth_error_quark (void);

/* Each message is plain language for the admin and ends with the AADSTS
 * code when Entra sent one ("... (AADSTS7000218)").  Cancellation through
 * a GCancellable is G_IO_ERROR_CANCELLED, as everywhere in GIO. */
typedef enum
{
  MB_OAUTH_ERROR_NETWORK,        /* the authority cannot be reached, or
                                  * answered 5xx/429: try again later */
  MB_OAUTH_ERROR_TLS_UNTRUSTED,  /* the authority's certificate did not
                                  * verify (system CAs + trust file) */
  MB_OAUTH_ERROR_TLS_FAILED,     /* any other TLS failure, TLS < 1.2 */
  MB_OAUTH_ERROR_DECLINED,       /* the user declined the sign-in
                                  * (authorization_declined,
                                  * access_denied) */
  MB_OAUTH_ERROR_EXPIRED,        /* the device code or the browser sign-in
                                  * ran out of time (expired_token) */
  MB_OAUTH_ERROR_BAD_CODE,       /* the device code or authorization code
                                  * was refused (bad_verification_code,
                                  * invalid_grant during sign-in) */
  MB_OAUTH_ERROR_NEEDS_SIGNIN,   /* the refresh token is gone, expired or
                                  * revoked (invalid_grant,
                                  * interaction_required): sign in again */
  MB_OAUTH_ERROR_INVALID_CLIENT, /* the app registration refused us: client
                                  * id, secret, certificate, public client
                                  * flows, consent, scope */
  MB_OAUTH_ERROR_BLOCKED,        /* a tenant policy (Conditional Access,
                                  * MFA, assignment) blocked the sign-in */
  MB_OAUTH_ERROR_CONFIG,         /* our side: no client id, an unusable
                                  * authority, certificate or key file */
  MB_OAUTH_ERROR_PROTOCOL,       /* an answer we cannot understand */
} MbOAuthError;

#define MB_OAUTH_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
/* The tenant when the route names none: work and school accounts. */
#define MB_OAUTH_DEFAULT_TENANT "organizations"
/* M365-FACTS.md 2.2. */
#define MB_OAUTH_SCOPE_DELEGATED                                               \
  "https://outlook.office.com/SMTP.Send offline_access"
#define MB_OAUTH_SCOPE_APP "https://outlook.office365.com/.default"

/**
 * MbOAuthToken:
 * @access_token: the bearer token for XOAUTH2.
 * @refresh_token: (nullable): delegated flows only; Entra hands out a new
 *   one with every refresh (store the newest).
 * @expires_at: when @access_token expires, Unix time in seconds.
 * @scope: (nullable): the scope granted.
 *
 * mb_oauth_token_free() wipes the secrets.
 */
typedef struct
{
  char  *access_token;
  char  *refresh_token;
  gint64 expires_at;
  char  *scope;
} MbOAuthToken;

MbOAuthToken *mb_oauth_token_new (void);
MbOAuthToken *mb_oauth_token_copy (const MbOAuthToken *token);
void          mb_oauth_token_free (MbOAuthToken *token);

/**
 * MbOAuthAppCredential:
 * @client_secret: (nullable): the app's client secret, or
 * @certificate_file: (nullable): a PEM file with the app's certificate
 *   (RSA; the one uploaded to the app registration), and the key unless
 *   @key_file is set.
 * @key_file: (nullable): a PEM file with the private key (PKCS#1 or
 *   PKCS#8, encrypted or not).
 * @key_passphrase: (nullable): for an encrypted key.
 *
 * A certificate wins over a secret when both are set.
 */
typedef struct
{
  char *client_secret;
  char *certificate_file;
  char *key_file;
  char *key_passphrase;
} MbOAuthAppCredential;

MbOAuthAppCredential *mb_oauth_app_credential_new (void);
MbOAuthAppCredential      *
mb_oauth_app_credential_copy (const MbOAuthAppCredential *credential);
void mb_oauth_app_credential_free (MbOAuthAppCredential *credential);

/**
 * MbOAuthDevicePrompt:
 * @user_code: what the user types at @verification_uri.
 * @verification_uri: e.g. https://microsoft.com/devicelogin.
 * @expires_in: seconds until the code expires.
 * @interval: the polling interval in seconds.
 * @message: (nullable): Microsoft's own instruction text.
 *
 * Valid only during the #MbOAuthDevicePromptFunc call.
 */
typedef struct
{
  const char *user_code;
  const char *verification_uri;
  gint64      expires_in;
  guint       interval;
  const char *message;
} MbOAuthDevicePrompt;

/* Called once, from the main context, when the user must act; polling
 * starts after it returns. */
typedef void (*MbOAuthDevicePromptFunc) (const MbOAuthDevicePrompt *prompt,
                                         gpointer                   user_data);

/* Called once with the authorize URL to show or print (ssh), before the
 * browser is opened. */
typedef void (*MbOAuthBrowserUriFunc) (const char *uri, gpointer user_data);

typedef enum
{
  MB_OAUTH_BROWSER_FLAGS_NONE = 0,
  MB_OAUTH_BROWSER_FLAGS_OPEN = 1 << 0, /* also open the URL through GIO */
} MbOAuthBrowserFlags;

/* The client: one route's authority. */

#define MB_TYPE_OAUTH_CLIENT (mb_oauth_client_get_type ())
G_DECLARE_FINAL_TYPE (MbOAuthClient, mb_oauth_client, MB, OAUTH_CLIENT, GObject)

/**
 * mb_oauth_client_new:
 * @authority: (nullable): https URL; NULL: MB_OAUTH_DEFAULT_AUTHORITY.
 * @tenant: (nullable): tenant ID, domain, "organizations" or "common";
 *   NULL: MB_OAUTH_DEFAULT_TENANT.
 * @client_id: the app registration's application (client) ID.
 * @trust_file: (nullable): extra CAs for the authority's HTTPS.
 *
 * Endpoints are {authority}/{tenant}/oauth2/v2.0/{devicecode,token,
 * authorize}.  CONFIG error for a missing client id or an authority that
 * is not an https URL.
 */
MbOAuthClient *mb_oauth_client_new (const char *authority,
                                    const char *tenant,
                                    const char *client_id,
                                    const char *trust_file,
                                    GError    **error);
/* The same from a [route NAME] (authority, tenant, client-id, trust). */
MbOAuthClient *mb_oauth_client_new_for_route (const MbRouteConfig *route,
                                              GError             **error);

const char *mb_oauth_client_get_client_id (MbOAuthClient *self);
const char *mb_oauth_client_get_token_endpoint (MbOAuthClient *self);
const char *mb_oauth_client_get_device_code_endpoint (MbOAuthClient *self);
const char *mb_oauth_client_get_authorize_endpoint (MbOAuthClient *self);

/* What RFC 8628 3.5 adds to the polling interval on slow_down, in ms
 * (default 5000).  Tests lower it. */
void mb_oauth_client_set_slow_down_step (MbOAuthClient *self, guint msec);

/**
 * mb_oauth_client_sign_in_device_async:
 * @scope: (nullable): NULL: MB_OAUTH_SCOPE_DELEGATED.
 * @prompt: called with the user code (see #MbOAuthDevicePromptFunc).
 *
 * The device code flow (RFC 8628, M365-FACTS.md 2.3): asks for a code,
 * hands it to @prompt, polls the token endpoint at the interval Entra
 * gives (authorization_pending: again; slow_down: 5 s slower) until the
 * user signs in (a token with a refresh token), declines (DECLINED), the
 * code expires (EXPIRED) or is refused (BAD_CODE); or any other error.
 */
void mb_oauth_client_sign_in_device_async (MbOAuthClient          *self,
                                           const char             *scope,
                                           MbOAuthDevicePromptFunc prompt,
                                           gpointer                prompt_data,
                                           GCancellable           *cancellable,
                                           GAsyncReadyCallback     callback,
                                           gpointer                user_data);

MbOAuthToken *mb_oauth_client_sign_in_device_finish (MbOAuthClient *self,
                                                     GAsyncResult  *result,
                                                     GError       **error);

/**
 * mb_oauth_client_sign_in_browser_async:
 * @scope: (nullable): NULL: MB_OAUTH_SCOPE_DELEGATED.
 * @flags: MB_OAUTH_BROWSER_FLAGS_OPEN to open the URL with the desktop's
 *   browser (g_app_info_launch_default_for_uri_async); it is handed to
 *   @uri_func in any case.
 * @uri_func: (nullable): receives the authorize URL.
 *
 * Authorization code with PKCE S256 (RFC 7636) and a loopback redirect
 * (RFC 8252 7.3): listens on 127.0.0.1, a free port, for the one redirect
 * whose state matches (others get 400 and are ignored), answers it with a
 * "You can close this window" page, and exchanges the code.  Gives up
 * after 15 minutes (EXPIRED).  The app registration needs the redirect
 * URI http://127.0.0.1 ("Mobile and desktop applications"; Entra ignores
 * the port of loopback URIs).
 */
void mb_oauth_client_sign_in_browser_async (MbOAuthClient        *self,
                                            const char           *scope,
                                            MbOAuthBrowserFlags   flags,
                                            MbOAuthBrowserUriFunc uri_func,
                                            gpointer              uri_data,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);

MbOAuthToken *mb_oauth_client_sign_in_browser_finish (MbOAuthClient *self,
                                                      GAsyncResult  *result,
                                                      GError       **error);

/**
 * mb_oauth_client_refresh_async:
 * @scope: (nullable): NULL: MB_OAUTH_SCOPE_DELEGATED.
 *
 * The refresh_token grant.  The result's @refresh_token is the new one
 * Entra sent, or a copy of @refresh_token when it sent none.  A refused
 * refresh token (invalid_grant, interaction_required) is NEEDS_SIGNIN
 * with Entra's reason in plain language.
 */
void mb_oauth_client_refresh_async (MbOAuthClient      *self,
                                    const char         *refresh_token,
                                    const char         *scope,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data);

MbOAuthToken *mb_oauth_client_refresh_finish (MbOAuthClient *self,
                                              GAsyncResult  *result,
                                              GError       **error);

/**
 * mb_oauth_client_request_app_token_async:
 *
 * App-only client credentials (scope MB_OAUTH_SCOPE_APP) with a client
 * secret or a certificate (a JWT client assertion, RFC 7523, built in a
 * worker thread).  The token has no refresh token: ask again.
 */
void
mb_oauth_client_request_app_token_async (MbOAuthClient              *self,
                                         const MbOAuthAppCredential *credential,
                                         GCancellable       *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data);

MbOAuthToken *mb_oauth_client_request_app_token_finish (MbOAuthClient *self,
                                                        GAsyncResult  *result,
                                                        GError       **error);

/**
 * mb_oauth_build_client_assertion:
 * @now: Unix time in seconds (nbf, iat; exp is 10 minutes later).
 *
 * The signed JWT for a client_credentials request (RFC 7523 2.2, Entra's
 * "certificate credentials"): header alg RS256, typ JWT, x5t (base64url
 * SHA-1 of the DER certificate) and x5t#S256; claims aud = @audience (the
 * token endpoint), iss = sub = @client_id, a random jti, nbf, iat, exp.
 * Signed RSASSA-PKCS1-v1_5 with SHA-256 by GnuTLS.  CONFIG error for an
 * unreadable or non-RSA certificate, a wrong passphrase, or a key that
 * does not belong to the certificate.
 *
 * Blocks: reads the files.  Call it from a worker thread.
 */
char *mb_oauth_build_client_assertion (const MbOAuthAppCredential *credential,
                                       const char                 *client_id,
                                       const char                 *audience,
                                       gint64                      now,
                                       GError                    **error);

/* The token source: one route's valid access token. */

#define MB_TYPE_OAUTH_TOKEN_SOURCE (mb_oauth_token_source_get_type ())
G_DECLARE_FINAL_TYPE (MbOAuthTokenSource,
                      mb_oauth_token_source,
                      MB,
                      OAUTH_TOKEN_SOURCE,
                      GObject)

/* Delegated (device code or browser sign-in): renews with @refresh_token
 * (nullable: none yet; every request fails NEEDS_SIGNIN until
 * mb_oauth_token_source_set_token()). */
MbOAuthTokenSource *
mb_oauth_token_source_new_delegated (MbOAuthClient *client,
                                     const char    *refresh_token);
/* App-only: asks for a new token with @credential when needed. */
MbOAuthTokenSource *
mb_oauth_token_source_new_app (MbOAuthClient              *client,
                               const MbOAuthAppCredential *credential);

/* After a sign-in: uses @token (and its refresh token) from now on, and
 * clears needs-signin.  Does not emit "refresh-token-changed": the caller
 * stores what it hands in. */
void mb_oauth_token_source_set_token (MbOAuthTokenSource *self,
                                      const MbOAuthToken *token);
/* After the server refused the access token (535 5.7.3, e.g. revoked
 * early): forgets it, so the next request renews it. */
void mb_oauth_token_source_invalidate (MbOAuthTokenSource *self);
/* TRUE once the refresh token was refused (or there is none): every
 * request fails NEEDS_SIGNIN until set_token().  Property "needs-signin",
 * notified on change. */
gboolean mb_oauth_token_source_get_needs_signin (MbOAuthTokenSource *self);

/* Renew the access token when less than @seconds (+ up to a fifth more,
 * at random, so relays do not renew in step) remain.  Default 300. */
void mb_oauth_token_source_set_refresh_margin (MbOAuthTokenSource *self,
                                               guint               seconds);
/* Delegated only: refresh at least every @seconds even when no mail flows,
 * so the refresh token never reaches Entra's 90-day inactivity expiry
 * (M365-FACTS.md 2.3).  Default 7 days.  Checked against the wall clock,
 * at most hourly, so a suspended machine catches up when it wakes. */
void mb_oauth_token_source_set_keepalive_interval (MbOAuthTokenSource *self,
                                                   guint               seconds);

/**
 * mb_oauth_get_access_token_async:
 *
 * A valid access token for XOAUTH2: the cached one, or a renewed one.
 * Concurrent requests share one renewal.  Errors: NEEDS_SIGNIN (also
 * raises needs-signin), NETWORK and TLS_* (try later), INVALID_CLIENT,
 * BLOCKED, PROTOCOL, CONFIG.  A caller's cancellation ends its own
 * request only.
 *
 * Returns: (transfer full): free it with mb_smtp_secret_free().
 */
void mb_oauth_get_access_token_async (MbOAuthTokenSource *source,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);

char *mb_oauth_get_access_token_finish (MbOAuthTokenSource *source,
                                        GAsyncResult       *result,
                                        GError            **error);

/* Signals of MbOAuthTokenSource:
 *  "refresh-token-changed" (const char *refresh_token): after every
 *    refresh that brought a new refresh token (with Entra, every refresh:
 *    it rotates them), before the waiting requests complete; the
 *    credentials layer stores it, replacing the old one.  The string is
 *    valid during the emission only (it is wiped later). */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbOAuthToken, mb_oauth_token_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbOAuthAppCredential,
                               mb_oauth_app_credential_free)

G_END_DECLS
