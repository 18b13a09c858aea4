/* mb-daemon.c - the relay engine put together
 *
 * Contract: startup happens in this order, and each step must succeed
 * before the next: spool recovery (from disk alone; the envelopes it
 * parsed go to the scheduler's load, which does not read them again),
 * the secret store, the scheduler's load of the queue, the STARTTLS
 * certificate (a failure only disables STARTTLS, with a warning), binding
 * every listener, then (with a bus) the D-Bus control object and its bus
 * name.  Only then is READY=1 sent, so a supervisor or a test that waits
 * for it can connect at once; for Type=dbus the bus name is the same
 * signal.  Reload replaces the configuration
 * for new connections and never touches the queue or open sessions.
 *
 * Secrets: the store is mb_credentials_new_for_config() (the [relay]
 * secrets file, else the keyring), made in a worker thread (reading the
 * file blocks briefly) at startup, on reload and when a sign-in asks for
 * it (mb_daemon_reload_credentials_async()).  A secrets file that is
 * refused stops the startup; on reload the old store stays.  Secrets that
 * expire within 14 days are logged and shown on their route at startup,
 * on reload and once a day.
 */
#define G_LOG_DOMAIN "mb-daemon"

#include "mb-daemon.h"

#include "mb-build-config.h"
#include "mb-credentials.h"
#include "mb-systemd.h"
#include "mb-tls-cert.h"
#if MB_HAVE_SCHEDULER
#include "mb-scheduler.h"
#endif

struct _MbDaemon
{
  GObject parent_instance;

  MbRelayConfig *config; /* (owned) */
  MbSpool       *spool;  /* (owned) (nullable) until started */
  MbSmtpServer  *server; /* (owned) (nullable) until started */

  char          *config_source; /* (owned) (nullable) */
  GBusType       bus_type;
  gboolean       bus_required;
  MbControl     *control;      /* (owned) (nullable) */
  MbDeliveryLog *delivery_log; /* (owned) (nullable) until started */
  MbCredentials *credentials;  /* (owned) (nullable) until started */
  guint          expiry_timer; /* the daily expiry check */
  GCancellable  *cancellable;  /* (owned) */
#if MB_HAVE_SCHEDULER
  MbScheduler *scheduler; /* (owned) (nullable) until started */
  GPtrArray   *recovered; /* (owned) (nullable) (element-type MbEnvelope)
                           * what recovery parsed, until the scheduler
                           * takes it */
#endif
};

G_DEFINE_TYPE (MbDaemon, mb_daemon, G_TYPE_OBJECT)

static void
log_listening (MbDaemon *self)
{
  g_autoptr (GPtrArray) addresses
      = mb_smtp_server_get_bound_addresses (self->server);

  for (guint i = 0; i < addresses->len; i++)
    {
      GInetSocketAddress *address = g_ptr_array_index (addresses, i);
      g_autofree char    *ip = g_inet_address_to_string (
             g_inet_socket_address_get_address (address));
      gboolean is_v6 = g_inet_address_get_family (
                           g_inet_socket_address_get_address (address))
                       == G_SOCKET_FAMILY_IPV6;

      g_info (is_v6 ? "listening on [%s]:%u" : "listening on %s:%u", ip,
              g_inet_socket_address_get_port (address));
    }
}

static void
notify_ready (void)
{
  g_autoptr (GError) error = NULL;

  if (!mb_systemd_notify ("READY=1", &error))
    g_warning ("%s", error->message);
}

static void
control_started_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_control_start_finish (MB_CONTROL (source), result, &error))
    {
      MbDaemon *self = g_task_get_source_object (task);

      if (self->bus_required
          || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_message ("running without D-Bus control: %s", error->message);
      mb_control_stop (self->control);
      g_clear_object (&self->control);
    }
  notify_ready ();
  g_task_return_boolean (task, TRUE);
}

static void     check_expiry (MbDaemon *self);
static gboolean on_expiry_timer_cb (gpointer user_data);
static void     certificate_ready_cb (GObject      *source,
                                      GAsyncResult *result,
                                      gpointer      user_data);

static void
load_certificate (MbDaemon *self, GTask *task)
{
  mb_tls_cert_load_or_generate_async (
      self->config->tls_certificate, self->config->tls_key,
      self->config->hostname, g_task_get_cancellable (task),
      certificate_ready_cb, task);
}

#if MB_HAVE_SCHEDULER
static void
scheduler_started_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask    *task = user_data;
  MbDaemon *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!mb_scheduler_start_finish (MB_SCHEDULER (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  check_expiry (self);
  self->expiry_timer
      = g_timeout_add_seconds (24 * 60 * 60, on_expiry_timer_cb, self);
  load_certificate (self, task);
}
#endif

static void
certificate_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbDaemon *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;

  certificate = mb_tls_cert_load_or_generate_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (certificate == NULL)
    g_warning ("STARTTLS disabled: %s", error->message);
  else
    mb_smtp_server_set_tls_certificate (self->server, certificate);

  if (!mb_smtp_server_start (self->server, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  log_listening (self);

  if (self->bus_type != G_BUS_TYPE_NONE)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      self->control = mb_control_new (self);
      mb_control_start_async (self->control, self->bus_type, cancellable,
                              control_started_cb, g_steal_pointer (&task));
      return;
    }

  notify_ready ();
  g_task_return_boolean (task, TRUE);
}

/* Secrets */

static void
new_credentials_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  GError        *error = NULL;
  MbCredentials *credentials
      = mb_credentials_new_for_config (task_data, &error);

  if (credentials == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, credentials, g_object_unref);
}

/* mb_credentials_new_for_config() for @config, in a worker thread. */
static void
new_credentials_async (MbDaemon           *self,
                       MbRelayConfig      *config,
                       GAsyncReadyCallback callback,
                       gpointer            user_data)
{
  g_autoptr (GTask) task
      = g_task_new (self, self->cancellable, callback, user_data);

  g_task_set_source_tag (task, new_credentials_async);
  g_task_set_task_data (task, mb_relay_config_ref (config),
                        (GDestroyNotify)mb_relay_config_unref);
  g_task_run_in_thread (task, new_credentials_thread);
}

static MbCredentials *
new_credentials_finish (MbDaemon *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Whether any route needs a secret: without one the keyring is never
 * contacted (a relay for Direct Send needs no Secret Service). */
static gboolean
config_has_secrets (MbRelayConfig *config)
{
  if (config->secrets != NULL)
    return TRUE;
  for (guint i = 0; config->routes != NULL && i < config->routes->len; i++)
    {
      const MbRouteConfig *route = config->routes->pdata[i];

      if (route->auth != MB_ROUTE_AUTH_NONE)
        return TRUE;
    }
  return FALSE;
}

static void
expiry_checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbDaemon) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) expiring = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  expiring = mb_credentials_check_expiry_finish (MB_CREDENTIALS (source),
                                                 result, &error);
  if (expiring == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("the expiry dates of the secrets cannot be read: %s",
                   error->message);
      return;
    }
  for (guint i = 0; i < expiring->len; i++)
    mb_credentials_log_expiry (expiring->pdata[i], now);
#if MB_HAVE_SCHEDULER
  if (self->scheduler != NULL)
    mb_scheduler_set_expiring_secrets (self->scheduler, expiring, now);
#endif
}

static void
check_expiry (MbDaemon *self)
{
  if (self->credentials == NULL || !config_has_secrets (self->config))
    return;
  mb_credentials_check_expiry_async (self->credentials, 0, self->cancellable,
                                     expiry_checked_cb, g_object_ref (self));
}

static gboolean
on_expiry_timer_cb (gpointer user_data)
{
  check_expiry (user_data);
  return G_SOURCE_CONTINUE;
}

#if MB_HAVE_SCHEDULER
static void
reload_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbDaemon *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!mb_scheduler_reload_credentials_finish (MB_SCHEDULER (source), result,
                                               &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  check_expiry (self);
  g_task_return_boolean (task, TRUE);
}
#endif

static void
credentials_renewed_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  MbDaemon *self = MB_DAEMON (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbCredentials) credentials = NULL;

  credentials = new_credentials_finish (self, result, &error);
  if (credentials == NULL)
    {
      g_message ("the secrets cannot be read again, the routes keep those "
                 "read before: %s",
                 error->message);
#if MB_HAVE_SCHEDULER
      /* Routes a reload replaced wait for this read: they take their
       * secrets from the store in force. */
      if (self->scheduler != NULL)
        mb_scheduler_reload_credentials_async (
            self->scheduler, g_task_get_task_data (task), NULL, NULL, NULL);
#endif
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_set_object (&self->credentials, credentials);
#if MB_HAVE_SCHEDULER
  if (self->scheduler != NULL)
    {
      /* Not in the call: g_steal_pointer() may run first. */
      const char *route = g_task_get_task_data (task);

      mb_scheduler_reload_credentials_async (self->scheduler, route,
                                             credentials, reload_done_cb,
                                             g_steal_pointer (&task));
      return;
    }
#endif
  check_expiry (self);
  g_task_return_boolean (task, TRUE);
}

void
mb_daemon_reload_credentials_async (MbDaemon           *self,
                                    const char         *route,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_DAEMON (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_daemon_reload_credentials_async);
  g_task_set_task_data (task, g_strdup (route), g_free);
  /* The secrets file is read into memory: a sign-in by another process
   * changed it on disk.  (The keyring is asked anew on each lookup.) */
  new_credentials_async (self, self->config, credentials_renewed_cb,
                         g_steal_pointer (&task));
}

gboolean
mb_daemon_reload_credentials_finish (MbDaemon     *self,
                                     GAsyncResult *result,
                                     GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

MbCredentials *
mb_daemon_get_credentials (MbDaemon *self)
{
  g_return_val_if_fail (MB_IS_DAEMON (self), NULL);
  return self->credentials;
}

static void
reloaded_credentials_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  /* Failures were logged; the old secrets stay in force. */
  mb_daemon_reload_credentials_finish (MB_DAEMON (source), result, NULL);
}

#if MB_HAVE_SCHEDULER
static void
start_credentials_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask    *task = user_data;
  MbDaemon *self = MB_DAEMON (source);
  g_autoptr (GError) error = NULL;

  self->credentials = new_credentials_finish (self, result, &error);
  if (self->credentials == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  self->scheduler = mb_scheduler_new (self->spool, self->config,
                                      self->credentials, self->delivery_log);
  /* The scheduler indexes what recovery parsed instead of reading every
   * envelope again; nothing was received since (no listener yet). */
  mb_scheduler_set_recovered (self->scheduler,
                              g_steal_pointer (&self->recovered));
  mb_scheduler_start_async (self->scheduler, g_task_get_cancellable (task),
                            scheduler_started_cb, task);
}
#endif

void
mb_daemon_start_async (MbDaemon           *self,
                       GCancellable       *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  MbSpoolRecovery recovery = { 0 };

  g_return_if_fail (MB_IS_DAEMON (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_daemon_start_async);

  self->spool = mb_spool_new (self->config->spool, &error);
#if MB_HAVE_SCHEDULER
  if (self->spool == NULL
      || !mb_spool_recover_full (self->spool, &recovery, &self->recovered,
                                 &error))
#else
  if (self->spool == NULL || !mb_spool_recover (self->spool, &recovery, &error))
#endif
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_info ("spool=%s queued=%u tmp-removed=%u incomplete=%u corrupt=%u "
          "recovered",
          self->config->spool, recovery.queued, recovery.tmp_removed,
          recovery.incomplete, recovery.corrupt);

  self->server = mb_smtp_server_new (self->config, self->spool);

  if (self->delivery_log == NULL)
    {
      g_autofree char *log_path = g_build_filename (
          g_get_user_state_dir (), "mailbridge", "delivery-log.sqlite", NULL);

      self->delivery_log = mb_delivery_log_new (log_path);
    }

#if MB_HAVE_SCHEDULER
  new_credentials_async (self, self->config, start_credentials_cb,
                         g_steal_pointer (&task));
#else
  load_certificate (self, g_steal_pointer (&task));
#endif
}

gboolean
mb_daemon_start_finish (MbDaemon *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
mb_daemon_reload (MbDaemon *self, MbRelayConfig *config, GError **error)
{
  g_return_val_if_fail (MB_IS_DAEMON (self), FALSE);

  if (g_strcmp0 (config->spool, self->config->spool) != 0)
    {
      g_set_error (error, MB_RELAY_CONFIG_ERROR,
                   MB_RELAY_CONFIG_ERROR_INVALID_VALUE,
                   "[relay] spool: the spool directory cannot change while "
                   "the relay runs; restart mailbridged to move the queue");
      return FALSE;
    }

  g_clear_pointer (&self->config, mb_relay_config_unref);
  self->config = mb_relay_config_ref (config);
  if (self->server != NULL)
    mb_smtp_server_set_config (self->server, config);
#if MB_HAVE_SCHEDULER
  if (self->scheduler != NULL)
    mb_scheduler_set_config (self->scheduler, config);
#endif
  if (self->control != NULL)
    mb_control_config_changed (self->control);
  g_info ("configuration reloaded from %s",
          config->path != NULL ? config->path : "defaults");
  /* The secrets file may be another, or changed: read it again (in a
   * thread), then every route its secrets, then their expiry. */
  if (self->credentials != NULL)
    mb_daemon_reload_credentials_async (self, NULL, reloaded_credentials_cb,
                                        NULL);
  return TRUE;
}

void
mb_daemon_stop (MbDaemon *self)
{
  g_return_if_fail (MB_IS_DAEMON (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->expiry_timer, g_source_remove);
  if (self->control != NULL)
    mb_control_stop (self->control);
  if (self->server != NULL)
    mb_smtp_server_stop (self->server);
#if MB_HAVE_SCHEDULER
  if (self->scheduler != NULL)
    mb_scheduler_stop (self->scheduler);
#endif
}

MbRelayConfig *
mb_daemon_get_config (MbDaemon *self)
{
  return self->config;
}

MbSpool *
mb_daemon_get_spool (MbDaemon *self)
{
  return self->spool;
}

MbSmtpServer *
mb_daemon_get_server (MbDaemon *self)
{
  return self->server;
}

gpointer
mb_daemon_get_scheduler (MbDaemon *self)
{
#if MB_HAVE_SCHEDULER
  return self->scheduler;
#else
  return NULL;
#endif
}

MbDeliveryLog *
mb_daemon_get_delivery_log (MbDaemon *self)
{
  return self->delivery_log;
}

MbRelayConfig *
mb_daemon_load_config (const char *path, GError **error)
{
  g_autofree char *user_path = NULL;

  if (path != NULL)
    return mb_relay_config_load_file (path, error);

  user_path = mb_relay_config_dup_user_path ();
  if (g_file_test (user_path, G_FILE_TEST_EXISTS))
    return mb_relay_config_load_file (user_path, error);

  return mb_relay_config_new_default ();
}

void
mb_daemon_set_config_source (MbDaemon *self, const char *path)
{
  g_return_if_fail (MB_IS_DAEMON (self));

  g_free (self->config_source);
  self->config_source = g_strdup (path);
}

const char *
mb_daemon_get_config_source (MbDaemon *self)
{
  return self->config_source;
}

void
mb_daemon_set_bus_type (MbDaemon *self, GBusType bus_type, gboolean required)
{
  g_return_if_fail (MB_IS_DAEMON (self));
  g_return_if_fail (self->control == NULL);

  self->bus_type = bus_type;
  self->bus_required = required;
}

static void
mb_daemon_finalize (GObject *object)
{
  MbDaemon *self = MB_DAEMON (object);

  g_clear_object (&self->control);
  g_clear_object (&self->server);
#if MB_HAVE_SCHEDULER
  g_clear_object (&self->scheduler);
  g_clear_pointer (&self->recovered, g_ptr_array_unref);
#endif
  g_clear_object (&self->delivery_log);
  g_clear_object (&self->credentials);
  g_clear_handle_id (&self->expiry_timer, g_source_remove);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->spool);
  g_clear_pointer (&self->config_source, g_free);
  g_clear_pointer (&self->config, mb_relay_config_unref);

  G_OBJECT_CLASS (mb_daemon_parent_class)->finalize (object);
}

static void
mb_daemon_class_init (MbDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mb_daemon_finalize;
}

static void
mb_daemon_init (MbDaemon *self)
{
  self->bus_type = G_BUS_TYPE_NONE;
  self->cancellable = g_cancellable_new ();
}

MbDaemon *
mb_daemon_new (MbRelayConfig *config)
{
  MbDaemon *self = g_object_new (MB_TYPE_DAEMON, NULL);

  self->config = mb_relay_config_ref (config);
  return self;
}
