/* mb-oauth-private.h - what the parts of mb-oauth share
 *
 * mb-oauth.c: the client object, HTTP POSTs to the authority (TLS with the
 * route's trust file).  mb-oauth-errors.c: token answers and the error
 * table.  mb-oauth-grants.c: refresh and client credentials.
 * mb-oauth-device.c: the device code flow.
 * mb-oauth-browser.c: authorization code + PKCE with the loopback
 * listener.  mb-oauth-jwt.c: the client assertion.
 * mb-oauth-token-source.c: MbOAuthTokenSource.  Only they include this.
 */
#pragma once

#include "mb-oauth.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define MB_OAUTH_REDACTED "********"

struct _MbOAuthClient
{
  GObject parent_instance;

  char               *authority;          /* (owned) no trailing slash */
  char               *tenant;             /* (owned) */
  char               *client_id;          /* (owned) */
  char               *trust_file;         /* (owned) (nullable) */
  char               *token_endpoint;     /* (owned) */
  char               *device_endpoint;    /* (owned) */
  char               *authorize_endpoint; /* (owned) */
  char               *host;               /* (owned) the authority's host */
  GSocketConnectable *identity;           /* (owned) host and port, for TLS */
  SoupSession        *session;            /* (owned) */
  guint               slow_down_step_ms;
};

/* Where an OAuth error answer came from: the same "invalid_grant" means a
 * refused code during a sign-in and a dead refresh token on refresh. */
typedef enum
{
  MB_OAUTH_CONTEXT_SIGNIN,
  MB_OAUTH_CONTEXT_REFRESH,
  MB_OAUTH_CONTEXT_APP,
} MbOAuthContext;

/* An HTTP answer of the authority: its status and JSON object. */
typedef struct
{
  guint       status;
  JsonObject *object; /* (owned) (nullable) NULL when the body is no JSON
                       * object */
} MbOAuthResponse;

void mb_oauth_response_free (MbOAuthResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MbOAuthResponse, mb_oauth_response_free)

/* POSTs @form (application/x-www-form-urlencoded, taken: it is wiped and
 * freed) to @url.  Fails only for transport and TLS problems (NETWORK,
 * TLS_*) or a cancellation; any HTTP status is a response. */
void mb_oauth_client_post_async (MbOAuthClient      *self,
                                 const char         *url,
                                 GString            *form,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data);

MbOAuthResponse *mb_oauth_client_post_finish (MbOAuthClient *self,
                                              GAsyncResult  *result,
                                              GError       **error);

/* POSTs @form to the token endpoint and reads a token from a 200 answer;
 * maps an error answer for @context. */
void mb_oauth_client_request_token_async (MbOAuthClient      *self,
                                          GString            *form,
                                          MbOAuthContext      context,
                                          GCancellable       *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data);

MbOAuthToken *mb_oauth_client_request_token_finish (MbOAuthClient *self,
                                                    GAsyncResult  *result,
                                                    GError       **error);

/* A form with client_id already in it. */
GString *mb_oauth_form_new (MbOAuthClient *self);
/* Appends "&name=value", value percent-encoded. */
void mb_oauth_form_add (GString *form, const char *name, const char *value);
/* Wipes and frees a form. */
void mb_oauth_form_free (GString *form);

/* The token in a 200 answer (RFC 6749 5.1); PROTOCOL when it has none. */
MbOAuthToken *mb_oauth_token_from_response (const MbOAuthResponse *response,
                                            GError               **error);
/* The error for a non-200 answer (RFC 6749 5.2, RFC 8628 3.5, Entra's
 * AADSTS codes), in plain language. */
GError *mb_oauth_error_from_response (const MbOAuthResponse *response,
                                      MbOAuthContext         context);
/* The "error" member of an answer, or NULL. */
const char *mb_oauth_response_get_error (const MbOAuthResponse *response);
/* Entra's first AADSTS code in an answer (error_codes, or the start of
 * error_description), or 0. */
guint mb_oauth_response_get_aadsts (const MbOAuthResponse *response);

/* Base64url without padding (RFC 7515 2). */
char *mb_oauth_base64url (const guint8 *data, gsize len);
/* @bytes random bytes from GnuTLS's key generator, base64url. */
char *mb_oauth_random_token (gsize bytes, GError **error);

G_END_DECLS
