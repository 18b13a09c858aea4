/* mb-route-signin-secrets.c - reading a route's secrets and deciding what
 * it signs in with
 *
 * WHAT IT DOES
 *   A load: reads the secrets the route's auth needs from MbCredentials
 *   (keyring or secrets file, always through the asynchronous API, one
 *   kind after the other) and decides what the route signs in with:
 *     auth=basic          password
 *     auth=oauth-device,  access-token when one is stored (tests, or a
 *     auth=oauth-browser  token another tool keeps fresh), else a token
 *                         source renewing from the refresh-token
 *     auth=oauth-app      access-token, else a token source with the
 *                         client-certificate (+ client-key and its
 *                         client-key-passphrase) or the client-secret
 *   plus the TLS client certificate of the connector method (read by
 *   mb-route-signin-cert.c; an encrypted key sends the load back for its
 *   passphrase).  The outcome sets the route's state through
 *   mb_route_signin_apply_problem().  It also keeps the store in step with
 *   the token source it made.
 *
 * GUARANTEES
 *   - Nothing blocks the main loop: secrets come from the asynchronous
 *     MbCredentials calls, the certificate from a worker thread.
 *   - A newer load supersedes an older one: the older one's results are
 *     dropped, never applied.
 *   - One outcome per load: NEEDS_SIGNIN for a missing refresh token
 *     (delegated) or client secret and certificate (oauth-app), PAUSED
 *     with the reason for a store that cannot be read, no mailbox, an
 *     unusable OAuth configuration, no password, an unusable client
 *     certificate; else usable.
 *   - Every refresh token Entra hands out ("refresh-token-changed") is
 *     stored at once, replacing the old one (M365-FACTS.md 2.3), even when
 *     the relay stops meanwhile.
 *   - Secrets are wiped when dropped and never logged.
 *
 * WHAT IT DOES NOT DO
 *   Serve prepares or map token errors (mb-route-signin.c), run a sign-in
 *   flow (mailbridgectl signin, the application), or ask Entra for tokens
 *   (MbOAuthTokenSource).
 *
 * RFC 6749 6 (refresh), M365-FACTS.md 2.
 */
#define G_LOG_DOMAIN "mb-route-signin"

#include "mb-route-signin-private.h"

#include "mb-smtp-reply.h"

/* One load of the secrets. */
typedef struct
{
  MbRouteSignin *self; /* (owned) */
  guint          generation;
  GPtrArray     *kinds;       /* (element-type utf8) (static) still to read */
  GHashTable    *found;       /* (owned) kind -> secret, wiped on free */
  GError        *store_error; /* (owned) (nullable) */
  gboolean       asked_passphrase;
} LoadData;

static void lookup_next (LoadData *data);

/* Helpers */

static void
wipe_free (gpointer secret)
{
  mb_smtp_secret_free (secret);
}

static void
load_data_free (LoadData *data)
{
  g_clear_object (&data->self);
  g_clear_pointer (&data->kinds, g_ptr_array_unref);
  g_clear_pointer (&data->found, g_hash_table_unref);
  g_clear_error (&data->store_error);
  g_free (data);
}

static gboolean
is_delegated (MbRouteAuth auth)
{
  return auth == MB_ROUTE_AUTH_OAUTH_DEVICE
         || auth == MB_ROUTE_AUTH_OAUTH_BROWSER;
}

/* The TLS client certificate is the connector's; with oauth-app the
 * route's certificate signs the client assertion instead. */
static gboolean
wants_tls_certificate (MbRouteSignin *self)
{
  return self->client_certificate != NULL
         && self->auth != MB_ROUTE_AUTH_OAUTH_APP;
}

static char *
not_signed_in_text (MbRouteSignin *self)
{
  if (self->auth == MB_ROUTE_AUTH_OAUTH_APP)
    return g_strdup_printf (
        "No client secret or certificate for route %s: set client-certificate "
        "in [route %s], or store the client secret with the Mailbridge "
        "application or in the secrets file, then run mailbridgectl signin "
        "%s",
        self->name, self->name, self->name);
  return g_strdup_printf ("Route %s is not signed in to Microsoft 365: run "
                          "mailbridgectl signin %s, or sign in with the "
                          "Mailbridge application",
                          self->name, self->name);
}

/* The kinds to read for this route's sign-in. */
static GPtrArray *
kinds_to_read (MbRouteSignin *self)
{
  GPtrArray *kinds = g_ptr_array_new ();

  if (self->credentials == NULL)
    return kinds;
  switch (self->auth)
    {
    case MB_ROUTE_AUTH_BASIC:
      g_ptr_array_add (kinds, MB_CREDENTIALS_KIND_PASSWORD);
      break;
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
      g_ptr_array_add (kinds, MB_CREDENTIALS_KIND_ACCESS_TOKEN);
      g_ptr_array_add (kinds, MB_CREDENTIALS_KIND_REFRESH_TOKEN);
      break;
    case MB_ROUTE_AUTH_OAUTH_APP:
      g_ptr_array_add (kinds, MB_CREDENTIALS_KIND_ACCESS_TOKEN);
      g_ptr_array_add (kinds, MB_CREDENTIALS_KIND_CLIENT_SECRET);
      if (self->client_certificate != NULL)
        g_ptr_array_add (kinds, MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE);
      break;
    case MB_ROUTE_AUTH_NONE:
    default:
      break;
    }
  return kinds;
}

/* Finishing a load */

static void
finish_load (LoadData *data, ProblemKind kind, const char *text)
{
  MbRouteSignin *self = data->self;

  self->loading = FALSE;
  self->usable = kind == PROBLEM_NONE;
  mb_route_signin_apply_problem (self, kind, text);
  g_debug ("route=%s sign-in material %s", self->name,
           self->usable ? "ready" : "incomplete");
  mb_route_signin_complete_waiters (self);
}

static void
certificate_loaded_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  LoadData      *data = user_data;
  MbRouteSignin *self = data->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;

  certificate = mb_route_signin_read_certificate_finish (result, &error);
  if (data->generation != self->generation)
    {
      load_data_free (data);
      return;
    }
  if (certificate == NULL
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED)
      && !data->asked_passphrase && self->credentials != NULL)
    {
      /* An encrypted key: its passphrase is a secret of the route. */
      data->asked_passphrase = TRUE;
      g_ptr_array_add (data->kinds, MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE);
      lookup_next (data);
      return;
    }
  if (certificate == NULL)
    {
      g_autofree char *reason
          = g_strdup_printf ("The client certificate %s cannot be used: %s",
                             self->client_certificate, error->message);

      finish_load (data, PROBLEM_PAUSE, reason);
      load_data_free (data);
      return;
    }
  g_set_object (&self->tls_certificate, certificate);
  finish_load (data, PROBLEM_NONE, NULL);
  load_data_free (data);
}

static void
load_certificate (LoadData *data)
{
  MbRouteSignin *self = data->self;
  const char    *passphrase = g_hash_table_lookup (
         data->found, MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE);

  mb_route_signin_read_certificate_async (
      self->client_certificate,
      self->client_key != NULL ? self->client_key : self->client_certificate,
      passphrase, self->cancellable, certificate_loaded_cb, data);
}

/* The token source: the store follows its rotated refresh tokens */

static void
refresh_token_stored_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autofree char *route = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_credentials_store_finish (MB_CREDENTIALS (source), result, &error))
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", route,
                      "MESSAGE",
                      "route=%s the new refresh token could not be stored: "
                      "%s",
                      route, error->message);
  else
    g_debug ("route=%s refresh-token=******** stored", route);
}

static void
on_refresh_token_changed_cb (MbOAuthTokenSource *source,
                             const char         *refresh_token,
                             gpointer            user_data)
{
  MbRouteSignin *self = user_data;

  if (self->credentials == NULL)
    return;
  /* Not cancellable: a rotated refresh token must reach the store even
   * when the relay stops meanwhile. */
  mb_credentials_store_async (
      self->credentials, self->name, MB_CREDENTIALS_KIND_REFRESH_TOKEN,
      refresh_token, 0, NULL, refresh_token_stored_cb, g_strdup (self->name));
}

static void
on_needs_signin_notify_cb (GObject    *object,
                           GParamSpec *pspec,
                           gpointer    user_data)
{
  MbRouteSignin *self = user_data;

  /* A keepalive refresh may find the refresh token refused while no mail
   * flows; a delivery's request reports Entra's reason itself. */
  if (mb_oauth_token_source_get_needs_signin (MB_OAUTH_TOKEN_SOURCE (object))
      && self->problem_kind == PROBLEM_NONE)
    {
      g_autofree char *text = g_strdup_printf (
          "Microsoft Entra ID refused the stored sign-in of route %s: run "
          "mailbridgectl signin %s",
          self->name, self->name);

      mb_route_signin_apply_problem (self, PROBLEM_NEEDS_SIGNIN, text);
    }
}

/* All secrets read: decide what the route signs in with. */
static void
decide (LoadData *data)
{
  MbRouteSignin *self = data->self;
  GHashTable    *found = data->found;
  const char    *access_token
      = g_hash_table_lookup (found, MB_CREDENTIALS_KIND_ACCESS_TOKEN);

  g_clear_pointer (&self->secret, mb_smtp_secret_free);
  mb_route_signin_set_token_source (self, NULL);

  if (data->store_error != NULL)
    {
      g_autofree char *reason
          = g_strdup_printf ("The secrets of route %s cannot be read: %s",
                             self->name, data->store_error->message);

      finish_load (data, PROBLEM_PAUSE, reason);
      load_data_free (data);
      return;
    }
  if (self->auth != MB_ROUTE_AUTH_NONE && self->mailbox == NULL)
    {
      g_autofree char *reason = g_strdup_printf (
          "No mailbox for [route %s]: set mailbox, the account to sign in as",
          self->name);

      finish_load (data, PROBLEM_PAUSE, reason);
      load_data_free (data);
      return;
    }
  if (mb_route_signin_is_oauth (self->auth) && access_token == NULL
      && self->oauth == NULL)
    {
      g_autofree char *reason
          = g_strdup_printf ("Route %s cannot sign in with OAuth: %s",
                             self->name, self->oauth_error);

      finish_load (data, PROBLEM_PAUSE, reason);
      load_data_free (data);
      return;
    }

  switch (self->auth)
    {
    case MB_ROUTE_AUTH_BASIC:
      self->secret = g_strdup (
          g_hash_table_lookup (found, MB_CREDENTIALS_KIND_PASSWORD));
      if (self->secret == NULL)
        {
          g_autofree char *reason
              = g_strdup_printf ("No password for [route %s]: store it with "
                                 "the Mailbridge application, or set "
                                 "password in the secrets file ([relay] "
                                 "secrets)",
                                 self->name);

          finish_load (data, PROBLEM_PAUSE, reason);
          load_data_free (data);
          return;
        }
      break;
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
      {
        const char *refresh_token
            = g_hash_table_lookup (found, MB_CREDENTIALS_KIND_REFRESH_TOKEN);

        if (access_token != NULL)
          self->secret = g_strdup (access_token);
        else if (refresh_token != NULL)
          mb_route_signin_set_token_source (
              self,
              mb_oauth_token_source_new_delegated (self->oauth, refresh_token));
        else
          {
            g_autofree char *reason = not_signed_in_text (self);

            finish_load (data, PROBLEM_NEEDS_SIGNIN, reason);
            load_data_free (data);
            return;
          }
      }
      break;
    case MB_ROUTE_AUTH_OAUTH_APP:
      {
        const char *client_secret
            = g_hash_table_lookup (found, MB_CREDENTIALS_KIND_CLIENT_SECRET);

        if (access_token != NULL)
          self->secret = g_strdup (access_token);
        else if (self->client_certificate != NULL || client_secret != NULL)
          {
            g_autoptr (MbOAuthAppCredential) credential
                = mb_oauth_app_credential_new ();

            credential->certificate_file = g_strdup (self->client_certificate);
            credential->key_file = g_strdup (self->client_key);
            credential->key_passphrase = g_strdup (g_hash_table_lookup (
                found, MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE));
            if (self->client_certificate == NULL)
              credential->client_secret = g_strdup (client_secret);
            mb_route_signin_set_token_source (
                self, mb_oauth_token_source_new_app (self->oauth, credential));
          }
        else
          {
            g_autofree char *reason = not_signed_in_text (self);

            finish_load (data, PROBLEM_NEEDS_SIGNIN, reason);
            load_data_free (data);
            return;
          }
      }
      break;
    case MB_ROUTE_AUTH_NONE:
    default:
      break;
    }

  if (wants_tls_certificate (self))
    {
      load_certificate (data);
      return;
    }
  finish_load (data, PROBLEM_NONE, NULL);
  load_data_free (data);
}

static void
lookup_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadData      *data = user_data;
  MbRouteSignin *self = data->self;
  const char    *kind = data->kinds->pdata[0];
  g_autoptr (GError) error = NULL;
  char *secret;

  secret = mb_credentials_lookup_finish (MB_CREDENTIALS (source), result, NULL,
                                         &error);
  if (data->generation != self->generation
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      mb_smtp_secret_free (secret);
      load_data_free (data);
      return;
    }
  g_ptr_array_remove_index (data->kinds, 0);
  if (secret != NULL)
    g_hash_table_insert (data->found, (gpointer)kind, secret);
  else if (error != NULL && data->store_error == NULL)
    {
      data->store_error = g_steal_pointer (&error);
      /* Nothing more can come from a store that failed. */
      g_ptr_array_set_size (data->kinds, 0);
    }
  lookup_next (data);
}

static void
lookup_next (LoadData *data)
{
  MbRouteSignin *self = data->self;

  if (data->kinds->len > 0)
    {
      mb_credentials_lookup_async (self->credentials, self->name,
                                   data->kinds->pdata[0], self->cancellable,
                                   lookup_cb, data);
      return;
    }
  if (data->asked_passphrase)
    {
      /* Back from reading the key's passphrase. */
      if (data->store_error != NULL)
        {
          g_autofree char *reason = g_strdup_printf (
              "The client certificate %s cannot be used: its key is "
              "encrypted and the passphrase cannot be read: %s",
              self->client_certificate, data->store_error->message);

          finish_load (data, PROBLEM_PAUSE, reason);
          load_data_free (data);
          return;
        }
      if (g_hash_table_lookup (data->found,
                               MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE)
          == NULL)
        {
          g_autofree char *reason = g_strdup_printf (
              "The client certificate %s cannot be used: its key is "
              "encrypted and no client-key-passphrase is stored for route %s",
              self->client_certificate, self->name);

          finish_load (data, PROBLEM_PAUSE, reason);
          load_data_free (data);
          return;
        }
      load_certificate (data);
      return;
    }
  decide (data);
}

/* Private API */

gboolean
mb_route_signin_is_oauth (MbRouteAuth auth)
{
  return is_delegated (auth) || auth == MB_ROUTE_AUTH_OAUTH_APP;
}

void
mb_route_signin_set_token_source (MbRouteSignin      *self,
                                  MbOAuthTokenSource *source)
{
  if (self->token_source != NULL)
    g_signal_handlers_disconnect_by_data (self->token_source, self);
  g_clear_object (&self->token_source);
  if (source == NULL)
    return;
  self->token_source = source;
  g_signal_connect (source, "refresh-token-changed",
                    G_CALLBACK (on_refresh_token_changed_cb), self);
  g_signal_connect (source, "notify::needs-signin",
                    G_CALLBACK (on_needs_signin_notify_cb), self);
}

void
mb_route_signin_start_load (MbRouteSignin *self)
{
  LoadData *data = g_new0 (LoadData, 1);

  self->generation++;
  self->loading = TRUE;
  data->self = g_object_ref (self);
  data->generation = self->generation;
  data->kinds = kinds_to_read (self);
  data->found
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, wipe_free);
  lookup_next (data);
}
