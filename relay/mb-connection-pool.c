/* mb-connection-pool.c - the upstream connections of one route
 *
 * WHAT IT DOES
 *   Builds the MbSmtpClientOptions of a route (host, port, TLS policy,
 *   trust file) and, for each new connection, asks the route's
 *   MbRouteSignin for the sign-in part (password or a valid OAuth access
 *   token, client certificate); opens connections on demand (trying the MX
 *   hosts in order when the first cannot be reached), parks ready
 *   connections for the next message and QUITs them after an idle timeout.
 *
 * GUARANTEES
 *   - Never more open connections (connecting, busy or idle) than the
 *     route's pacer allows: Exchange Online refuses a fourth submission
 *     connection per mailbox with 432 4.3.2 (M365-FACTS.md 3.1).
 *   - A failed connect is recorded on the route (reply or "mb." pseudo
 *     reply) and starts a back-off on the retry schedule, so the queue
 *     does not try every message against a dead upstream.
 *   - Secrets live only in the options of one connection (wiped when
 *     freed by mb-smtp-client) and are never logged.  TLS is always
 *     verified; the trust file only adds CAs.
 *   - A route that cannot sign in (see mb-route-signin) says so in its
 *     state, sends nothing, and its messages wait without counting an
 *     attempt.
 *   - A refused XOAUTH2 token (535) is retried once, at once, with a token
 *     Entra issues anew; a second refusal is logged with what to check
 *     (SMTP AUTH disabled, a missing SMTP.Send or SMTP.SendAsApp
 *     permission, an unregistered service principal) and counts as a
 *     failed connect: the back-off and the route's pause on repeated
 *     replies apply, so the server never sees a tight loop.
 *   - A retired pool (the route's settings changed) cancels its connects
 *     and QUITs every connection once it is no longer busy: the attempts
 *     under way finish on the old settings, nothing new starts on them.
 *
 * WHAT IT DOES NOT DO
 *   It does not pace messages (mb-pacer, asked by the scheduler), read
 *   secrets or renew tokens (mb-route-signin), or choose which message
 *   goes on which connection.
 *
 * RFC 5321 5.1 (MX order), 4.1.1.10 (QUIT); RFC 3207 (STARTTLS);
 * RFC 4954 (AUTH).
 */
#define G_LOG_DOMAIN "mb-connection-pool"

#include "mb-connection-pool.h"

#include "mb-delivery.h"
#include "mb-retry.h"

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
  MbRouteSignin       *signin;   /* (owned) */
  MbSmtpClientOptions *options;  /* (owned) without sign-in or host */
  GArray              *schedule; /* (owned) (element-type gint64) */
  guint                idle_timeout;
  GQueue               idle;          /* (element-type IdleEntry) (owned) */
  guint                n_open;        /* holding a pacer slot */
  guint                failures;      /* consecutive failed connects */
  gint64               backoff_until; /* monotonic microseconds */
  GCancellable        *cancellable;   /* (owned) */
  gboolean             retired;       /* opens nothing, keeps nothing idle */
};

typedef struct
{
  MbSmtpClientOptions *options; /* (owned) with this connection's sign-in */
  GPtrArray           *hosts;   /* (owned) (element-type utf8) */
  guint                next;
  guint16              port;
  GError              *first_error;  /* (owned) (nullable) */
  gboolean             holding_slot; /* a pacer slot is ours */
  gboolean             no_signin;    /* the route cannot sign in */
  gboolean             renewed;      /* retried with a new token */
} OpenData;

enum
{
  SIGNAL_SLOT_FREED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (MbConnectionPool, mb_connection_pool, G_TYPE_OBJECT)

static void connect_next (GTask *task);
static void connect_host (GTask *task, const char *host);

static void
open_data_free (OpenData *data)
{
  g_clear_pointer (&data->options, mb_smtp_client_options_free);
  g_clear_pointer (&data->hosts, g_ptr_array_unref);
  g_clear_error (&data->first_error);
  g_free (data);
}

/* Helpers */

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

/* Logs a refusal of a token Entra had just issued: the cause is on the
 * Microsoft 365 side, and the admin needs to know where to look. */
static void
log_fresh_token_refused (MbConnectionPool *self, const GError *error)
{
  const MbSmtpReply *reply = mb_smtp_client_error_get_reply (error);
  g_autofree char   *line
      = reply != NULL ? mb_smtp_reply_to_string (reply) : g_strdup ("");
  const char *name = mb_route_get_name (self->route);
  gboolean    app = mb_route_get_auth (self->route) == MB_ROUTE_AUTH_OAUTH_APP;

  g_strdelimit (line, "\"\r\n", '\'');
  g_log_structured (
      G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_ROUTE", name, "MESSAGE",
      "route=%s auth=xoauth2 token=fresh refused reply=\"%s\" hint=\"Microsoft "
      "365 refused a token Microsoft Entra ID had just issued. Check that "
      "SMTP AUTH is allowed for the tenant and the mailbox (Set-CASMailbox "
      "-Identity <mailbox> -SmtpClientAuthenticationDisabled $false), that "
      "the app registration has the %s permission with admin consent%s\"",
      name, line,
      app ? "Office 365 Exchange Online SMTP.SendAsApp" : "delegated SMTP.Send",
      app ? ", and that its service principal is registered in Exchange "
            "Online (New-ServicePrincipal) with FullAccess on the mailbox "
            "(Add-MailboxPermission)"
          : "");
}

static void
renewed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  OpenData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!mb_route_signin_prepare_finish (MB_ROUTE_SIGNIN (source), result,
                                       data->options, &error))
    {
      data->no_signin = g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                                         MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The same host again: it answered, only the token was refused. */
  connect_host (g_steal_pointer (&task), data->hosts->pdata[data->next - 1]);
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
  if (g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                       MB_SMTP_CLIENT_ERROR_AUTH_FAILED)
      && mb_route_signin_can_renew (self->signin))
    {
      if (!data->renewed)
        {
          /* The token may have been revoked early: one more try with a
           * token Entra issues now. */
          g_debug ("route=%s token refused, renewing it once",
                   mb_route_get_name (self->route));
          data->renewed = TRUE;
          mb_route_signin_token_refused (self->signin);
          mb_route_signin_prepare_async (self->signin, self->cancellable,
                                         renewed_cb, g_steal_pointer (&task));
          return;
        }
      log_fresh_token_refused (self, error);
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
connect_host (GTask *task, const char *host)
{
  MbConnectionPool *self = g_task_get_source_object (task);
  OpenData         *data = g_task_get_task_data (task);
  g_autoptr (MbSmtpClientOptions) options
      = mb_smtp_client_options_copy (data->options);
  g_autoptr (MbSmtpClient) client = NULL;

  g_free (options->host);
  options->host = g_strdup (host);
  options->port = data->port;
  client = mb_smtp_client_new (options);
  g_object_set_data (G_OBJECT (client), "mb-pool", self);
  mb_smtp_client_connect_async (client, self->cancellable, connect_cb, task);
}

static void
connect_next (GTask *task)
{
  OpenData *data = g_task_get_task_data (task);

  connect_host (task, data->hosts->pdata[data->next++]);
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

static void
prepared_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbConnectionPool *self = g_task_get_source_object (task);
  OpenData         *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!mb_route_signin_prepare_finish (MB_ROUTE_SIGNIN (source), result,
                                       data->options, &error))
    {
      data->no_signin = g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                                         MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  mb_route_resolve_async (self->route, NULL, NULL, self->cancellable,
                          resolve_cb, g_steal_pointer (&task));
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

  g_clear_object (&self->signin);
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
                        MbCredentials       *credentials,
                        const char          *helo_name,
                        const GArray        *retry_schedule)
{
  MbConnectionPool *self;

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
  self->signin = mb_route_signin_new (route, config, credentials);
  return self;
}

MbRouteSignin *
mb_connection_pool_get_signin (MbConnectionPool *self)
{
  g_return_val_if_fail (MB_IS_CONNECTION_POOL (self), NULL);
  return self->signin;
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

  OpenData *data;

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_connection_pool_open_async);
  data = g_new0 (OpenData, 1);
  data->options = mb_smtp_client_options_copy (self->options);
  g_task_set_task_data (task, data, (GDestroyNotify)open_data_free);
  if (self->retired)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               "Route %s's old settings are no longer used",
                               mb_route_get_name (self->route));
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
  data->holding_slot = TRUE;
  mb_route_signin_prepare_async (self->signin, self->cancellable, prepared_cb,
                                 g_steal_pointer (&task));
}

MbSmtpClient *
mb_connection_pool_open_finish (MbConnectionPool *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_autoptr (GError) local_error = NULL;
  OpenData     *data;
  MbSmtpClient *client;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  client = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (client != NULL)
    return client;

  if (data->holding_slot)
    free_slot (self);
  /* A route that cannot sign in already says why in its state: that is
   * no failed connect. */
  if (data->holding_slot && !data->no_signin
      && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gint64 delay;

      self->failures++;
      delay = mb_retry_get_delay (self->schedule, self->failures);
      self->backoff_until = g_get_monotonic_time () + delay * G_USEC_PER_SEC;
      mb_delivery_record_error (self->route, local_error);
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
  if (self->retired)
    {
      mb_smtp_client_quit_async (client, NULL, quit_cb, g_object_ref (self));
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

void
mb_connection_pool_retire (MbConnectionPool *self)
{
  g_return_if_fail (MB_IS_CONNECTION_POOL (self));

  self->retired = TRUE;
  /* A connect to the old host may hang until its timeout; nothing waits
   * for it any more. */
  g_cancellable_cancel (self->cancellable);
  mb_connection_pool_close_idle (self);
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
