/* mb-route-signin.c - what one route signs in with
 *
 * WHAT IT DOES
 *   Reads a route's secrets from MbCredentials (keyring or secrets file,
 *   always through the asynchronous API), builds what the connection pool
 *   needs to sign in (a password, an XOAUTH2 token source, a static access
 *   token, a TLS client certificate) and keeps the route's state in step:
 *     auth=basic          password
 *     auth=oauth-device,  access-token when one is stored (tests, or a
 *     auth=oauth-browser  token another tool keeps fresh), else a token
 *                         source renewing from the refresh-token
 *     auth=oauth-app      access-token, else a token source with the
 *                         client-certificate (+ client-key and its
 *                         client-key-passphrase) or the client-secret
 *   plus the TLS client certificate of the connector method.
 *
 * GUARANTEES
 *   - Nothing blocks the main loop: secrets come from the asynchronous
 *     MbCredentials calls, the certificate is read in a worker thread,
 *     tokens come from the token source (HTTP in GIO/libsoup).
 *   - Every refresh token Entra hands out ("refresh-token-changed") is
 *     stored at once, replacing the old one (M365-FACTS.md 2.3).
 *   - A route that cannot sign in says why, once, in its state and one log
 *     line: NEEDS_SIGNIN for a missing or refused refresh token (Entra's
 *     reason in plain language, with the AADSTS code), PAUSED for anything
 *     the admin must fix otherwise.  Its messages stay queued.  A reload
 *     that finds usable secrets lifts exactly what this module set.
 *   - Secrets are wiped when dropped and never logged.
 *
 * WHAT IT DOES NOT DO
 *   Run a sign-in flow (mailbridgectl signin, the application), connect,
 *   or decide on retries (the connection pool).
 *
 * RFC 4954 (AUTH), RFC 6749 6 (refresh), M365-FACTS.md 2.
 */
#define G_LOG_DOMAIN "mb-route-signin"

#include "mb-route-signin.h"

#include "mb-oauth.h"
#include "mb-smtp-reply.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

typedef enum
{
  PROBLEM_NONE,
  PROBLEM_NEEDS_SIGNIN,
  PROBLEM_PAUSE,
} ProblemKind;

struct _MbRouteSignin
{
  GObject parent_instance;

  MbRoute       *route;       /* (owned) */
  MbCredentials *credentials; /* (owned) (nullable) */

  /* From the [route NAME] group. */
  char          *name; /* (owned) */
  MbRouteAuth    auth;
  char          *mailbox;            /* (owned) (nullable) */
  char          *client_certificate; /* (owned) (nullable) */
  char          *client_key;         /* (owned) (nullable) */
  char          *authority;          /* (owned) (nullable) for messages */
  MbOAuthClient *oauth;              /* (owned) (nullable) OAuth routes */
  char          *oauth_error;        /* (owned) (nullable) why there is none */

  /* The material of the last completed load. */
  guint               generation; /* of the load under way or last done */
  gboolean            loading;
  gboolean            usable;
  char               *secret;          /* (owned) (nullable) wiped */
  MbOAuthTokenSource *token_source;    /* (owned) (nullable) */
  GTlsCertificate    *tls_certificate; /* (owned) (nullable) */

  ProblemKind problem_kind;
  char       *problem;      /* (owned) (nullable) */
  char       *pause_reason; /* (owned) (nullable) the pause we set */

  GPtrArray    *waiters;        /* (owned) (element-type GTask) prepare */
  GPtrArray    *reload_waiters; /* (owned) (element-type GTask) reload */
  GCancellable *cancellable;    /* (owned) */
};

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

/* What a prepare hands the pool. */
typedef struct
{
  char *secret; /* (owned) (nullable) wiped */
} Material;

typedef struct
{
  char *cert_path;  /* (owned) */
  char *key_path;   /* (owned) */
  char *passphrase; /* (owned) (nullable) wiped */
} CertData;

enum
{
  PROP_0,
  PROP_PROBLEM,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (MbRouteSignin, mb_route_signin, G_TYPE_OBJECT)

static void start_load (MbRouteSignin *self);
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

static void
material_free (Material *material)
{
  mb_smtp_secret_free (material->secret);
  g_free (material);
}

static void
cert_data_free (CertData *data)
{
  g_free (data->cert_path);
  g_free (data->key_path);
  mb_smtp_secret_free (data->passphrase);
  g_free (data);
}

static gboolean
is_delegated (MbRouteAuth auth)
{
  return auth == MB_ROUTE_AUTH_OAUTH_DEVICE
         || auth == MB_ROUTE_AUTH_OAUTH_BROWSER;
}

static gboolean
is_oauth (MbRouteAuth auth)
{
  return is_delegated (auth) || auth == MB_ROUTE_AUTH_OAUTH_APP;
}

/* The TLS client certificate is the connector's; with oauth-app the
 * route's certificate signs the client assertion instead. */
static gboolean
wants_tls_certificate (MbRouteSignin *self)
{
  return self->client_certificate != NULL
         && self->auth != MB_ROUTE_AUTH_OAUTH_APP;
}

/* @text for a key="value" log field: one line, quotes escaped. */
static char *
quote_for_log (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, (*p == '\n' || *p == '\r') ? ' ' : *p);
    }
  return g_string_free (out, FALSE);
}

static void
set_problem_text (MbRouteSignin *self, const char *text)
{
  if (g_strcmp0 (self->problem, text) == 0)
    return;
  g_free (self->problem);
  self->problem = g_strdup (text);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROBLEM]);
}

/* Puts the route in the state @kind says, lifting what an earlier
 * problem of ours set. */
static void
apply_problem (MbRouteSignin *self, ProblemKind kind, const char *text)
{
  g_autofree char *quoted = NULL;

  if (self->problem_kind == PROBLEM_PAUSE && kind != PROBLEM_PAUSE
      && self->pause_reason != NULL
      && g_strcmp0 (mb_route_get_pause_reason (self->route), self->pause_reason)
             == 0)
    mb_route_resume (self->route);
  if (kind != PROBLEM_PAUSE)
    g_clear_pointer (&self->pause_reason, g_free);
  if (self->problem_kind == PROBLEM_NEEDS_SIGNIN
      && kind != PROBLEM_NEEDS_SIGNIN)
    mb_route_set_needs_signin (self->route, FALSE);

  if (kind != PROBLEM_NONE && self->problem_kind == kind
      && g_strcmp0 (self->problem, text) == 0)
    return;
  self->problem_kind = kind;
  set_problem_text (self, kind == PROBLEM_NONE ? NULL : text);

  switch (kind)
    {
    case PROBLEM_NONE:
      break;
    case PROBLEM_NEEDS_SIGNIN:
      quoted = quote_for_log (text);
      g_log_structured (
          G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", self->name, "MESSAGE",
          "route=%s state=needs-signin reason=\"%s\"", self->name, quoted);
      mb_route_set_needs_signin (self->route, TRUE);
      break;
    case PROBLEM_PAUSE:
      g_free (self->pause_reason);
      self->pause_reason = g_strdup (text);
      mb_route_pause (self->route, text);
      break;
    }
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

/* The client certificate, read in a worker thread */

/* The CERTIFICATE blocks of a PEM text, without any key block. */
static char *
extract_certificates (const char *pem)
{
  GString    *out = g_string_new (NULL);
  const char *p = pem;

  for (;;)
    {
      const char *begin = strstr (p, "-----BEGIN CERTIFICATE-----");
      const char *end;

      if (begin == NULL)
        break;
      end = strstr (begin, "-----END CERTIFICATE-----");
      if (end == NULL)
        break;
      end += strlen ("-----END CERTIFICATE-----");
      g_string_append_len (out, begin, end - begin);
      g_string_append_c (out, '\n');
      p = end;
    }
  return g_string_free (out, FALSE);
}

/* GIO's TLS backend reads only unencrypted keys: decrypt with GnuTLS into
 * memory and hand GIO a plain PKCS#8 PEM (the form it parses for every
 * key type), wiping every copy afterwards. */
static GTlsCertificate *
load_encrypted (const char *cert_path,
                const char *key_path,
                const char *passphrase,
                GError    **error)
{
  g_autofree char      *cert_pem = NULL;
  g_autofree char      *certs = NULL;
  char                 *key_pem = NULL;
  gsize                 key_len = 0;
  gnutls_x509_privkey_t key = NULL;
  gnutls_datum_t        in, out = { NULL, 0 };
  GTlsCertificate      *certificate = NULL;
  int                   rc;

  if (!g_file_get_contents (cert_path, &cert_pem, NULL, error)
      || !g_file_get_contents (key_path, &key_pem, &key_len, error))
    return NULL;
  certs = extract_certificates (cert_pem);

  in.data = (unsigned char *)key_pem;
  in.size = key_len;
  rc = gnutls_x509_privkey_init (&key);
  if (rc == GNUTLS_E_SUCCESS)
    rc = gnutls_x509_privkey_import2 (key, &in, GNUTLS_X509_FMT_PEM, passphrase,
                                      0);
  if (rc == GNUTLS_E_SUCCESS)
    rc = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                            GNUTLS_PKCS_PLAIN, &out);
  explicit_bzero (key_pem, key_len);
  g_free (key_pem);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  if (rc != GNUTLS_E_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the key %s cannot be decrypted with the stored "
                   "client-key-passphrase: %s",
                   key_path, gnutls_strerror (rc));
      return NULL;
    }
  {
    g_autofree char *combined = NULL;
    gsize            combined_len;

    combined = g_strdup_printf ("%s%.*s", certs, (int)out.size,
                                (const char *)out.data);
    combined_len = strlen (combined);
    explicit_bzero (out.data, out.size);
    gnutls_free (out.data);
    certificate = g_tls_certificate_new_from_pem (combined, -1, error);
    explicit_bzero (combined, combined_len);
  }
  return certificate;
}

/* Whether the PEM key file holds an encrypted key (PKCS#8 or the old
 * OpenSSL "Proc-Type: 4,ENCRYPTED" form). */
static gboolean
key_is_encrypted (const char *key_path)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (key_path, &text, NULL, NULL))
    return FALSE;
  return strstr (text, "ENCRYPTED") != NULL;
}

static void
load_certificate_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  CertData        *data = task_data;
  GError          *error = NULL;
  GTlsCertificate *certificate;

  if (data->passphrase != NULL)
    certificate = load_encrypted (data->cert_path, data->key_path,
                                  data->passphrase, &error);
  else if (key_is_encrypted (data->key_path))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                               "the key %s is encrypted and no "
                               "client-key-passphrase is stored",
                               data->key_path);
      return;
    }
  else
    certificate = g_tls_certificate_new_from_files (data->cert_path,
                                                    data->key_path, &error);
  if (certificate == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, certificate, g_object_unref);
}

/* Finishing a load */

static void complete_waiters (MbRouteSignin *self);

static void
finish_load (LoadData *data, ProblemKind kind, const char *text)
{
  MbRouteSignin *self = data->self;

  self->loading = FALSE;
  self->usable = kind == PROBLEM_NONE;
  apply_problem (self, kind, text);
  g_debug ("route=%s sign-in material %s", self->name,
           self->usable ? "ready" : "incomplete");
  complete_waiters (self);
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

  certificate = g_task_propagate_pointer (G_TASK (result), &error);
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
  g_autoptr (GTask) task
      = g_task_new (self, self->cancellable, certificate_loaded_cb, data);
  CertData   *cert = g_new0 (CertData, 1);
  const char *passphrase = g_hash_table_lookup (
      data->found, MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE);

  cert->cert_path = g_strdup (self->client_certificate);
  cert->key_path = g_strdup (
      self->client_key != NULL ? self->client_key : self->client_certificate);
  cert->passphrase = g_strdup (passphrase);
  g_task_set_task_data (task, cert, (GDestroyNotify)cert_data_free);
  g_task_run_in_thread (task, load_certificate_thread);
}

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

      apply_problem (self, PROBLEM_NEEDS_SIGNIN, text);
    }
}

static void
set_token_source (MbRouteSignin *self, MbOAuthTokenSource *source)
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

/* All secrets read: decide what the route signs in with. */
static void
decide (LoadData *data)
{
  MbRouteSignin *self = data->self;
  GHashTable    *found = data->found;
  const char    *access_token
      = g_hash_table_lookup (found, MB_CREDENTIALS_KIND_ACCESS_TOKEN);

  g_clear_pointer (&self->secret, mb_smtp_secret_free);
  set_token_source (self, NULL);

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
  if (is_oauth (self->auth) && access_token == NULL && self->oauth == NULL)
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
          set_token_source (self, mb_oauth_token_source_new_delegated (
                                      self->oauth, refresh_token));
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
            set_token_source (
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

static void
start_load (MbRouteSignin *self)
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

/* Preparing a connection */

static void
return_material (GTask *task, const char *secret)
{
  Material *material = g_new0 (Material, 1);

  material->secret = g_strdup (secret);
  g_task_return_pointer (task, material, (GDestroyNotify)material_free);
}

static void
return_unavailable (MbRouteSignin *self, GTask *task)
{
  g_task_return_new_error (
      task, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
      "Route %s cannot sign in: %s", self->name,
      self->problem != NULL ? self->problem : "no sign-in material");
}

/* An OAuth failure as the pool sees it: the route's state for what the
 * admin must fix, a connection-level error for what may pass. */
static GError *
map_token_error (MbRouteSignin *self, const GError *error)
{
  MbSmtpClientError code;

  if (error->domain == MB_OAUTH_ERROR)
    switch ((MbOAuthError)error->code)
      {
      case MB_OAUTH_ERROR_NEEDS_SIGNIN:
        /* Concurrent requests share one refusal: the route hears of it
         * once. */
        if (self->usable)
          {
            g_autofree char *text = g_strdup_printf (
                "Sign in again (mailbridgectl signin %s): %s", self->name,
                error->message);

            self->usable = FALSE;
            mb_route_record_local_failure (self->route, "mb.auth-token-expired",
                                           error->message);
            apply_problem (self, PROBLEM_NEEDS_SIGNIN, text);
          }
        {
          return g_error_new (
              MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
              "Route %s needs sign-in: %s", self->name, error->message);
        }
      case MB_OAUTH_ERROR_INVALID_CLIENT:
      case MB_OAUTH_ERROR_BLOCKED:
      case MB_OAUTH_ERROR_CONFIG:
      case MB_OAUTH_ERROR_DECLINED:
      case MB_OAUTH_ERROR_EXPIRED:
      case MB_OAUTH_ERROR_BAD_CODE:
        {
          g_autofree char *text = g_strdup_printf (
              "Microsoft Entra ID gave route %s no token: %s", self->name,
              error->message);

          apply_problem (self, PROBLEM_PAUSE, text);
          self->usable = FALSE;
          return g_error_new (MB_SMTP_CLIENT_ERROR,
                              MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE, "%s",
                              text);
        }
      case MB_OAUTH_ERROR_TLS_UNTRUSTED:
        code = MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED;
        break;
      case MB_OAUTH_ERROR_TLS_FAILED:
        code = MB_SMTP_CLIENT_ERROR_TLS_FAILED;
        break;
      case MB_OAUTH_ERROR_PROTOCOL:
        code = MB_SMTP_CLIENT_ERROR_PROTOCOL;
        break;
      case MB_OAUTH_ERROR_NETWORK:
      default:
        code = MB_SMTP_CLIENT_ERROR_CONNECT;
        break;
      }
  else
    code = MB_SMTP_CLIENT_ERROR_CONNECT;
  return g_error_new (MB_SMTP_CLIENT_ERROR, code,
                      "The sign-in service %s could not give route %s a "
                      "token: %s",
                      self->authority != NULL ? self->authority
                                              : MB_OAUTH_DEFAULT_AUTHORITY,
                      self->name, error->message);
}

static void
token_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbRouteSignin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  char *token;

  token = mb_oauth_get_access_token_finish (MB_OAUTH_TOKEN_SOURCE (source),
                                            result, &error);
  if (token == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_error (task, map_token_error (self, error));
      return;
    }
  return_material (task, token);
  mb_smtp_secret_free (token);
}

static void
continue_prepare (MbRouteSignin *self, GTask *task)
{
  if (!self->usable)
    {
      return_unavailable (self, task);
      g_object_unref (task);
      return;
    }
  if (self->token_source != NULL)
    {
      mb_oauth_get_access_token_async (
          self->token_source, g_task_get_cancellable (task), token_cb, task);
      return;
    }
  return_material (task, self->secret);
  g_object_unref (task);
}

static void
complete_waiters (MbRouteSignin *self)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->waiters);
  g_autoptr (GPtrArray) reloads = g_steal_pointer (&self->reload_waiters);

  self->waiters = g_ptr_array_new ();
  self->reload_waiters = g_ptr_array_new ();
  for (guint i = 0; i < waiters->len; i++)
    continue_prepare (self, waiters->pdata[i]);
  for (guint i = 0; i < reloads->len; i++)
    {
      GTask *task = reloads->pdata[i];

      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

/* Overrides */

static void
mb_route_signin_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  MbRouteSignin *self = MB_ROUTE_SIGNIN (object);

  switch (prop_id)
    {
    case PROP_PROBLEM:
      g_value_set_string (value, self->problem);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fail_pending (GPtrArray *tasks)
{
  for (guint i = 0; tasks != NULL && i < tasks->len; i++)
    {
      GTask *task = tasks->pdata[i];

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The relay is stopping");
      g_object_unref (task);
    }
  if (tasks != NULL)
    g_ptr_array_set_size (tasks, 0);
}

static void
mb_route_signin_dispose (GObject *object)
{
  MbRouteSignin *self = MB_ROUTE_SIGNIN (object);

  g_cancellable_cancel (self->cancellable);
  fail_pending (self->waiters);
  fail_pending (self->reload_waiters);
  set_token_source (self, NULL);
  G_OBJECT_CLASS (mb_route_signin_parent_class)->dispose (object);
}

static void
mb_route_signin_finalize (GObject *object)
{
  MbRouteSignin *self = MB_ROUTE_SIGNIN (object);

  g_clear_object (&self->route);
  g_clear_object (&self->credentials);
  g_clear_object (&self->oauth);
  g_clear_object (&self->tls_certificate);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->secret, mb_smtp_secret_free);
  g_clear_pointer (&self->waiters, g_ptr_array_unref);
  g_clear_pointer (&self->reload_waiters, g_ptr_array_unref);
  g_free (self->name);
  g_free (self->mailbox);
  g_free (self->client_certificate);
  g_free (self->client_key);
  g_free (self->authority);
  g_free (self->oauth_error);
  g_free (self->problem);
  g_free (self->pause_reason);
  G_OBJECT_CLASS (mb_route_signin_parent_class)->finalize (object);
}

static void
mb_route_signin_class_init (MbRouteSigninClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = mb_route_signin_get_property;
  object_class->dispose = mb_route_signin_dispose;
  object_class->finalize = mb_route_signin_finalize;

  props[PROP_PROBLEM] = g_param_spec_string (
      "problem", NULL, NULL, NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
mb_route_signin_init (MbRouteSignin *self)
{
  self->cancellable = g_cancellable_new ();
  self->waiters = g_ptr_array_new ();
  self->reload_waiters = g_ptr_array_new ();
}

/* Public API */

MbRouteSignin *
mb_route_signin_new (MbRoute             *route,
                     const MbRouteConfig *config,
                     MbCredentials       *credentials)
{
  MbRouteSignin *self;

  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (MB_TYPE_ROUTE_SIGNIN, NULL);
  self->route = g_object_ref (route);
  self->credentials = credentials != NULL ? g_object_ref (credentials) : NULL;
  self->name = g_strdup (config->name);
  self->auth = config->auth;
  self->mailbox = g_strdup (config->mailbox);
  self->client_certificate = g_strdup (config->client_certificate);
  self->client_key = g_strdup (config->client_key);
  self->authority = g_strdup (config->authority);
  if (is_oauth (config->auth))
    {
      g_autoptr (GError) error = NULL;

      self->oauth = mb_oauth_client_new_for_route (config, &error);
      if (self->oauth == NULL)
        self->oauth_error = g_strdup (error->message);
    }
  start_load (self);
  return self;
}

void
mb_route_signin_reload_async (MbRouteSignin      *self,
                              MbCredentials      *credentials,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  GTask *task;

  g_return_if_fail (MB_IS_ROUTE_SIGNIN (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_route_signin_reload_async);
  if (credentials != NULL)
    g_set_object (&self->credentials, credentials);
  g_ptr_array_add (self->reload_waiters, task);
  /* A load under way read the old secrets: it is superseded. */
  start_load (self);
}

gboolean
mb_route_signin_reload_finish (MbRouteSignin *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_route_signin_prepare_async (MbRouteSignin      *self,
                               GCancellable       *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  GTask *task;

  g_return_if_fail (MB_IS_ROUTE_SIGNIN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_route_signin_prepare_async);
  if (self->loading)
    {
      g_ptr_array_add (self->waiters, task);
      return;
    }
  continue_prepare (self, task);
}

gboolean
mb_route_signin_prepare_finish (MbRouteSignin       *self,
                                GAsyncResult        *result,
                                MbSmtpClientOptions *options,
                                GError             **error)
{
  Material *material;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (options != NULL, FALSE);

  material = g_task_propagate_pointer (G_TASK (result), error);
  if (material == NULL)
    return FALSE;

  switch (self->auth)
    {
    case MB_ROUTE_AUTH_BASIC:
      /* Exchange Online offers LOGIN and XOAUTH2, never PLAIN (M365-FACTS
       * 5). */
      options->auth = MB_SMTP_CLIENT_AUTH_LOGIN;
      break;
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
    case MB_ROUTE_AUTH_OAUTH_APP:
      options->auth = MB_SMTP_CLIENT_AUTH_XOAUTH2;
      break;
    case MB_ROUTE_AUTH_NONE:
    default:
      options->auth = MB_SMTP_CLIENT_AUTH_NONE;
      break;
    }
  g_free (options->username);
  options->username = options->auth != MB_SMTP_CLIENT_AUTH_NONE
                          ? g_strdup (self->mailbox)
                          : NULL;
  g_clear_pointer (&options->secret, mb_smtp_secret_free);
  options->secret = g_steal_pointer (&material->secret);
  g_set_object (&options->client_certificate, self->tls_certificate);
  material_free (material);
  return TRUE;
}

gboolean
mb_route_signin_can_renew (MbRouteSignin *self)
{
  g_return_val_if_fail (MB_IS_ROUTE_SIGNIN (self), FALSE);
  return self->token_source != NULL;
}

void
mb_route_signin_token_refused (MbRouteSignin *self)
{
  g_return_if_fail (MB_IS_ROUTE_SIGNIN (self));

  if (self->token_source != NULL)
    mb_oauth_token_source_invalidate (self->token_source);
}

const char *
mb_route_signin_get_problem (MbRouteSignin *self)
{
  g_return_val_if_fail (MB_IS_ROUTE_SIGNIN (self), NULL);
  return self->problem;
}
