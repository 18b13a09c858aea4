/* mb-oauth-browser.c - browser sign-in: authorization code + PKCE
 *
 * Contract:
 *  - RFC 7636: a fresh code_verifier (32 random bytes, base64url: 43
 *    characters) per sign-in; the authorize URL carries its S256
 *    challenge, the token request the verifier.  A random state (RFC 6749
 *    10.12) ties the redirect to this sign-in.
 *  - RFC 8252 7.3: the redirect goes to http://127.0.0.1:PORT on a
 *    listener bound to 127.0.0.1 only, on a port the system picks.  It
 *    answers GET / with the matching state once: a small "You can close
 *    this window" page (or the error), and stops listening.  Requests with
 *    another path get 404, with a missing or wrong state 400; neither ends
 *    the sign-in (a stray or hostile local request cannot abort it).  A
 *    request head is read up to 8 KiB; anything else is refused.
 *  - The authorize URL goes to the caller's uri_func (to show or print,
 *    e.g. over ssh) and, with MB_OAUTH_BROWSER_FLAGS_OPEN, to the desktop's
 *    browser through GIO; failing to open it is logged, not fatal.
 *  - error=access_denied in the redirect is DECLINED; other errors map as
 *    token errors do.  No redirect within 15 minutes: EXPIRED.
 *  - The code and verifier are secrets: never logged.
 *
 * Not here: the token exchange itself (mb-oauth.c), storing the result.
 */
#define G_LOG_DOMAIN "mb-oauth"

#include "mb-oauth-private.h"

#include "mb-smtp-reply.h"

#include <gnutls/crypto.h>
#include <string.h>

#define SIGNIN_TIMEOUT_SECONDS (15 * 60)
#define MAX_REQUEST_HEAD 8192
#define VERIFIER_BYTES 32
#define STATE_BYTES 16

typedef struct
{
  char           *scope;        /* (owned) */
  char           *verifier;     /* (owned) secret */
  char           *state;        /* (owned) */
  char           *redirect_uri; /* (owned) */
  GSocketService *service;      /* (owned) (nullable) */
  gulong          incoming_id;
  GSource        *timeout;        /* (owned) (nullable) */
  GCancellable   *io_cancellable; /* (owned) cancels the visitors' reads */
  gboolean        answered;       /* the redirect arrived */
} BrowserData;

/* One connection to the loopback listener. */
typedef struct
{
  GTask             *flow;       /* (owned) */
  GSocketConnection *connection; /* (owned) */
  GByteArray        *head;       /* (owned) */
  guint8             buffer[1024];
  GBytes            *reply; /* (owned) (nullable) */
} Visitor;

static void
stop_listening (BrowserData *data)
{
  if (data->service != NULL)
    {
      /* The handler borrows the task. */
      g_clear_signal_handler (&data->incoming_id, data->service);
      g_socket_service_stop (data->service);
      g_socket_listener_close (G_SOCKET_LISTENER (data->service));
      g_clear_object (&data->service);
    }
  if (data->timeout != NULL)
    {
      g_source_destroy (data->timeout);
      g_clear_pointer (&data->timeout, g_source_unref);
    }
}

static void
browser_data_free (BrowserData *data)
{
  stop_listening (data);
  g_cancellable_cancel (data->io_cancellable);
  g_clear_object (&data->io_cancellable);
  g_free (data->scope);
  mb_smtp_secret_free (data->verifier);
  g_free (data->state);
  g_free (data->redirect_uri);
  g_free (data);
}

/* The request line holds the authorization code. */
typedef char *SecretString;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SecretString, mb_smtp_secret_free, NULL)

static void
visitor_free (Visitor *visitor)
{
  g_io_stream_close (G_IO_STREAM (visitor->connection), NULL, NULL);
  g_clear_object (&visitor->connection);
  g_clear_object (&visitor->flow);
  explicit_bzero (visitor->head->data, visitor->head->len);
  g_byte_array_unref (visitor->head);
  g_clear_pointer (&visitor->reply, g_bytes_unref);
  g_free (visitor);
}

/* Ends the flow's waiting part: no more redirects, no timeout, and the
 * reads of other visitors (each holds a reference on the task) end. */
static void
finish_waiting (GTask *task)
{
  BrowserData *data = g_task_get_task_data (task);

  data->answered = TRUE;
  stop_listening (data);
  g_cancellable_cancel (data->io_cancellable);
}

static char *
s256_challenge (const char *verifier)
{
  guint8 digest[32];

  gnutls_hash_fast (GNUTLS_DIG_SHA256, verifier, strlen (verifier), digest);
  return mb_oauth_base64url (digest, sizeof digest);
}

static char *
build_authorize_uri (MbOAuthClient *self, BrowserData *data)
{
  g_autofree char *challenge = s256_challenge (data->verifier);
  GString         *query = mb_oauth_form_new (self);
  char            *uri;

  mb_oauth_form_add (query, "response_type", "code");
  mb_oauth_form_add (query, "redirect_uri", data->redirect_uri);
  mb_oauth_form_add (query, "response_mode", "query");
  mb_oauth_form_add (query, "scope", data->scope);
  mb_oauth_form_add (query, "state", data->state);
  mb_oauth_form_add (query, "code_challenge", challenge);
  mb_oauth_form_add (query, "code_challenge_method", "S256");
  mb_oauth_form_add (query, "prompt", "select_account");
  uri = g_strconcat (self->authorize_endpoint, "?", query->str, NULL);
  g_string_free (query, TRUE);
  return uri;
}

/* The page the browser shows after the redirect. */
static GBytes *
build_reply (guint       status,
             const char *reason,
             const char *title,
             const char *text)
{
  g_autofree char *escaped_title = g_markup_escape_text (title, -1);
  g_autofree char *escaped_text = g_markup_escape_text (text, -1);
  g_autofree char *body
      = g_strdup_printf ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                         "<title>Mailbridge: %s</title></head>\n"
                         "<body style=\"font-family: sans-serif; margin: 3em\">"
                         "<h1>%s</h1><p>%s</p></body></html>\n",
                         escaped_title, escaped_title, escaped_text);
  char *head = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                                "Content-Type: text/html; charset=utf-8\r\n"
                                "Content-Length: %zu\r\n"
                                "Cache-Control: no-store\r\n"
                                "Referrer-Policy: no-referrer\r\n"
                                "Connection: close\r\n\r\n%s",
                                status, reason, strlen (body), body);

  return g_bytes_new_take (head, strlen (head));
}

static void
reply_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Visitor *visitor = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                    NULL);
  visitor_free (visitor);
}

/* The write has no cancellable: a page of a few hundred bytes to a local
 * socket ends at once, and finish_waiting() must not cut it off. */
static void
send_reply (Visitor *visitor, GBytes *reply)
{
  GOutputStream *out
      = g_io_stream_get_output_stream (G_IO_STREAM (visitor->connection));
  gsize       len;
  const void *bytes;

  visitor->reply = reply;
  bytes = g_bytes_get_data (reply, &len);
  g_output_stream_write_all_async (out, bytes, len, G_PRIORITY_DEFAULT, NULL,
                                   reply_written_cb, visitor);
}

static void
exchange_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbOAuthToken *token;
  GError       *error = NULL;

  token = mb_oauth_client_request_token_finish (MB_OAUTH_CLIENT (source),
                                                result, &error);
  if (token == NULL)
    {
      g_debug ("grant=authorization_code result=failed error=\"%s\"",
               error->message);
      g_task_return_error (task, error);
      return;
    }
  g_debug ("grant=authorization_code result=token refresh-token=%s",
           token->refresh_token != NULL ? "yes" : "no");
  g_task_return_pointer (task, token, (GDestroyNotify)mb_oauth_token_free);
}

static void
exchange_code (GTask *task, const char *code)
{
  MbOAuthClient *self = g_task_get_source_object (task);
  BrowserData   *data = g_task_get_task_data (task);
  GString       *form = mb_oauth_form_new (self);

  mb_oauth_form_add (form, "grant_type", "authorization_code");
  mb_oauth_form_add (form, "code", code);
  mb_oauth_form_add (form, "redirect_uri", data->redirect_uri);
  mb_oauth_form_add (form, "code_verifier", data->verifier);
  mb_oauth_form_add (form, "scope", data->scope);
  mb_oauth_client_request_token_async (self, form, MB_OAUTH_CONTEXT_SIGNIN,
                                       g_task_get_cancellable (task),
                                       exchange_cb, g_object_ref (task));
}

/* The error a redirect carries (RFC 6749 4.1.2.1), mapped like a token
 * error answer. */
static GError *
redirect_error (const char *error, const char *description)
{
  MbOAuthResponse response = { 400, json_object_new () };
  GError         *mapped;

  json_object_set_string_member (response.object, "error", error);
  if (description != NULL)
    json_object_set_string_member (response.object, "error_description",
                                   description);
  mapped = mb_oauth_error_from_response (&response, MB_OAUTH_CONTEXT_SIGNIN);
  json_object_unref (response.object);
  return mapped;
}

/* Answers one request head; completes the flow on the right redirect. */
static void
handle_request (Visitor *visitor, const char *head)
{
  GTask       *task = visitor->flow;
  BrowserData *data = g_task_get_task_data (task);
  g_autoptr (GHashTable) params = NULL;
  g_auto (SecretString) target = NULL;
  const char *line_end = strstr (head, "\r\n");
  const char *query;
  const char *state, *code, *error;

  if (line_end == NULL || !g_str_has_prefix (head, "GET "))
    {
      send_reply (visitor, build_reply (405, "Method Not Allowed",
                                        "Not allowed", "Only GET is served."));
      return;
    }
  target = g_strndup (head + 4, line_end - head - 4);
  if (strchr (target, ' ') != NULL)
    *strchr (target, ' ') = '\0';
  query = strchr (target, '?');
  /* Only "/" (RFC 8252 7.3: the redirect URI has no path). */
  if (target[0] != '/' || (query != NULL ? query != target + 1 : target[1]))
    {
      send_reply (visitor,
                  build_reply (404, "Not Found", "Not found", "Nothing here."));
      return;
    }
  if (query != NULL)
    params
        = g_uri_parse_params (query + 1, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
  state = params != NULL ? g_hash_table_lookup (params, "state") : NULL;
  if (data->answered || state == NULL || strcmp (state, data->state) != 0)
    {
      g_debug ("redirect=refused reason=%s",
               data->answered ? "already-answered" : "state");
      send_reply (visitor,
                  build_reply (400, "Bad Request", "Sign-in link not valid",
                               "This page does not belong to the sign-in "
                               "Mailbridge is waiting for."));
      return;
    }

  code = g_hash_table_lookup (params, "code");
  error = g_hash_table_lookup (params, "error");
  finish_waiting (task);
  if (code == NULL || *code == '\0')
    {
      send_reply (visitor,
                  build_reply (200, "OK", "Sign-in failed",
                               "The sign-in did not complete. You can close "
                               "this window and try again in Mailbridge."));
      g_debug ("redirect=error error=%s", error != NULL ? error : "none");
      g_task_return_error (
          task,
          redirect_error (error != NULL ? error : "invalid_request",
                          g_hash_table_lookup (params, "error_description")));
      return;
    }
  send_reply (visitor, build_reply (200, "OK", "Signed in",
                                    "You can close this window and return "
                                    "to Mailbridge."));
  g_debug ("redirect=code code=" MB_OAUTH_REDACTED);
  exchange_code (task, code);
  explicit_bzero ((char *)code, strlen (code));
}

static void
read_head_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Visitor      *visitor = user_data;
  BrowserData  *data = g_task_get_task_data (visitor->flow);
  GInputStream *in = G_INPUT_STREAM (source);
  gssize        n;
  const char   *end;

  n = g_input_stream_read_finish (in, result, NULL);
  if (n <= 0)
    {
      visitor_free (visitor);
      return;
    }
  g_byte_array_append (visitor->head, visitor->buffer, n);
  end = g_strstr_len ((const char *)visitor->head->data, visitor->head->len,
                      "\r\n\r\n");
  if (end != NULL)
    {
      g_byte_array_append (visitor->head, (const guint8 *)"", 1);
      handle_request (visitor, (const char *)visitor->head->data);
      return;
    }
  if (visitor->head->len >= MAX_REQUEST_HEAD)
    {
      send_reply (visitor, build_reply (431, "Request Header Fields Too Large",
                                        "Request too large", "Refused."));
      return;
    }
  g_input_stream_read_async (in, visitor->buffer, sizeof visitor->buffer,
                             G_PRIORITY_DEFAULT, data->io_cancellable,
                             read_head_cb, visitor);
}

static gboolean
on_service_incoming_cb (GSocketService    *service,
                        GSocketConnection *connection,
                        GObject           *source_object,
                        gpointer           user_data)
{
  GTask        *task = user_data;
  BrowserData  *data = g_task_get_task_data (task);
  Visitor      *visitor = g_new0 (Visitor, 1);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));

  visitor->flow = g_object_ref (task);
  visitor->connection = g_object_ref (connection);
  visitor->head = g_byte_array_new ();
  g_input_stream_read_async (in, visitor->buffer, sizeof visitor->buffer,
                             G_PRIORITY_DEFAULT, data->io_cancellable,
                             read_head_cb, visitor);
  return TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  GTask       *task = user_data;
  BrowserData *data = g_task_get_task_data (task);

  g_clear_pointer (&data->timeout, g_source_unref);
  finish_waiting (task);
  if (g_task_return_error_if_cancelled (task))
    return G_SOURCE_REMOVE;
  g_task_return_new_error (task, MB_OAUTH_ERROR, MB_OAUTH_ERROR_EXPIRED,
                           "No sign-in arrived from the browser within %u "
                           "minutes: start again",
                           SIGNIN_TIMEOUT_SECONDS / 60);
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_source_cb (GCancellable *cancellable, gpointer user_data)
{
  /* Dispatching the child dispatches the parent (timeout_cb). */
  return G_SOURCE_CONTINUE;
}

static void
launch_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_info ("browser=failed error=\"%s\" (the URL was handed to the caller)",
            error->message);
}

static gboolean
start_listening (GTask *task, GError **error)
{
  BrowserData *data = g_task_get_task_data (task);
  g_autoptr (GInetAddress) loopback
      = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) effective = NULL;

  data->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (
          G_SOCKET_LISTENER (data->service), address, G_SOCKET_TYPE_STREAM,
          G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
    return FALSE;
  data->redirect_uri = g_strdup_printf (
      "http://127.0.0.1:%u",
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  data->incoming_id = g_signal_connect (
      data->service, "incoming", G_CALLBACK (on_service_incoming_cb), task);
  g_socket_service_start (data->service);
  return TRUE;
}

/* Public API */

void
mb_oauth_client_sign_in_browser_async (MbOAuthClient        *self,
                                       const char           *scope,
                                       MbOAuthBrowserFlags   flags,
                                       MbOAuthBrowserUriFunc uri_func,
                                       gpointer              uri_data,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = NULL;
  BrowserData     *data;

  g_return_if_fail (MB_IS_OAUTH_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_oauth_client_sign_in_browser_async);
  data = g_new0 (BrowserData, 1);
  data->scope = g_strdup (scope != NULL ? scope : MB_OAUTH_SCOPE_DELEGATED);
  data->io_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, data, (GDestroyNotify)browser_data_free);

  data->verifier = mb_oauth_random_token (VERIFIER_BYTES, &error);
  data->state = data->verifier != NULL
                    ? mb_oauth_random_token (STATE_BYTES, &error)
                    : NULL;
  if (data->state == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!start_listening (task, &error))
    {
      g_task_return_new_error (task, MB_OAUTH_ERROR, MB_OAUTH_ERROR_CONFIG,
                               "Cannot listen on 127.0.0.1 for the "
                               "sign-in's redirect: %s",
                               error->message);
      return;
    }

  data->timeout = g_timeout_source_new_seconds (SIGNIN_TIMEOUT_SECONDS);
  if (cancellable != NULL)
    {
      g_autoptr (GSource) child = g_cancellable_source_new (cancellable);

      g_source_set_callback (child, G_SOURCE_FUNC (cancelled_source_cb), NULL,
                             NULL);
      g_source_add_child_source (data->timeout, child);
    }
  g_source_set_callback (data->timeout, timeout_cb, g_object_ref (task),
                         g_object_unref);
  g_source_attach (data->timeout, g_main_context_get_thread_default ());

  uri = build_authorize_uri (self, data);
  g_debug ("flow=browser redirect-uri=%s", data->redirect_uri);
  if (uri_func != NULL)
    uri_func (uri, uri_data);
  if (flags & MB_OAUTH_BROWSER_FLAGS_OPEN)
    g_app_info_launch_default_for_uri_async (uri, NULL, cancellable, launch_cb,
                                             NULL);
}

MbOAuthToken *
mb_oauth_client_sign_in_browser_finish (MbOAuthClient *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
