/* mb-smtp-server.c - the listeners, the access list and connection limits
 *
 * What it does: binds one socket per configured `listen` address, made by
 * hand so that each gets SO_REUSEADDR and, for IPv6, IPV6_V6ONLY (an IPv6
 * listener never receives IPv4-mapped peers, so the allow list sees real
 * IPv4 addresses), and serves them with one GSocketService.  For each new
 * connection the "incoming" handler decides, in this order:
 *   1. a client outside the allow list gets a session started refused with
 *      554 5.7.1 (RFC 5321 3.1: it may still QUIT), and a log line;
 *   2. at max_connections sessions in total: 421 4.3.2 and close;
 *   3. at max_connections_per_client sessions from that IP: 421 4.7.0;
 *   4. otherwise an MbSmtpSession is started.
 * then returns: nothing waits in the handler.
 *
 * Guarantees: the relay never becomes an open relay (DESIGN.md "Safe by
 * default"); refused clients also count against the connection limits, so
 * strangers cannot exhaust file descriptors, and beyond the limits they
 * are closed without a word.  A new configuration applies to the next
 * connection; a changed `listen` list is rebound with the new sockets bound
 * before the old ones close, and unchanged addresses keep their socket (and
 * their queue of pending connections).  stop() closes every session with
 * 421 4.3.2; a session receiving a message drops it, never half-queues it.
 *
 * What it does not do: the SMTP conversation (mb-smtp-session), loading
 * the certificate (mb-tls-cert), socket activation (mb-daemon).
 */
#define G_LOG_DOMAIN "mb-smtp-server"

#include "mb-smtp-server.h"

#include "mb-smtp-session.h"

#include <netinet/in.h>
#include <string.h>

#define LISTEN_BACKLOG 128

/* One bound listen address. */
typedef struct
{
  char    *configured; /* (owned) the address as configured, "IP:port" */
  GSocket *socket;     /* (owned) */
} Listener;

struct _MbSmtpServer
{
  GObject parent_instance;

  MbRelayConfig   *config;          /* (owned) */
  MbSpool         *spool;           /* (owned) */
  GTlsCertificate *tls_certificate; /* (owned) (nullable) */
  GSocketService  *service;         /* (owned) (nullable) while started */
  GPtrArray       *listeners;       /* (owned) (element-type Listener) */
  GHashTable      *sessions;        /* (owned) MbSmtpSession (owned) -> IP */
  GHashTable      *per_client;      /* (owned) IP -> number of sessions */
};

enum
{
  SIGNAL_MESSAGE_ACCEPTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MbSmtpServer, mb_smtp_server, G_TYPE_OBJECT)

/* Helpers */

static void
listener_free (Listener *listener)
{
  g_free (listener->configured);
  g_object_unref (listener->socket);
  g_free (listener);
}

static char *
address_to_string (GSocketAddress *address)
{
  return g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
}

static GSocket *
bind_socket (GInetSocketAddress *address, GError **error)
{
  GSocketFamily family
      = g_socket_address_get_family (G_SOCKET_ADDRESS (address));
  g_autoptr (GSocket) socket = NULL;
  g_autofree char *shown = address_to_string (G_SOCKET_ADDRESS (address));

  socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         error);
  if (socket == NULL)
    {
      g_prefix_error (error, "cannot listen on %s: ", shown);
      return NULL;
    }
  /* The allow list must see IPv4 clients as IPv4: never accept mapped
   * addresses on an IPv6 socket. */
  if (family == G_SOCKET_FAMILY_IPV6
      && !g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
    {
      g_prefix_error (error, "cannot listen on %s: ", shown);
      return NULL;
    }
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, G_SOCKET_ADDRESS (address), TRUE, error)
      || !g_socket_listen (socket, error))
    {
      g_prefix_error (error, "cannot listen on %s: ", shown);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

static const Listener *
find_listener (GPtrArray *listeners, const char *configured)
{
  for (guint i = 0; listeners != NULL && i < listeners->len; i++)
    {
      const Listener *listener = g_ptr_array_index (listeners, i);

      if (g_strcmp0 (listener->configured, configured) == 0)
        return listener;
    }
  return NULL;
}

/* Binds every address of @config, reusing the sockets of @current that
 * are still wanted.  All or nothing: on error the new sockets are closed. */
static GPtrArray *
bind_listeners (MbRelayConfig *config, GPtrArray *current, GError **error)
{
  g_autoptr (GPtrArray) listeners
      = g_ptr_array_new_with_free_func ((GDestroyNotify)listener_free);

  for (guint i = 0; i < config->listen->len; i++)
    {
      GInetSocketAddress *address = g_ptr_array_index (config->listen, i);
      g_autofree char    *configured
          = address_to_string (G_SOCKET_ADDRESS (address));
      const Listener *existing = find_listener (current, configured);
      Listener       *listener;
      GSocket        *socket;

      if (existing != NULL)
        socket = g_object_ref (existing->socket);
      else
        socket = bind_socket (address, error);
      if (socket == NULL)
        {
          for (guint j = 0; j < listeners->len; j++)
            {
              Listener *made = g_ptr_array_index (listeners, j);

              if (find_listener (current, made->configured) == NULL)
                g_socket_close (made->socket, NULL);
            }
          return NULL;
        }
      listener = g_new0 (Listener, 1);
      listener->configured = g_steal_pointer (&configured);
      listener->socket = socket;
      g_ptr_array_add (listeners, listener);
    }
  return g_steal_pointer (&listeners);
}

/* The same shape as the session's own refusal lines.  @session and @reply
 * are NULL when there is none. */
static void
log_refused (MbSmtpSession *session,
             const char    *ip,
             const char    *reply,
             const char    *reason)
{
  g_autofree char *reply_field = reply != NULL
                                     ? g_strdup_printf (" reply=\"%s\"", reply)
                                     : g_strdup ("");

  if (session != NULL)
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_SESSION",
                      mb_smtp_session_get_id (session), "MESSAGE",
                      "session=%s client=%s refused%s reason=%s",
                      mb_smtp_session_get_id (session), ip, reply_field,
                      reason);
  else
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE",
                      "client=%s refused%s reason=%s", ip, reply_field, reason);
}

/* Callbacks */

static void
reject_closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

static void
reject_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GIOStream) connection = user_data;

  /* The client may be gone already; it is closed either way. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL,
                                    NULL);
  g_io_stream_close_async (connection, G_PRIORITY_DEFAULT, NULL,
                           reject_closed_cb, NULL);
}

/* The limits: one reply line and close, without a session. */
static void
reject_connection (GSocketConnection *connection, const char *line)
{
  static const char crlf[] = "\r\n";
  g_autofree char  *text = g_strconcat (line, crlf, NULL);
  GOutputStream    *output
      = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  gsize length = strlen (text);

  /* The bytes must outlive the write: keep them on the connection. */
  g_object_set_data_full (G_OBJECT (connection), "mb-reject-reply",
                          g_steal_pointer (&text), g_free);
  g_output_stream_write_all_async (
      output, g_object_get_data (G_OBJECT (connection), "mb-reject-reply"),
      length, G_PRIORITY_DEFAULT, NULL, reject_written_cb,
      g_object_ref (connection));
}

static void
on_session_closed_cb (MbSmtpSession *session, gpointer user_data)
{
  MbSmtpServer *self = user_data;
  const char   *ip = g_hash_table_lookup (self->sessions, session);
  guint         count;

  if (ip == NULL)
    return;
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_client, ip));
  if (count <= 1)
    g_hash_table_remove (self->per_client, ip);
  else
    g_hash_table_insert (self->per_client, g_strdup (ip),
                         GUINT_TO_POINTER (count - 1));
  g_hash_table_remove (self->sessions, session);
}

static void
on_session_message_accepted_cb (MbSmtpSession *session,
                                const char    *queue_id,
                                gpointer       user_data)
{
  MbSmtpServer *self = user_data;

  g_signal_emit (self, signals[SIGNAL_MESSAGE_ACCEPTED], 0, queue_id);
}

static gboolean
on_service_incoming_cb (GSocketService    *service,
                        GSocketConnection *connection,
                        GObject           *source_object,
                        gpointer           user_data)
{
  MbSmtpServer  *self = user_data;
  MbRelayConfig *config = self->config;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  g_autoptr (MbSmtpSession) session = NULL;
  g_autofree char *ip = NULL;
  GInetAddress    *address;
  guint            total = g_hash_table_size (self->sessions);
  guint            from_client;
  gboolean         allowed;

  remote = g_socket_connection_get_remote_address (connection, &error);
  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      /* Gone before we looked: nothing to answer. */
      g_debug ("connection without a peer address: %s",
               error != NULL ? error->message : "not an IP socket");
      return TRUE;
    }
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  ip = g_inet_address_to_string (address);
  from_client = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_client, ip));
  allowed = mb_relay_config_allows (config, address);

  if (total >= config->max_connections)
    {
      const char *line = "421 4.3.2 Too many connections, try again later";

      /* Strangers beyond the limits are not even answered. */
      log_refused (NULL, ip, allowed ? line : NULL, "too-many-connections");
      if (allowed)
        reject_connection (connection, line);
      return TRUE;
    }
  if (from_client >= config->max_connections_per_client)
    {
      const char *line = "421 4.7.0 Too many connections from your address, "
                         "try again later";

      log_refused (NULL, ip, allowed ? line : NULL,
                   "too-many-connections-from-client");
      if (allowed)
        reject_connection (connection, line);
      return TRUE;
    }

  session = mb_smtp_session_new (G_IO_STREAM (connection), remote, config,
                                 self->spool, self->tls_certificate);
  g_signal_connect_object (session, "closed", G_CALLBACK (on_session_closed_cb),
                           self, 0);
  g_signal_connect_object (session, "message-accepted",
                           G_CALLBACK (on_session_message_accepted_cb), self,
                           0);
  g_hash_table_insert (self->sessions, g_object_ref (session), g_strdup (ip));
  g_hash_table_insert (self->per_client, g_strdup (ip),
                       GUINT_TO_POINTER (from_client + 1));

  if (!allowed)
    {
      g_autofree char *line = g_strdup_printf (
          "554 5.7.1 %s: your address %s is not allowed to relay through "
          "this server; ask the administrator to add it to the allow list",
          config->hostname, ip);

      mb_smtp_session_start_refused (session, line);
      log_refused (session, ip, line, "not-in-allow-list");
      return TRUE;
    }
  mb_smtp_session_start (session);
  return TRUE;
}

/* Makes a running service of @listeners. */
static GSocketService *
new_service (MbSmtpServer *self, GPtrArray *listeners, GError **error)
{
  g_autoptr (GSocketService) service = g_socket_service_new ();

  for (guint i = 0; i < listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (listeners, i);

      if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (service),
                                         listener->socket, NULL, error))
        return NULL;
    }
  g_signal_connect_object (service, "incoming",
                           G_CALLBACK (on_service_incoming_cb), self, 0);
  g_socket_service_start (service);
  return g_steal_pointer (&service);
}

/* Closes the sockets of the current listeners that @keep does not hold. */
static void
close_listeners (MbSmtpServer *self, GPtrArray *keep)
{
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_signal_handlers_disconnect_by_data (self->service, self);
      g_clear_object (&self->service);
    }
  for (guint i = 0; self->listeners != NULL && i < self->listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (self->listeners, i);

      if (find_listener (keep, listener->configured) == NULL)
        g_socket_close (listener->socket, NULL);
    }
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
}

/* GObject */

static void
mb_smtp_server_dispose (GObject *object)
{
  MbSmtpServer *self = MB_SMTP_SERVER (object);

  mb_smtp_server_stop (self);
  /* Closing sessions hold themselves alive until "closed". */
  g_hash_table_remove_all (self->sessions);
  g_hash_table_remove_all (self->per_client);

  G_OBJECT_CLASS (mb_smtp_server_parent_class)->dispose (object);
}

static void
mb_smtp_server_finalize (GObject *object)
{
  MbSmtpServer *self = MB_SMTP_SERVER (object);

  g_clear_pointer (&self->config, mb_relay_config_unref);
  g_clear_object (&self->spool);
  g_clear_object (&self->tls_certificate);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->per_client);

  G_OBJECT_CLASS (mb_smtp_server_parent_class)->finalize (object);
}

static void
mb_smtp_server_class_init (MbSmtpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_smtp_server_dispose;
  object_class->finalize = mb_smtp_server_finalize;

  /**
   * MbSmtpServer::message-accepted:
   * @queue_id: the spool id
   *
   * A session committed a message to the spool.
   */
  signals[SIGNAL_MESSAGE_ACCEPTED] = g_signal_new (
      "message-accepted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
mb_smtp_server_init (MbSmtpServer *self)
{
  self->sessions = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                          g_object_unref, g_free);
  self->per_client
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* Public API */

MbSmtpServer *
mb_smtp_server_new (MbRelayConfig *config, MbSpool *spool)
{
  MbSmtpServer *self;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);

  self = g_object_new (MB_TYPE_SMTP_SERVER, NULL);
  self->config = mb_relay_config_ref (config);
  self->spool = g_object_ref (spool);
  return self;
}

gboolean
mb_smtp_server_start (MbSmtpServer *server, GError **error)
{
  g_autoptr (GPtrArray) listeners = NULL;
  GSocketService *service;

  g_return_val_if_fail (MB_IS_SMTP_SERVER (server), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (server->service != NULL)
    return TRUE;
  listeners = bind_listeners (server->config, NULL, error);
  if (listeners == NULL)
    return FALSE;
  service = new_service (server, listeners, error);
  if (service == NULL)
    {
      for (guint i = 0; i < listeners->len; i++)
        g_socket_close (((Listener *)g_ptr_array_index (listeners, i))->socket,
                        NULL);
      return FALSE;
    }
  server->service = service;
  server->listeners = g_steal_pointer (&listeners);
  return TRUE;
}

void
mb_smtp_server_stop (MbSmtpServer *server)
{
  g_autoptr (GList) sessions = NULL;

  g_return_if_fail (MB_IS_SMTP_SERVER (server));

  close_listeners (server, NULL);
  /* A copy: sessions leave the table when they have closed. */
  sessions = g_hash_table_get_keys (server->sessions);
  for (GList *l = sessions; l != NULL; l = l->next)
    mb_smtp_session_close (l->data);
}

void
mb_smtp_server_set_tls_certificate (MbSmtpServer    *server,
                                    GTlsCertificate *certificate)
{
  g_return_if_fail (MB_IS_SMTP_SERVER (server));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));

  g_set_object (&server->tls_certificate, certificate);
}

void
mb_smtp_server_set_config (MbSmtpServer *server, MbRelayConfig *config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) listeners = NULL;
  GSocketService *service = NULL;

  g_return_if_fail (MB_IS_SMTP_SERVER (server));
  g_return_if_fail (config != NULL);

  mb_relay_config_ref (config);
  g_clear_pointer (&server->config, mb_relay_config_unref);
  server->config = config;
  if (server->service == NULL)
    return;

  listeners = bind_listeners (config, server->listeners, &error);
  if (listeners != NULL)
    service = new_service (server, listeners, &error);
  if (listeners == NULL || service == NULL)
    {
      /* The old listeners keep serving; the rest of the new
       * configuration applies. */
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MESSAGE",
                        "listen addresses not changed: %s", error->message);
      return;
    }
  close_listeners (server, listeners);
  server->service = service;
  server->listeners = g_steal_pointer (&listeners);
}

guint
mb_smtp_server_get_n_sessions (MbSmtpServer *server)
{
  g_return_val_if_fail (MB_IS_SMTP_SERVER (server), 0);

  return g_hash_table_size (server->sessions);
}

GPtrArray *
mb_smtp_server_get_bound_addresses (MbSmtpServer *server)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_val_if_fail (MB_IS_SMTP_SERVER (server), addresses);

  for (guint i = 0; server->listeners != NULL && i < server->listeners->len;
       i++)
    {
      Listener       *listener = g_ptr_array_index (server->listeners, i);
      GSocketAddress *local
          = g_socket_get_local_address (listener->socket, NULL);

      if (local != NULL)
        g_ptr_array_add (addresses, local);
    }
  return addresses;
}
