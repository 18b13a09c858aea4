/* mb-signin-flow.c - signing one route in to Microsoft 365 and storing it
 *
 * WHAT IT DOES
 *   The one sign-in sequence of `mailbridgectl signin ROUTE` and of the
 *   application's "Sign In" dialog, for one [route NAME]:
 *     auth=oauth-device   device code (RFC 8628): "device-code" with the
 *                         user code, polling until the admin signed in;
 *                         stores the refresh token
 *     auth=oauth-browser  authorization code with PKCE and a loopback
 *                         redirect (RFC 7636, RFC 8252 7.3):
 *                         "browser-uri" with the address to open (opened
 *                         when open-browser is set); stores the refresh
 *                         token
 *     auth=oauth-app      client credentials with the route's certificate
 *                         (+ the stored client-key-passphrase), the client
 *                         secret given with set_client_secret() (stored
 *                         once Entra accepted it, with the expiry given
 *                         with set_client_secret_expiry() or none) or the
 *                         stored one (which keeps its expiry)
 *   then clears a stale static access-token, which the relay would
 *   otherwise prefer to the new sign-in.
 *
 * GUARANTEES
 *   - Every step is asynchronous on the caller's thread-default main
 *     context (MbOAuthClient, MbCredentials); nothing blocks it.
 *   - Nothing is stored unless Entra accepted the sign-in: a refused or
 *     cancelled flow, or a wrong new client secret, leaves the store as it
 *     was.  Cancellation is honoured up to the first store; once a store
 *     began, the flow completes with what really happened.
 *   - Secrets (the given client secret, looked-up secrets, tokens) are
 *     wiped when dropped and never logged.
 *   - Entra's refusals keep their MB_OAUTH_ERROR codes and messages; the
 *     flow's own failures are MB_SIGNIN_FLOW_ERROR with translated
 *     messages, since the application shows them as they are.
 *
 * WHAT IT DOES NOT DO
 *   Ask the relay to read the secrets again (ReloadCredentials: the
 *   caller), ask the admin for a client secret (the caller, on
 *   MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET), or print anything.
 *
 * RFC 6749 4.4 (client credentials), RFC 8628 (device authorization),
 * RFC 7636 (PKCE), RFC 8252 7.3 (loopback redirect), M365-FACTS.md 2.
 */
#define G_LOG_DOMAIN "mb-signin-flow"

#include "mb-signin-flow.h"

#include <glib/gi18n-lib.h>

#include "mb-credentials.h"
#include "mb-oauth.h"
#include "mb-smtp-reply.h"

struct _MbSigninFlow
{
  GObject parent_instance;

  MbRelayConfig       *config;                /* (owned) */
  const MbRouteConfig *route;                 /* (unowned) inside config */
  MbCredentials       *credentials;           /* (owned) */
  MbOAuthClient       *client;                /* (owned) */
  char                *client_secret;         /* (owned) (nullable) wiped */
  gint64               client_secret_expires; /* unix s, 0 unknown */
  gboolean             open_browser;
  gboolean             started;
};

/* One run: the app-only credential under way. */
typedef struct
{
  MbOAuthAppCredential *credential; /* (owned) (nullable) wiped */
  char                 *new_secret; /* (owned) (nullable) wiped: store it */
  gint64                new_secret_expires; /* unix s, 0 unknown */
} RunData;

enum
{
  SIGNAL_DEVICE_CODE,
  SIGNAL_BROWSER_URI,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void request_app_token (GTask *task);
static void store_then_clear (GTask      *task,
                              const char *kind,
                              const char *secret,
                              gint64      expires_at);

G_DEFINE_FINAL_TYPE (MbSigninFlow, mb_signin_flow, G_TYPE_OBJECT)

GQuark
mb_signin_flow_error_quark (void)
{
  return g_quark_from_static_string ("mb-signin-flow-error-quark");
}

/* Helpers */

static void
run_data_free (RunData *data)
{
  g_clear_pointer (&data->credential, mb_oauth_app_credential_free);
  g_clear_pointer (&data->new_secret, mb_smtp_secret_free);
  g_free (data);
}

static gboolean
auth_signs_in_here (MbRouteAuth auth)
{
  return auth == MB_ROUTE_AUTH_OAUTH_DEVICE
         || auth == MB_ROUTE_AUTH_OAUTH_BROWSER
         || auth == MB_ROUTE_AUTH_OAUTH_APP;
}

/* Callbacks, in execution order */

static void
on_device_prompt_cb (const MbOAuthDevicePrompt *prompt, gpointer user_data)
{
  MbSigninFlow *self = user_data;

  g_signal_emit (self, signals[SIGNAL_DEVICE_CODE], 0, prompt->user_code,
                 prompt->verification_uri, prompt->expires_in);
}

static void
on_browser_uri_cb (const char *uri, gpointer user_data)
{
  MbSigninFlow *self = user_data;

  g_signal_emit (self, signals[SIGNAL_BROWSER_URI], 0, uri);
}

/* The delegated flows end here: a token that must carry a refresh
 * token, which is what the relay keeps. */
static void
delegated_done (GTask *task, MbOAuthToken *token, GError *error)
{
  if (token == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Entra accepted the sign-in and what follows writes the store: a
   * cancel that came in the meantime is honoured here, and no later. */
  if (g_task_return_error_if_cancelled (task))
    return;
  if (token->refresh_token == NULL)
    {
      g_task_return_new_error (
          task, MB_SIGNIN_FLOW_ERROR, MB_SIGNIN_FLOW_ERROR_NO_REFRESH_TOKEN,
          _ ("Microsoft Entra ID sent no refresh token (the scope "
             "offline_access was not granted)"));
      return;
    }
  store_then_clear (task, MB_CREDENTIALS_KIND_REFRESH_TOKEN,
                    token->refresh_token, 0);
}

static void
device_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (MbOAuthToken) token = NULL;
  GError *error = NULL;

  token = mb_oauth_client_sign_in_device_finish (MB_OAUTH_CLIENT (source),
                                                 result, &error);
  delegated_done (task, token, error);
}

static void
browser_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (MbOAuthToken) token = NULL;
  GError *error = NULL;

  token = mb_oauth_client_sign_in_browser_finish (MB_OAUTH_CLIENT (source),
                                                  result, &error);
  delegated_done (task, token, error);
}

static void
passphrase_looked_up_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  GError  *error = NULL;

  data->credential->key_passphrase = mb_credentials_lookup_finish (
      MB_CREDENTIALS (source), result, NULL, &error);
  if (error != NULL)
    {
      g_prefix_error (&error,
                      _ ("The passphrase of the client key cannot be read: "));
      g_task_return_error (task, error);
      return;
    }
  /* None stored: the key is not encrypted, or JWT signing says so. */
  request_app_token (task);
}

static void
secret_looked_up_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  GError  *error = NULL;

  data->credential->client_secret = mb_credentials_lookup_finish (
      MB_CREDENTIALS (source), result, NULL, &error);
  if (error != NULL)
    {
      g_prefix_error (&error, _ ("The stored client secret cannot be read: "));
      g_task_return_error (task, error);
      return;
    }
  if (data->credential->client_secret == NULL)
    {
      g_task_return_new_error (
          task, MB_SIGNIN_FLOW_ERROR, MB_SIGNIN_FLOW_ERROR_NEEDS_SECRET,
          _ ("No client secret is stored for the route and none was given"));
      return;
    }
  request_app_token (task);
}

static void
app_token_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (MbOAuthToken) token = NULL;
  RunData *data = g_task_get_task_data (task);
  GError  *error = NULL;

  token = mb_oauth_client_request_app_token_finish (MB_OAUTH_CLIENT (source),
                                                    result, &error);
  if (token == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* As in delegated_done(): the last point to honour a cancel. */
  if (g_task_return_error_if_cancelled (task))
    return;
  /* The token itself is not kept: the relay asks for its own.  The new
   * secret replaces the old one and its date: a date the admin did not
   * give is unknown, not the old secret's. */
  store_then_clear (
      task, data->new_secret != NULL ? MB_CREDENTIALS_KIND_CLIENT_SECRET : NULL,
      data->new_secret, data->new_secret_expires);
}

static void
access_token_cleared_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSigninFlow *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!mb_credentials_clear_finish (MB_CREDENTIALS (source), result, &error))
    {
      g_task_return_new_error (
          task, MB_SIGNIN_FLOW_ERROR, MB_SIGNIN_FLOW_ERROR_STORE_FAILED,
          _ ("The sign-in is stored, but the old access-token cannot be "
             "removed: %s"),
          error->message);
      return;
    }
  g_debug ("route=%s signin=done", self->route->name);
  g_task_return_boolean (task, TRUE);
}

/* A static access-token would win over the new sign-in in the relay. */
static void
clear_access_token (GTask *task)
{
  MbSigninFlow *self = g_task_get_source_object (task);

  /* Not cancellable: the new sign-in is stored already, and it only
   * takes effect without the old token. */
  mb_credentials_clear_async (self->credentials, self->route->name,
                              MB_CREDENTIALS_KIND_ACCESS_TOKEN, NULL,
                              access_token_cleared_cb, g_object_ref (task));
}

static void
secret_stored_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbSigninFlow *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!mb_credentials_store_finish (MB_CREDENTIALS (source), result, &error))
    {
      const char *format
          = self->route->auth == MB_ROUTE_AUTH_OAUTH_APP
                ? _ ("The client secret works, but it cannot be stored: %s")
                : _ ("The sign-in worked, but its refresh token cannot be "
                     "stored: %s");

      g_task_return_new_error (task, MB_SIGNIN_FLOW_ERROR,
                               MB_SIGNIN_FLOW_ERROR_STORE_FAILED, format,
                               error->message);
      return;
    }
  g_debug ("route=%s signin=stored", self->route->name);
  clear_access_token (task);
}

/* Stores @secret as @kind with @expires_at (@kind and @secret NULL:
 * nothing new to store), then clears the access-token. */
static void
store_then_clear (GTask      *task,
                  const char *kind,
                  const char *secret,
                  gint64      expires_at)
{
  MbSigninFlow *self = g_task_get_source_object (task);

  if (kind == NULL)
    {
      clear_access_token (task);
      return;
    }
  /* Not cancellable: a store either happens or fails, and the result
   * says which (see delegated_done()). */
  mb_credentials_store_async (self->credentials, self->route->name, kind,
                              secret, expires_at, NULL, secret_stored_cb,
                              g_object_ref (task));
}

static void
request_app_token (GTask *task)
{
  MbSigninFlow *self = g_task_get_source_object (task);
  RunData      *data = g_task_get_task_data (task);

  mb_oauth_client_request_app_token_async (self->client, data->credential,
                                           g_task_get_cancellable (task),
                                           app_token_cb, g_object_ref (task));
}

static void
start_app (GTask *task)
{
  MbSigninFlow *self = g_task_get_source_object (task);
  RunData      *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  data->credential = mb_oauth_app_credential_new ();
  if (self->route->client_certificate != NULL)
    {
      data->credential->certificate_file
          = g_strdup (self->route->client_certificate);
      data->credential->key_file = g_strdup (self->route->client_key);
      mb_credentials_lookup_async (self->credentials, self->route->name,
                                   MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE,
                                   cancellable, passphrase_looked_up_cb,
                                   g_object_ref (task));
      return;
    }
  if (self->client_secret != NULL)
    {
      data->credential->client_secret = g_strdup (self->client_secret);
      data->new_secret = g_strdup (self->client_secret);
      data->new_secret_expires = self->client_secret_expires;
      request_app_token (task);
      return;
    }
  mb_credentials_lookup_async (self->credentials, self->route->name,
                               MB_CREDENTIALS_KIND_CLIENT_SECRET, cancellable,
                               secret_looked_up_cb, g_object_ref (task));
}

/* Overrides */

static void
mb_signin_flow_finalize (GObject *object)
{
  MbSigninFlow *self = MB_SIGNIN_FLOW (object);

  g_clear_pointer (&self->client_secret, mb_smtp_secret_free);
  g_clear_object (&self->client);
  g_clear_object (&self->credentials);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  G_OBJECT_CLASS (mb_signin_flow_parent_class)->finalize (object);
}

static void
mb_signin_flow_class_init (MbSigninFlowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = mb_signin_flow_finalize;

  /**
   * MbSigninFlow::device-code:
   * @user_code: what the admin types at @verification_uri.
   * @verification_uri: e.g. https://microsoft.com/devicelogin.
   * @expires_in: seconds until the code expires.
   *
   * oauth-device, once Entra handed out the code; polling starts after
   * the handlers return.
   */
  signals[SIGNAL_DEVICE_CODE] = g_signal_new (
      "device-code", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
      G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_INT64);

  /**
   * MbSigninFlow::browser-uri:
   * @uri: the authorize address to open.
   *
   * oauth-browser, once the loopback listener runs (from within
   * mb_signin_flow_run_async()), before the browser is opened.
   */
  signals[SIGNAL_BROWSER_URI] = g_signal_new (
      "browser-uri", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
mb_signin_flow_init (MbSigninFlow *self)
{
}

/* Public API */

MbSigninFlow *
mb_signin_flow_new (MbRelayConfig *config, const char *route, GError **error)
{
  g_autoptr (MbSigninFlow) self = NULL;
  const MbRouteConfig *route_config;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (route != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  route_config = mb_relay_config_lookup_route (config, route);
  if (route_config == NULL)
    {
      if (config->path != NULL)
        g_set_error (error, MB_SIGNIN_FLOW_ERROR,
                     MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE,
                     /* Translators: a file name, then a route name. */
                     _ ("%s has no [route %s]"), config->path, route);
      else
        g_set_error (error, MB_SIGNIN_FLOW_ERROR,
                     MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE,
                     _ ("The configuration has no [route %s]"), route);
      return NULL;
    }
  if (!auth_signs_in_here (route_config->auth))
    {
      g_set_error (
          error, MB_SIGNIN_FLOW_ERROR, MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE,
          _ ("The route signs in with auth=%s, not with OAuth: sign-in "
             "is for auth=oauth-device, oauth-browser and oauth-app"),
          mb_route_auth_to_string (route_config->auth));
      return NULL;
    }

  self = g_object_new (MB_TYPE_SIGNIN_FLOW, NULL);
  self->config = mb_relay_config_ref (config);
  self->route = route_config;
  self->credentials = mb_credentials_new_for_config (config, error);
  if (self->credentials == NULL)
    return NULL;
  self->client = mb_oauth_client_new_for_route (route_config, error);
  if (self->client == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

const char *
mb_signin_flow_get_route (MbSigninFlow *self)
{
  g_return_val_if_fail (MB_IS_SIGNIN_FLOW (self), NULL);

  return self->route->name;
}

MbRouteAuth
mb_signin_flow_get_auth (MbSigninFlow *self)
{
  g_return_val_if_fail (MB_IS_SIGNIN_FLOW (self), MB_ROUTE_AUTH_NONE);

  return self->route->auth;
}

gboolean
mb_signin_flow_uses_client_secret (MbSigninFlow *self)
{
  g_return_val_if_fail (MB_IS_SIGNIN_FLOW (self), FALSE);

  return self->route->auth == MB_ROUTE_AUTH_OAUTH_APP
         && self->route->client_certificate == NULL;
}

void
mb_signin_flow_set_client_secret (MbSigninFlow *self, const char *secret)
{
  g_return_if_fail (MB_IS_SIGNIN_FLOW (self));

  g_clear_pointer (&self->client_secret, mb_smtp_secret_free);
  /* An empty secret is none: Entra would only refuse it. */
  if (secret != NULL && *secret != '\0')
    self->client_secret = g_strdup (secret);
}

void
mb_signin_flow_set_client_secret_expiry (MbSigninFlow *self, gint64 expires_at)
{
  g_return_if_fail (MB_IS_SIGNIN_FLOW (self));
  g_return_if_fail (expires_at >= 0);

  self->client_secret_expires = expires_at;
}

void
mb_signin_flow_set_open_browser (MbSigninFlow *self, gboolean open)
{
  g_return_if_fail (MB_IS_SIGNIN_FLOW (self));

  self->open_browser = open;
}

void
mb_signin_flow_run_async (MbSigninFlow       *self,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_SIGNIN_FLOW (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_signin_flow_run_async);
  g_task_set_task_data (task, g_new0 (RunData, 1),
                        (GDestroyNotify)run_data_free);
  /* A cancel that comes while storing must not turn a stored sign-in
   * into "cancelled": the steps check it themselves. */
  g_task_set_check_cancellable (task, FALSE);
  g_debug ("route=%s signin=start auth=%s", self->route->name,
           mb_route_auth_to_string (self->route->auth));

  /* The signal handlers get @self from the task's reference. */
  switch (self->route->auth)
    {
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
      mb_oauth_client_sign_in_device_async (
          self->client, NULL, on_device_prompt_cb, self, cancellable,
          device_done_cb, g_steal_pointer (&task));
      break;
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
      mb_oauth_client_sign_in_browser_async (
          self->client, NULL,
          self->open_browser ? MB_OAUTH_BROWSER_FLAGS_OPEN
                             : MB_OAUTH_BROWSER_FLAGS_NONE,
          on_browser_uri_cb, self, cancellable, browser_done_cb,
          g_steal_pointer (&task));
      break;
    case MB_ROUTE_AUTH_OAUTH_APP:
      start_app (task);
      break;
    case MB_ROUTE_AUTH_NONE:
    case MB_ROUTE_AUTH_BASIC:
    default:
      /* mb_signin_flow_new() refuses these. */
      g_task_return_new_error (task, MB_SIGNIN_FLOW_ERROR,
                               MB_SIGNIN_FLOW_ERROR_NOT_APPLICABLE,
                               "auth=%s does not sign in here",
                               mb_route_auth_to_string (self->route->auth));
      break;
    }
}

gboolean
mb_signin_flow_run_finish (MbSigninFlow *self,
                           GAsyncResult *result,
                           GError      **error)
{
  g_return_val_if_fail (MB_IS_SIGNIN_FLOW (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                            == mb_signin_flow_run_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
