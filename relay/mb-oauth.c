/* mb-oauth.c - MbOAuthClient: one route's Entra ID authority over HTTPS
 *
 * Contract:
 *  - Endpoints are {authority}/{tenant}/oauth2/v2.0/{devicecode, token,
 *    authorize}; the authority must be an https URL.  Requests are POSTs
 *    of application/x-www-form-urlencoded bodies (RFC 6749 4.1.3, 6, 4.4;
 *    RFC 8628 3.1, 3.4), never redirected, answered in JSON.
 *  - TLS: libsoup verifies the authority against the system CAs; when that
 *    fails, "accept-certificate" accepts the certificate only if a CA of
 *    the route's trust file vouches for it for the authority's own name
 *    (mb-tls-trust.c, shared with the SMTP client).  A connection that
 *    negotiates less than TLS 1.2 is cancelled before the request is
 *    written.  Nothing switches verification off.
 *  - Form bodies carry secrets (refresh tokens, client secrets, codes):
 *    their buffers are wiped when freed, and no body, token or code is
 *    ever logged.  Log lines name the endpoint, the grant and the status.
 *  - Proxies: the desktop's proxy settings apply (GIO's default resolver),
 *    as for any HTTPS client of the session; SMTP never uses them.
 *  - Each request has a 60 s I/O timeout (libsoup's); the caller's
 *    cancellable ends it early.
 *
 * Not here: the answers' meaning (mb-oauth-errors.c), the grants
 * (mb-oauth-grants.c, mb-oauth-device.c, mb-oauth-browser.c), the
 * assertion (mb-oauth-jwt.c), caching tokens (mb-oauth-token-source.c).
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include "mb-smtp-reply.h"
#include "mb-tls-trust.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define HTTP_TIMEOUT_SECONDS 60
#define DEFAULT_SLOW_DOWN_STEP_MS 5000

typedef struct
{
  SoupMessage         *message;          /* (owned) */
  GCancellable        *cancellable;      /* (owned) ours, linked below */
  GCancellable        *user_cancellable; /* (owned) (nullable) */
  gulong               user_cancelled_id;
  GBytes              *body; /* (owned) the wiped-on-free form */
  GTlsCertificateFlags tls_errors;
  char                *trust_problem; /* (owned) (nullable) */
  gboolean             tls_too_old;
  char                *what; /* (owned) endpoint name, for logs */
  gulong               accept_certificate_id;
  gulong               network_event_id;
} PostData;

typedef struct
{
  MbOAuthContext context;
} TokenData;

G_DEFINE_FINAL_TYPE (MbOAuthClient, mb_oauth_client, G_TYPE_OBJECT)

GQuark
mb_oauth_error_quark (void)
{
  return g_quark_from_static_string ("mb-oauth-error-quark");
}

/* Plain data */

MbOAuthToken *
mb_oauth_token_new (void)
{
  return g_new0 (MbOAuthToken, 1);
}

MbOAuthToken *
mb_oauth_token_copy (const MbOAuthToken *token)
{
  MbOAuthToken *copy;

  g_return_val_if_fail (token != NULL, NULL);

  copy = mb_oauth_token_new ();
  copy->access_token = g_strdup (token->access_token);
  copy->refresh_token = g_strdup (token->refresh_token);
  copy->expires_at = token->expires_at;
  copy->scope = g_strdup (token->scope);
  return copy;
}

void
mb_oauth_token_free (MbOAuthToken *token)
{
  if (token == NULL)
    return;
  mb_smtp_secret_free (token->access_token);
  mb_smtp_secret_free (token->refresh_token);
  g_free (token->scope);
  g_free (token);
}

MbOAuthAppCredential *
mb_oauth_app_credential_new (void)
{
  return g_new0 (MbOAuthAppCredential, 1);
}

MbOAuthAppCredential *
mb_oauth_app_credential_copy (const MbOAuthAppCredential *credential)
{
  MbOAuthAppCredential *copy;

  g_return_val_if_fail (credential != NULL, NULL);

  copy = mb_oauth_app_credential_new ();
  copy->client_secret = g_strdup (credential->client_secret);
  copy->certificate_file = g_strdup (credential->certificate_file);
  copy->key_file = g_strdup (credential->key_file);
  copy->key_passphrase = g_strdup (credential->key_passphrase);
  return copy;
}

void
mb_oauth_app_credential_free (MbOAuthAppCredential *credential)
{
  if (credential == NULL)
    return;
  mb_smtp_secret_free (credential->client_secret);
  g_free (credential->certificate_file);
  g_free (credential->key_file);
  mb_smtp_secret_free (credential->key_passphrase);
  g_free (credential);
}

void
mb_oauth_response_free (MbOAuthResponse *response)
{
  if (response == NULL)
    return;
  g_clear_pointer (&response->object, json_object_unref);
  g_free (response);
}

static void
post_data_free (PostData *data)
{
  if (data->user_cancellable != NULL)
    g_cancellable_disconnect (data->user_cancellable, data->user_cancelled_id);
  g_clear_object (&data->user_cancellable);
  g_clear_object (&data->cancellable);
  if (data->message != NULL)
    {
      /* The handlers point at the task, which is going away. */
      g_clear_signal_handler (&data->accept_certificate_id, data->message);
      g_clear_signal_handler (&data->network_event_id, data->message);
    }
  g_clear_object (&data->message);
  g_clear_pointer (&data->body, g_bytes_unref);
  g_free (data->trust_problem);
  g_free (data->what);
  g_free (data);
}

/* Helpers */

char *
mb_oauth_base64url (const guint8 *data, gsize len)
{
  char *text = g_base64_encode (data, len);
  char *out = text;

  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '=')
        break;
      *out++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
  *out = '\0';
  return text;
}

char *
mb_oauth_random_token (gsize bytes, GError **error)
{
  g_autofree guint8 *raw = g_malloc (bytes);
  char              *text;

  /* GNUTLS_RND_KEY: these become PKCE verifiers and states. */
  if (gnutls_rnd (GNUTLS_RND_KEY, raw, bytes) != 0)
    {
      g_set_error_literal (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                           "The system's random number generator failed");
      return NULL;
    }
  text = mb_oauth_base64url (raw, bytes);
  explicit_bzero (raw, bytes);
  return text;
}

GString *
mb_oauth_form_new (MbOAuthClient *self)
{
  GString *form = g_string_new (NULL);

  mb_oauth_form_add (form, "client_id", self->client_id);
  return form;
}

void
mb_oauth_form_add (GString *form, const char *name, const char *value)
{
  g_autofree char *escaped = g_uri_escape_string (value, NULL, FALSE);

  if (form->len > 0)
    g_string_append_c (form, '&');
  g_string_append (form, name);
  g_string_append_c (form, '=');
  g_string_append (form, escaped);
  explicit_bzero (escaped, strlen (escaped));
}

void
mb_oauth_form_free (GString *form)
{
  if (form == NULL)
    return;
  explicit_bzero (form->str, form->allocated_len);
  g_string_free (form, TRUE);
}

static void
wipe_form_bytes (gpointer data)
{
  mb_oauth_form_free (data);
}

static const char *
describe_endpoint (MbOAuthClient *self, const char *url)
{
  if (g_strcmp0 (url, self->token_endpoint) == 0)
    return "token";
  if (g_strcmp0 (url, self->device_endpoint) == 0)
    return "devicecode";
  return "other";
}

/* TLS */

static gboolean
on_message_accept_certificate_cb (SoupMessage         *message,
                                  GTlsCertificate     *peer,
                                  GTlsCertificateFlags errors,
                                  gpointer             user_data)
{
  GTask         *task = user_data;
  MbOAuthClient *self = g_task_get_source_object (task);
  PostData      *data = g_task_get_task_data (task);
  gboolean       accepted;

  data->tls_errors = errors;
  g_clear_pointer (&data->trust_problem, g_free);
  accepted = mb_tls_trust_check (self->trust_file, peer, self->identity,
                                 &data->tls_errors, &data->trust_problem);
  g_debug ("endpoint=%s tls-trust-file=%s accepted=%s", data->what,
           self->trust_file != NULL ? self->trust_file : "none",
           accepted ? "yes" : "no");
  return accepted;
}

/* Refuses old TLS before the request (and its secrets) goes out: the
 * handshake is reported before libsoup writes anything. */
static void
on_message_network_event_cb (SoupMessage       *message,
                             GSocketClientEvent event,
                             GIOStream         *connection,
                             gpointer           user_data)
{
  GTask              *task = user_data;
  PostData           *data = g_task_get_task_data (task);
  GTlsProtocolVersion version;

  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKED
      || !G_IS_TLS_CONNECTION (connection))
    return;
  version
      = g_tls_connection_get_protocol_version (G_TLS_CONNECTION (connection));
  if (version == G_TLS_PROTOCOL_VERSION_SSL_3_0
      || version == G_TLS_PROTOCOL_VERSION_TLS_1_0
      || version == G_TLS_PROTOCOL_VERSION_TLS_1_1)
    {
      data->tls_too_old = TRUE;
      g_cancellable_cancel (data->cancellable);
    }
}

static void
on_user_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static GError *
map_transport_error (MbOAuthClient *self, PostData *data, GError *error)
{
  g_autoptr (GError) owned = error;

  if (data->tls_too_old)
    return g_error_new (MB_OAUTH_ERROR, MB_OAUTH_ERROR_TLS_FAILED,
                        "The sign-in service %s negotiated a TLS version "
                        "below 1.2; TLS 1.2 or newer is required",
                        self->host);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_steal_pointer (&owned);
  if (data->tls_errors != 0
      || g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    {
      g_autofree char *why = mb_tls_trust_describe (
          data->tls_errors != 0 ? data->tls_errors
                                : G_TLS_CERTIFICATE_GENERIC_ERROR,
          self->host, data->trust_problem);

      return g_error_new (MB_OAUTH_ERROR, MB_OAUTH_ERROR_TLS_UNTRUSTED,
                          "The certificate of the sign-in service %s is not "
                          "trusted: %s",
                          self->host, why);
    }
  if (error->domain == G_TLS_ERROR)
    return g_error_new (MB_OAUTH_ERROR, MB_OAUTH_ERROR_TLS_FAILED,
                        "The TLS handshake with the sign-in service %s "
                        "failed: %s",
                        self->host, error->message);
  return g_error_new (MB_OAUTH_ERROR, MB_OAUTH_ERROR_NETWORK,
                      "Could not reach the sign-in service %s: %s", self->host,
                      error->message);
}

/* POST */

static void
post_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbOAuthClient *self = g_task_get_source_object (task);
  PostData      *data = g_task_get_task_data (task);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (JsonParser) parser = NULL;
  MbOAuthResponse *response;
  GError          *error = NULL;
  const char      *bytes;
  gsize            len;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                            &error);
  if (body == NULL)
    {
      g_debug ("endpoint=%s result=failed error=\"%s\"", data->what,
               error->message);
      g_task_return_error (task, map_transport_error (self, data, error));
      return;
    }

  /* Errors come as JSON with 400 or 401; anything else (an HTML error page
   * of a proxy) leaves object NULL, for mb-oauth-errors.c to judge by the
   * status. */
  response = g_new0 (MbOAuthResponse, 1);
  response->status = soup_message_get_status (data->message);
  bytes = g_bytes_get_data (body, &len);
  parser = json_parser_new ();
  /* A body of blanks parses, to no root at all. */
  if (len > 0 && json_parser_load_from_data (parser, bytes, len, NULL)
      && json_parser_get_root (parser) != NULL
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    response->object = json_object_ref (
        json_node_get_object (json_parser_get_root (parser)));
  g_debug ("endpoint=%s status=%u json=%s", data->what, response->status,
           response->object != NULL ? "yes" : "no");
  g_task_return_pointer (task, response,
                         (GDestroyNotify)mb_oauth_response_free);
}

void
mb_oauth_client_post_async (MbOAuthClient      *self,
                            const char         *url,
                            GString            *form,
                            GCancellable       *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  PostData *data;
  gsize     len = form->len;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_client_post_async);
  data = g_new0 (PostData, 1);
  data->what = g_strdup (describe_endpoint (self, url));
  data->body
      = g_bytes_new_with_free_func (form->str, len, wipe_form_bytes, form);
  /* Our own cancellable, linked to the caller's: the TLS version check
   * must be able to stop this request without cancelling the caller's
   * other work. */
  data->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      data->user_cancellable = g_object_ref (cancellable);
      data->user_cancelled_id = g_cancellable_connect (
          cancellable, G_CALLBACK (on_user_cancelled_cb),
          g_object_ref (data->cancellable), g_object_unref);
    }
  g_task_set_task_data (task, data, (GDestroyNotify)post_data_free);

  data->message = soup_message_new (SOUP_METHOD_POST, url);
  if (data->message == NULL)
    {
      g_task_return_new_error (task, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                               "Not a usable URL: %s", url);
      return;
    }
  /* A redirect would re-send the secrets in the body elsewhere: the token
   * endpoints never redirect (RFC 6749 3.2), so any 3xx is an answer. */
  soup_message_add_flags (data->message, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_headers_replace (
      soup_message_get_request_headers (data->message), "Accept",
      "application/json");
  soup_message_set_request_body_from_bytes (
      data->message, "application/x-www-form-urlencoded", data->body);
  data->accept_certificate_id
      = g_signal_connect (data->message, "accept-certificate",
                          G_CALLBACK (on_message_accept_certificate_cb), task);
  data->network_event_id
      = g_signal_connect (data->message, "network-event",
                          G_CALLBACK (on_message_network_event_cb), task);
  /* The URL holds no secret: only the body does, and it is never
   * logged. */
  g_debug ("endpoint=%s url=%s", data->what, url);
  soup_session_send_and_read_async (self->session, data->message,
                                    G_PRIORITY_DEFAULT, data->cancellable,
                                    post_cb, g_object_ref (task));
}

MbOAuthResponse *
mb_oauth_client_post_finish (MbOAuthClient *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Token requests */

static void
token_post_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  TokenData *data = g_task_get_task_data (task);
  g_autoptr (MbOAuthResponse) response = NULL;
  MbOAuthToken *token;
  GError       *error = NULL;

  response
      = mb_oauth_client_post_finish (MB_OAUTH_CLIENT (source), result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (response->status != SOUP_STATUS_OK)
    {
      g_task_return_error (
          task, mb_oauth_error_from_response (response, data->context));
      return;
    }
  token = mb_oauth_token_from_response (response, &error);
  if (token == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, token, (GDestroyNotify)mb_oauth_token_free);
}

void
mb_oauth_client_request_token_async (MbOAuthClient      *self,
                                     GString            *form,
                                     MbOAuthContext      context,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  TokenData *data;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_client_request_token_async);
  data = g_new0 (TokenData, 1);
  data->context = context;
  g_task_set_task_data (task, data, g_free);
  mb_oauth_client_post_async (self, self->token_endpoint, form, cancellable,
                              token_post_cb, g_steal_pointer (&task));
}

MbOAuthToken *
mb_oauth_client_request_token_finish (MbOAuthClient *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* GObject */

static void
mb_oauth_client_finalize (GObject *object)
{
  MbOAuthClient *self = MB_OAUTH_CLIENT (object);

  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->identity);
  g_free (self->authority);
  g_free (self->tenant);
  g_free (self->client_id);
  g_free (self->trust_file);
  g_free (self->token_endpoint);
  g_free (self->device_endpoint);
  g_free (self->authorize_endpoint);
  g_free (self->host);

  G_OBJECT_CLASS (mb_oauth_client_parent_class)->finalize (object);
}

static void
mb_oauth_client_class_init (MbOAuthClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mb_oauth_client_finalize;
}

static void
mb_oauth_client_init (MbOAuthClient *self)
{
  self->slow_down_step_ms = DEFAULT_SLOW_DOWN_STEP_MS;
}

/* Public API */

MbOAuthClient *
mb_oauth_client_new (const char *authority,
                     const char *tenant,
                     const char *client_id,
                     const char *trust_file,
                     GError    **error)
{
  g_autoptr (MbOAuthClient) self = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autofree char *base = NULL;
  gsize            len;
  int              port;

  if (authority == NULL)
    authority = MB_OAUTH_DEFAULT_AUTHORITY;
  if (tenant == NULL || *tenant == '\0')
    tenant = MB_OAUTH_DEFAULT_TENANT;
  if (client_id == NULL || *client_id == '\0')
    {
      g_set_error_literal (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                           "No client ID: the route needs client-id, the "
                           "Application (client) ID of the app registration");
      return NULL;
    }
  uri = g_uri_parse (authority, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "The authority %s is not an https URL", authority);
      return NULL;
    }
  /* The tenant goes into the URL's path. */
  if (strspn (tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-._")
      != strlen (tenant))
    {
      g_set_error (error, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                   "The tenant %s is not a tenant ID or domain", tenant);
      return NULL;
    }

  self = g_object_new (MB_TYPE_OAUTH_CLIENT, NULL);
  len = strlen (authority);
  while (len > 0 && authority[len - 1] == '/')
    len--;
  self->authority = g_strndup (authority, len);
  self->tenant = g_strdup (tenant);
  self->client_id = g_strdup (client_id);
  self->trust_file = g_strdup (trust_file);
  base = g_strdup_printf ("%s/%s/oauth2/v2.0", self->authority, tenant);
  self->token_endpoint = g_strconcat (base, "/token", NULL);
  self->device_endpoint = g_strconcat (base, "/devicecode", NULL);
  self->authorize_endpoint = g_strconcat (base, "/authorize", NULL);
  self->host = g_strdup (g_uri_get_host (uri));
  port = g_uri_get_port (uri);
  /* The name the certificate must carry, for the trust file's check. */
  self->identity = g_network_address_new (self->host, port > 0 ? port : 443);
  /* The trailing space makes libsoup append its own product token.  The
   * timeouts bound a silent authority; a request is small. */
  self->session = soup_session_new_with_options (
      "user-agent", "Mailbridge/" MB_VERSION " ", "timeout",
      HTTP_TIMEOUT_SECONDS, "idle-timeout", HTTP_TIMEOUT_SECONDS, NULL);
  return g_steal_pointer (&self);
}

MbOAuthClient *
mb_oauth_client_new_for_route (const MbRouteConfig *route, GError **error)
{
  g_return_val_if_fail (route != NULL, NULL);

  return mb_oauth_client_new (route->authority, route->tenant, route->client_id,
                              route->trust, error);
}

const char *
mb_oauth_client_get_client_id (MbOAuthClient *self)
{
  g_return_val_if_fail (MB_IS_OAUTH_CLIENT (self), NULL);
  return self->client_id;
}

const char *
mb_oauth_client_get_token_endpoint (MbOAuthClient *self)
{
  g_return_val_if_fail (MB_IS_OAUTH_CLIENT (self), NULL);
  return self->token_endpoint;
}

const char *
mb_oauth_client_get_device_code_endpoint (MbOAuthClient *self)
{
  g_return_val_if_fail (MB_IS_OAUTH_CLIENT (self), NULL);
  return self->device_endpoint;
}

const char *
mb_oauth_client_get_authorize_endpoint (MbOAuthClient *self)
{
  g_return_val_if_fail (MB_IS_OAUTH_CLIENT (self), NULL);
  return self->authorize_endpoint;
}

void
mb_oauth_client_set_slow_down_step (MbOAuthClient *self, guint msec)
{
  g_return_if_fail (MB_IS_OAUTH_CLIENT (self));
  self->slow_down_step_ms = msec;
}
