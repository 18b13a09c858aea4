/* mb-daemon.c - the relay engine put together
 *
 * Contract: startup happens in this order, and each step must succeed
 * before the next: spool recovery (from disk alone), the STARTTLS
 * certificate (a failure only disables STARTTLS, with a warning), binding
 * every listener.  Only then is READY=1 sent, so a supervisor or a test
 * that waits for it can connect at once.  Reload replaces the configuration
 * for new connections and never touches the queue or open sessions.
 */
#define G_LOG_DOMAIN "mb-daemon"

#include "mb-daemon.h"

#include "mb-systemd.h"
#include "mb-tls-cert.h"

struct _MbDaemon
{
  GObject parent_instance;

  MbRelayConfig *config; /* (owned) */
  MbSpool       *spool;  /* (owned) (nullable) until started */
  MbSmtpServer  *server; /* (owned) (nullable) until started */
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
certificate_ready_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
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

  if (!mb_systemd_notify ("READY=1", &error))
    g_warning ("%s", error->message);

  g_task_return_boolean (task, TRUE);
}

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
  if (self->spool == NULL || !mb_spool_recover (self->spool, &recovery, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_info ("spool=%s queued=%u tmp-removed=%u incomplete=%u corrupt=%u "
          "recovered",
          self->config->spool, recovery.queued, recovery.tmp_removed,
          recovery.incomplete, recovery.corrupt);

  self->server = mb_smtp_server_new (self->config, self->spool);

  mb_tls_cert_load_or_generate_async (
      self->config->tls_certificate, self->config->tls_key,
      self->config->hostname, cancellable, certificate_ready_cb,
      g_steal_pointer (&task));
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
  g_info ("configuration reloaded from %s",
          config->path != NULL ? config->path : "defaults");
  return TRUE;
}

void
mb_daemon_stop (MbDaemon *self)
{
  g_return_if_fail (MB_IS_DAEMON (self));

  if (self->server != NULL)
    mb_smtp_server_stop (self->server);
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

static void
mb_daemon_finalize (GObject *object)
{
  MbDaemon *self = MB_DAEMON (object);

  g_clear_object (&self->server);
  g_clear_object (&self->spool);
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
}

MbDaemon *
mb_daemon_new (MbRelayConfig *config)
{
  MbDaemon *self = g_object_new (MB_TYPE_DAEMON, NULL);

  self->config = mb_relay_config_ref (config);
  return self;
}
