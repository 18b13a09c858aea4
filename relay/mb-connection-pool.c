/* mb-connection-pool.c - the upstream connections of one route
 *
 * WHAT IT DOES
 *   Builds the MbSmtpClientOptions of a route once (host, port, TLS
 *   policy, trust file, client certificate, sign-in with the secret from
 *   the secrets file), opens connections on demand (trying the MX hosts in
 *   order when the first cannot be reached), parks ready connections for
 *   the next message and QUITs them after an idle timeout.
 *
 * GUARANTEES
 *   - Never more open connections (connecting, busy or idle) than the
 *     route's pacer allows: Exchange Online refuses a fourth submission
 *     connection per mailbox with 432 4.3.2 (M365-FACTS.md 3.1).
 *   - A failed connect is recorded on the route (reply or "mb." pseudo
 *     reply) and starts a back-off on the retry schedule, so the queue
 *     does not try every message against a dead upstream.
 *   - Secrets live only in the options (wiped when freed by
 *     mb-smtp-client) and are never logged.  TLS is always verified; the
 *     trust file only adds CAs.
 *   - A route that cannot sign in (OAuth without a token source, basic
 *     without a password, an unreadable client certificate) says so in
 *     its state and one log line, and sends nothing.
 *
 * WHAT IT DOES NOT DO
 *   It does not pace messages (mb-pacer, asked by the scheduler), refresh
 *   OAuth tokens (issue 5: only a static access-token from the secrets
 *   file is used), or choose which message goes on which connection.
 *
 * RFC 5321 5.1 (MX order), 4.1.1.10 (QUIT); RFC 3207 (STARTTLS);
 * RFC 4954 (AUTH).
 */
#define G_LOG_DOMAIN "mb-connection-pool"

#include "mb-connection-pool.h"

#include "mb-delivery.h"
#include "mb-retry.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

typedef struct
{
  MbSmtpClient *client; /* (owned) */
  guint         timer;  /* idle timeout source */
} IdleEntry;

struct _MbConnectionPool
{
  GObject parent_instance;

  MbRoute             *route;    /* (owned) */
  MbSmtpClientOptions *options;  /* (owned) host filled per connect */
  GArray              *schedule; /* (owned) (element-type gint64) */
  gboolean             usable;   /* sign-in material is complete */
  guint                idle_timeout;
  GQueue               idle;          /* (element-type IdleEntry) (owned) */
  guint                n_open;        /* holding a pacer slot */
  guint                failures;      /* consecutive failed connects */
  gint64               backoff_until; /* monotonic microseconds */
  GCancellable        *cancellable;   /* (owned) */
};

typedef struct
{
  GPtrArray *hosts; /* (owned) (element-type utf8) */
  guint      next;
  guint16    port;
  GError    *first_error; /* (owned) (nullable) */
} OpenData;

enum
{
  SIGNAL_SLOT_FREED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MbConnectionPool, mb_connection_pool, G_TYPE_OBJECT)

static void connect_next (GTask *task);

static void
open_data_free (OpenData *data)
{
  g_clear_pointer (&data->hosts, g_ptr_array_unref);
  g_clear_error (&data->first_error);
  g_free (data);
}

/* Helpers */

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
                   "the key %s cannot be decrypted with the "
                   "client-key-passphrase of the secrets file: %s",
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

static GTlsCertificate *
load_client_certificate (const MbRouteConfig *config,
                         const char          *passphrase,
                         GError             **error)
{
  const char *key_path = config->client_key != NULL
                             ? config->client_key
                             : config->client_certificate;

  if (passphrase != NULL)
    return load_encrypted (config->client_certificate, key_path, passphrase,
                           error);
  return g_tls_certificate_new_from_files (config->client_certificate, key_path,
                                           error);
}

static MbSmtpClientAuth
client_auth_for (MbRouteAuth auth)
{
  switch (auth)
    {
    case MB_ROUTE_AUTH_BASIC:
      /* Exchange Online offers LOGIN and XOAUTH2, never PLAIN (M365-FACTS
       * 5). */
      return MB_SMTP_CLIENT_AUTH_LOGIN;
    case MB_ROUTE_AUTH_OAUTH_DEVICE:
    case MB_ROUTE_AUTH_OAUTH_BROWSER:
    case MB_ROUTE_AUTH_OAUTH_APP:
      return MB_SMTP_CLIENT_AUTH_XOAUTH2;
    case MB_ROUTE_AUTH_NONE:
    default:
      return MB_SMTP_CLIENT_AUTH_NONE;
    }
}

/* Fills the sign-in part of the options; FALSE when the route cannot sign
 * in, after setting its state. */
static gboolean
set_up_signin (MbConnectionPool    *self,
               const MbRouteConfig *config,
               MbCredentialsFile   *credentials)
{
  MbSmtpClientAuth auth = client_auth_for (config->auth);
  const char      *kind = auth == MB_SMTP_CLIENT_AUTH_LOGIN
                              ? MB_CREDENTIALS_KIND_PASSWORD
                              : MB_CREDENTIALS_KIND_ACCESS_TOKEN;
  char            *secret = NULL;

  self->options->auth = auth;
  if (auth == MB_SMTP_CLIENT_AUTH_NONE)
    return TRUE;

  self->options->username = g_strdup (config->mailbox);
  if (credentials != NULL)
    secret = mb_credentials_file_lookup (credentials, config->name, kind);
  if (secret != NULL && config->mailbox != NULL)
    {
      self->options->secret = secret;
      return TRUE;
    }
  mb_smtp_secret_free (secret);

  if (auth == MB_SMTP_CLIENT_AUTH_XOAUTH2)
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE",
                        config->name, "MESSAGE",
                        "route=%s state=needs-signin reason=\"no OAuth "
                        "token: sign in, or set access-token in [route %s] "
                        "of the secrets file\"",
                        config->name, config->name);
      mb_route_set_needs_signin (self->route, TRUE);
    }
  else
    {
      g_autofree char *reason = g_strdup_printf (
          "No %s for [route %s]: set password in the secrets file "
          "([relay] secrets)",
          config->mailbox == NULL ? "mailbox" : "password", config->name);

      mb_route_pause (self->route, reason);
    }
  return FALSE;
}

static void
free_slot (MbConnectionPool *self)
{
  g_return_if_fail (self->n_open > 0);

  self->n_open--;
  mb_pacer_release_connection (mb_route_get_pacer (self->route));
}

static void
idle_entry_free (IdleEntry *entry)
{
  g_clear_handle_id (&entry->timer, g_source_remove);
  g_clear_object (&entry->client);
  g_free (entry);
}

/* Callbacks */

static void
quit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbConnectionPool) self = user_data;

  /* The connection is closed whatever QUIT said. */
  mb_smtp_client_quit_finish (MB_SMTP_CLIENT (source), result, NULL);
  free_slot (self);
  g_signal_emit (self, signals[SIGNAL_SLOT_FREED], 0);
}

static void
quit_entry (MbConnectionPool *self, IdleEntry *entry)
{
  g_queue_remove (&self->idle, entry);
  g_clear_handle_id (&entry->timer, g_source_remove);
  g_debug ("route=%s closing an idle connection",
           mb_route_get_name (self->route));
  mb_smtp_client_quit_async (entry->client, NULL, quit_cb, g_object_ref (self));
  idle_entry_free (entry);
}

static gboolean
on_idle_timeout_cb (gpointer user_data)
{
  IdleEntry        *entry = user_data;
  MbConnectionPool *self
      = g_object_get_data (G_OBJECT (entry->client), "mb-pool");

  entry->timer = 0;
  quit_entry (self, entry);
  return G_SOURCE_REMOVE;
}

static void
connect_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbConnectionPool *self = g_task_get_source_object (task);
  OpenData         *data = g_task_get_task_data (task);
  g_autoptr (MbSmtpClient) client = MB_SMTP_CLIENT (g_object_ref (source));
  g_autoptr (GError) error = NULL;

  if (mb_smtp_client_connect_finish (client, result, &error))
    {
      self->failures = 0;
      self->backoff_until = 0;
      g_debug ("route=%s connected tls=\"%s\"", mb_route_get_name (self->route),
               mb_smtp_client_get_tls_summary (client) != NULL
                   ? mb_smtp_client_get_tls_summary (client)
                   : "none");
      g_task_return_pointer (task, g_steal_pointer (&client), g_object_unref);
      return;
    }
  if (data->first_error == NULL)
    data->first_error = g_error_copy (error);
  /* Only an unreachable host makes the next MX worth trying; TLS or
   * sign-in failures would repeat there. */
  if (g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                       MB_SMTP_CLIENT_ERROR_CONNECT)
      && data->next < data->hosts->len)
    {
      connect_next (g_steal_pointer (&task));
      return;
    }
  g_task_return_error (task, g_error_copy (data->first_error));
}

static void
connect_next (GTask *task)
{
  MbConnectionPool *self = g_task_get_source_object (task);
  OpenData         *data = g_task_get_task_data (task);
  g_autoptr (MbSmtpClientOptions) options
      = mb_smtp_client_options_copy (self->options);
  g_autoptr (MbSmtpClient) client = NULL;

  g_free (options->host);
  options->host = g_strdup (data->hosts->pdata[data->next++]);
  options->port = data->port;
  client = mb_smtp_client_new (options);
  g_object_set_data (G_OBJECT (client), "mb-pool", self);
  mb_smtp_client_connect_async (client, self->cancellable, connect_cb, task);
}

static void
resolve_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  OpenData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  data->hosts = mb_route_resolve_finish (MB_ROUTE (source), result, &data->port,
                                         &error);
  if (data->hosts == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  connect_next (g_steal_pointer (&task));
}

/* Overrides */

static void
mb_connection_pool_dispose (GObject *object)
{
  MbConnectionPool *self = MB_CONNECTION_POOL (object);

  g_cancellable_cancel (self->cancellable);
  g_queue_clear_full (&self->idle, (GDestroyNotify)idle_entry_free);
  G_OBJECT_CLASS (mb_connection_pool_parent_class)->dispose (object);
}

static void
mb_connection_pool_finalize (GObject *object)
{
  MbConnectionPool *self = MB_CONNECTION_POOL (object);

  g_clear_object (&self->route);
  g_clear_pointer (&self->options, mb_smtp_client_options_free);
  g_clear_pointer (&self->schedule, g_array_unref);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (mb_connection_pool_parent_class)->finalize (object);
}

static void
mb_connection_pool_class_init (MbConnectionPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_connection_pool_dispose;
  object_class->finalize = mb_connection_pool_finalize;

  signals[SIGNAL_SLOT_FREED]
      = g_signal_new ("slot-freed", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
mb_connection_pool_init (MbConnectionPool *self)
{
  self->idle_timeout = MB_CONNECTION_POOL_DEFAULT_IDLE_TIMEOUT;
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->idle);
}

/* Public API */

MbConnectionPool *
mb_connection_pool_new (MbRoute             *route,
                        const MbRouteConfig *config,
                        MbCredentialsFile   *credentials,
                        const char          *helo_name,
                        const GArray        *retry_schedule)
{
  MbConnectionPool *self;
  char             *passphrase = NULL;

  g_return_val_if_fail (MB_IS_ROUTE (route), NULL);
  g_return_val_if_fail (config != NULL && helo_name != NULL, NULL);

  self = g_object_new (MB_TYPE_CONNECTION_POOL, NULL);
  self->route = g_object_ref (route);
  self->schedule = g_array_copy ((GArray *)retry_schedule);
  self->options = mb_smtp_client_options_new ();
  self->options->helo_name = g_strdup (helo_name);
  self->options->tls = config->tls == MB_ROUTE_TLS_OPPORTUNISTIC
                           ? MB_SMTP_CLIENT_TLS_OPPORTUNISTIC
                           : MB_SMTP_CLIENT_TLS_REQUIRED;
  self->options->trust_file = g_strdup (config->trust);
  self->usable = set_up_signin (self, config, credentials);

  if (self->usable && config->client_certificate != NULL)
    {
      g_autoptr (GError) error = NULL;

      if (credentials != NULL)
        passphrase = mb_credentials_file_lookup (
            credentials, config->name,
            MB_CREDENTIALS_KIND_CLIENT_KEY_PASSPHRASE);
      self->options->client_certificate
          = load_client_certificate (config, passphrase, &error);
      mb_smtp_secret_free (passphrase);
      if (self->options->client_certificate == NULL)
        {
          g_autofree char *reason
              = g_strdup_printf ("The client certificate %s cannot be used: %s",
                                 config->client_certificate, error->message);

          mb_route_pause (route, reason);
          self->usable = FALSE;
        }
    }
  return self;
}

MbRoute *
mb_connection_pool_get_route (MbConnectionPool *self)
{
  g_return_val_if_fail (MB_IS_CONNECTION_POOL (self), NULL);
  return self->route;
}

void
mb_connection_pool_set_idle_timeout (MbConnectionPool *self, guint seconds)
{
  g_return_if_fail (MB_IS_CONNECTION_POOL (self));
  self->idle_timeout = MAX (seconds, 1);
}

MbSmtpClient *
mb_connection_pool_take_idle (MbConnectionPool *self)
{
  g_return_val_if_fail (MB_IS_CONNECTION_POOL (self), NULL);

  while (!g_queue_is_empty (&self->idle))
    {
      IdleEntry    *entry = g_queue_pop_head (&self->idle);
      MbSmtpClient *client = g_steal_pointer (&entry->client);

      idle_entry_free (entry);
      if (mb_smtp_client_is_ready (client))
        return client;
      /* The server closed it meanwhile (its idle timeout). */
      mb_smtp_client_close (client);
      g_object_unref (client);
      free_slot (self);
    }
  return NULL;
}

gint64
mb_connection_pool_delay_for_open (MbConnectionPool *self)
{
  MbPacer *pacer;
  gint64   now = g_get_monotonic_time ();

  g_return_val_if_fail (MB_IS_CONNECTION_POOL (self), -1);

  pacer = mb_route_get_pacer (self->route);
  if (mb_pacer_get_max_connections (pacer) > 0
      && mb_pacer_get_connections (pacer)
             >= mb_pacer_get_max_connections (pacer))
    return -1;
  return self->backoff_until > now ? self->backoff_until - now : 0;
}

void
mb_connection_pool_reset_backoff (MbConnectionPool *self)
{
  g_return_if_fail (MB_IS_CONNECTION_POOL (self));

  self->failures = 0;
  self->backoff_until = 0;
}

void
mb_connection_pool_open_async (MbConnectionPool   *self,
                               GAsyncReadyCallback callback,
                               gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_CONNECTION_POOL (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_connection_pool_open_async);
  g_task_set_task_data (task, g_new0 (OpenData, 1),
                        (GDestroyNotify)open_data_free);
  if (!self->usable)
    {
      g_task_return_new_error (
          task, MB_SMTP_CLIENT_ERROR, MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE,
          "Route %s cannot sign in", mb_route_get_name (self->route));
      return;
    }
  if (!mb_pacer_try_acquire_connection (mb_route_get_pacer (self->route)))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BUSY,
                               "Route %s has no free connection slot",
                               mb_route_get_name (self->route));
      return;
    }
  self->n_open++;
  mb_route_resolve_async (self->route, NULL, NULL, self->cancellable,
                          resolve_cb, g_steal_pointer (&task));
}

MbSmtpClient *
mb_connection_pool_open_finish (MbConnectionPool *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_autoptr (GError) local_error = NULL;
  MbSmtpClient *client;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  client = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (client != NULL)
    return client;

  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_BUSY)
      && !g_error_matches (local_error, MB_SMTP_CLIENT_ERROR,
                           MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE))
    {
      gint64 delay;

      free_slot (self);
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->failures++;
          delay = mb_retry_get_delay (self->schedule, self->failures);
          self->backoff_until
              = g_get_monotonic_time () + delay * G_USEC_PER_SEC;
          mb_delivery_record_error (self->route, local_error);
        }
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

void
mb_connection_pool_release (MbConnectionPool *self, MbSmtpClient *client)
{
  IdleEntry *entry;

  g_return_if_fail (MB_IS_CONNECTION_POOL (self));
  g_return_if_fail (MB_IS_SMTP_CLIENT (client));

  if (!mb_smtp_client_is_ready (client))
    {
      mb_smtp_client_close (client);
      free_slot (self);
      return;
    }
  entry = g_new0 (IdleEntry, 1);
  entry->client = g_object_ref (client);
  entry->timer
      = g_timeout_add_seconds (self->idle_timeout, on_idle_timeout_cb, entry);
  /* Most recently used first: the others time out sooner. */
  g_queue_push_head (&self->idle, entry);
}

void
mb_connection_pool_close_idle (MbConnectionPool *self)
{
  g_return_if_fail (MB_IS_CONNECTION_POOL (self));

  while (!g_queue_is_empty (&self->idle))
    quit_entry (self, g_queue_peek_head (&self->idle));
}

guint
mb_connection_pool_get_n_open (MbConnectionPool *self)
{
  g_return_val_if_fail (MB_IS_CONNECTION_POOL (self), 0);
  return self->n_open;
}

guint
mb_connection_pool_get_n_idle (MbConnectionPool *self)
{
  g_return_val_if_fail (MB_IS_CONNECTION_POOL (self), 0);
  return self->idle.length;
}
