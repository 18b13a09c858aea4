/* mb-relay-client-calls.c - the relay's methods as _async/_finish pairs
 *
 * Each wrapper is one D-Bus call through the proxy (never auto-starting the
 * relay: connecting is mb-relay-client.c's job).  Replies are checked
 * against the interface XML by GDBusProxy; D-Bus errors become
 * MB_RELAY_CLIENT_ERROR codes, so callers branch on codes, never on text.
 */
#define G_LOG_DOMAIN "mb-relay-client"

#include "mb-relay-client-private.h"

#include <glib/gi18n.h>
#include <signal.h>

#define ERROR_PREFIX "org.mailbridge.Relay1.Error."

static const struct
{
  const char        *name;
  MbRelayClientError code;
} error_names[] = {
  { "Failed", MB_RELAY_CLIENT_ERROR_FAILED },
  { "InvalidArgument", MB_RELAY_CLIENT_ERROR_INVALID_ARGUMENT },
  { "NotFound", MB_RELAY_CLIENT_ERROR_NOT_FOUND },
  { "ConfigInvalid", MB_RELAY_CLIENT_ERROR_CONFIG_INVALID },
  { "Io", MB_RELAY_CLIENT_ERROR_IO },
  { "NoSpace", MB_RELAY_CLIENT_ERROR_NO_SPACE },
  { "Busy", MB_RELAY_CLIENT_ERROR_BUSY },
  { "Timeout", MB_RELAY_CLIENT_ERROR_TIMEOUT },
  { "NotSupported", MB_RELAY_CLIENT_ERROR_NOT_SUPPORTED },
};

/* Takes @error; returns one in MB_RELAY_CLIENT_ERROR, except cancellation,
 * which stays G_IO_ERROR_CANCELLED. */
static GError *
translate_error (GError *error)
{
  g_autoptr (GError) owned = error;
  g_autofree char   *remote = NULL;
  MbRelayClientError code = MB_RELAY_CLIENT_ERROR_FAILED;

  if (g_error_matches (owned, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_steal_pointer (&owned);
  /* The D-Bus name whether or not some code in this process registered
   * the relay's error domain. */
  remote = g_dbus_error_encode_gerror (owned);

  if (remote != NULL && g_str_has_prefix (remote, ERROR_PREFIX))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (error_names); i++)
        if (g_str_equal (remote + strlen (ERROR_PREFIX), error_names[i].name))
          code = error_names[i].code;
    }
  else if (g_error_matches (owned, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
           || g_error_matches (owned, G_DBUS_ERROR,
                               G_DBUS_ERROR_NAME_HAS_NO_OWNER)
           || g_error_matches (owned, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED)
           || g_error_matches (owned, G_IO_ERROR, G_IO_ERROR_CLOSED))
    code = MB_RELAY_CLIENT_ERROR_UNREACHABLE;
  else if (g_error_matches (owned, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY)
           || g_error_matches (owned, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT)
           || g_error_matches (owned, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    code = MB_RELAY_CLIENT_ERROR_TIMEOUT;

  if (code == MB_RELAY_CLIENT_ERROR_UNREACHABLE)
    return g_error_new_literal (MB_RELAY_CLIENT_ERROR, code,
                                _ ("The relay is not running."));
  g_dbus_error_strip_remote_error (owned);
  return g_error_new_literal (MB_RELAY_CLIENT_ERROR, code, owned->message);
}

static void
call_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError   *error = NULL;
  GVariant *reply;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    g_task_return_error (task, translate_error (error));
  else
    g_task_return_pointer (task, reply, (GDestroyNotify)g_variant_unref);
}

/* Calls @method with @parameters (floating references are sunk). */
static void
call_method (MbRelayClient      *self,
             const char         *method,
             GVariant           *parameters,
             int                 timeout_ms,
             gpointer            source_tag,
             GCancellable       *cancellable,
             GAsyncReadyCallback callback,
             gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GVariant) sunk
      = parameters ? g_variant_ref_sink (parameters) : NULL;

  g_task_set_source_tag (task, source_tag);
  if (self->proxy == NULL || self->connection != MB_RELAY_CONNECTION_CONNECTED)
    {
      g_task_return_new_error (task, MB_RELAY_CLIENT_ERROR,
                               MB_RELAY_CLIENT_ERROR_UNREACHABLE,
                               _ ("The relay is not running."));
      return;
    }
  g_dbus_proxy_call (G_DBUS_PROXY (self->proxy), method, sunk,
                     G_DBUS_CALL_FLAGS_NO_AUTO_START, timeout_ms, cancellable,
                     call_done_cb, g_steal_pointer (&task));
}

static GVariant *
call_finish (MbRelayClient *self,
             GAsyncResult  *result,
             gpointer       source_tag,
             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
mb_relay_client_list_queue_async (MbRelayClient      *self,
                                  guint               offset,
                                  guint               limit,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  call_method (self, "ListQueue", g_variant_new ("(uu)", offset, limit), -1,
               mb_relay_client_list_queue_async, cancellable, callback,
               user_data);
}

/* A page of messages and the total, from ListQueue or SearchQueue. */
static GVariant *
messages_finish (MbRelayClient *self,
                 GAsyncResult  *result,
                 gpointer       source_tag,
                 guint         *total,
                 GError       **error)
{
  g_autoptr (GVariant) reply = call_finish (self, result, source_tag, error);
  GVariant *messages = NULL;
  guint     count = 0;

  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(@aa{sv}u)", &messages, &count);
  if (total != NULL)
    *total = count;
  return messages;
}

GVariant *
mb_relay_client_list_queue_finish (MbRelayClient *self,
                                   GAsyncResult  *result,
                                   guint         *total,
                                   GError       **error)
{
  return messages_finish (self, result, mb_relay_client_list_queue_async, total,
                          error);
}

void
mb_relay_client_search_queue_async (MbRelayClient      *self,
                                    const char         *text,
                                    guint               limit,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  call_method (self, "SearchQueue", g_variant_new ("(su)", text, limit), -1,
               mb_relay_client_search_queue_async, cancellable, callback,
               user_data);
}

GVariant *
mb_relay_client_search_queue_finish (MbRelayClient *self,
                                     GAsyncResult  *result,
                                     guint         *total,
                                     GError       **error)
{
  return messages_finish (self, result, mb_relay_client_search_queue_async,
                          total, error);
}

void
mb_relay_client_show_message_async (MbRelayClient      *self,
                                    const char         *id,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  call_method (self, "ShowMessage", g_variant_new ("(s)", id), -1,
               mb_relay_client_show_message_async, cancellable, callback,
               user_data);
}

gboolean
mb_relay_client_show_message_finish (MbRelayClient *self,
                                     GAsyncResult  *result,
                                     GVariant     **envelope,
                                     GVariant     **headers,
                                     GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_show_message_async, error);

  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(@a{sv}@a(ss))", envelope, headers);
  return TRUE;
}

void
mb_relay_client_retry_message_async (MbRelayClient      *self,
                                     const char         *id,
                                     GCancellable       *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer            user_data)
{
  call_method (self, "RetryMessage", g_variant_new ("(s)", id), -1,
               mb_relay_client_retry_message_async, cancellable, callback,
               user_data);
}

gboolean
mb_relay_client_retry_message_finish (MbRelayClient *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_retry_message_async, error);

  return reply != NULL;
}

void
mb_relay_client_delete_message_async (MbRelayClient      *self,
                                      const char         *id,
                                      GCancellable       *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data)
{
  call_method (self, "DeleteMessage", g_variant_new ("(s)", id), -1,
               mb_relay_client_delete_message_async, cancellable, callback,
               user_data);
}

gboolean
mb_relay_client_delete_message_finish (MbRelayClient *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_delete_message_async, error);

  return reply != NULL;
}

void
mb_relay_client_retry_all_async (MbRelayClient      *self,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  call_method (self, "RetryAll", NULL, -1, mb_relay_client_retry_all_async,
               cancellable, callback, user_data);
}

gboolean
mb_relay_client_retry_all_finish (MbRelayClient *self,
                                  GAsyncResult  *result,
                                  guint         *count,
                                  GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_retry_all_async, error);
  guint n = 0;

  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(u)", &n);
  if (count != NULL)
    *count = n;
  return TRUE;
}

void
mb_relay_client_set_paused_async (MbRelayClient      *self,
                                  gboolean            paused,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  call_method (self, paused ? "Pause" : "Resume", NULL, -1,
               mb_relay_client_set_paused_async, cancellable, callback,
               user_data);
}

gboolean
mb_relay_client_set_paused_finish (MbRelayClient *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_set_paused_async, error);

  return reply != NULL;
}

void
mb_relay_client_send_test_async (MbRelayClient      *self,
                                 const char         *to,
                                 const char         *from,
                                 const char         *route,
                                 guint               timeout,
                                 GCancellable       *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer            user_data)
{
  guint wait_s = timeout != 0 ? timeout : 60;

  /* The relay answers after up to @timeout seconds; leave it room. */
  call_method (self, "SendTest",
               g_variant_new ("(sssu)", to, from ? from : "",
                              route ? route : "", timeout),
               (int)(wait_s + 15) * 1000, mb_relay_client_send_test_async,
               cancellable, callback, user_data);
}

MbTestSendResult *
mb_relay_client_send_test_finish (MbRelayClient *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_send_test_async, error);
  MbTestSendResult *outcome;

  if (reply == NULL)
    return NULL;
  outcome = g_new0 (MbTestSendResult, 1);
  g_variant_get (reply, "(sssss)", &outcome->queue_id, &outcome->outcome,
                 &outcome->reply, &outcome->hint, &outcome->hint_text);
  return outcome;
}

void
mb_relay_client_read_log_async (MbRelayClient      *self,
                                GVariant           *filter,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  call_method (self, "ReadLog", g_variant_new ("(@a{sv})", filter), -1,
               mb_relay_client_read_log_async, cancellable, callback,
               user_data);
}

GVariant *
mb_relay_client_read_log_finish (MbRelayClient *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_read_log_async, error);
  GVariant *records = NULL;

  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(@aa{sv})", &records);
  return records;
}

static void
got_pid_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  guint32 pid = 0;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                         &error);
  if (reply == NULL)
    {
      g_task_return_error (task, translate_error (error));
      return;
    }
  g_variant_get (reply, "(u)", &pid);
  if (pid <= 1 || kill ((pid_t)pid, SIGTERM) != 0)
    {
      g_task_return_new_error (task, MB_RELAY_CLIENT_ERROR,
                               MB_RELAY_CLIENT_ERROR_FAILED,
                               _ ("The relay could not be stopped."));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
mb_relay_client_stop_relay_async (MbRelayClient      *self,
                                  GCancellable       *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer            user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *owner = NULL;

  g_task_set_source_tag (task, mb_relay_client_stop_relay_async);
  if (self->proxy != NULL)
    owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->proxy));
  if (owner == NULL)
    {
      g_task_return_boolean (task, TRUE); /* nothing runs */
      return;
    }
  g_dbus_connection_call (self->bus, "org.freedesktop.DBus",
                          "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixProcessID",
                          g_variant_new ("(s)", owner), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, cancellable, got_pid_cb,
                          g_steal_pointer (&task));
}

gboolean
mb_relay_client_stop_relay_finish (MbRelayClient *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_relay_client_reload_async (MbRelayClient      *self,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  call_method (self, "Reload", NULL, -1, mb_relay_client_reload_async,
               cancellable, callback, user_data);
}

gboolean
mb_relay_client_reload_finish (MbRelayClient *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_reload_async, error);

  return reply != NULL;
}

void
mb_relay_client_check_config_async (MbRelayClient      *self,
                                    const char         *path,
                                    GCancellable       *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer            user_data)
{
  call_method (
      self, "CheckConfig", g_variant_new ("(s)", path != NULL ? path : ""), -1,
      mb_relay_client_check_config_async, cancellable, callback, user_data);
}

gboolean
mb_relay_client_check_config_finish (MbRelayClient *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_autoptr (GVariant) reply
      = call_finish (self, result, mb_relay_client_check_config_async, error);

  return reply != NULL;
}

void
mb_relay_client_reload_credentials_async (MbRelayClient      *self,
                                          const char         *route,
                                          GCancellable       *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer            user_data)
{
  /* The relay answers once the secrets are read (a keyring may ask). */
  call_method (self, "ReloadCredentials",
               g_variant_new ("(s)", route != NULL ? route : ""), 120 * 1000,
               mb_relay_client_reload_credentials_async, cancellable, callback,
               user_data);
}

gboolean
mb_relay_client_reload_credentials_finish (MbRelayClient *self,
                                           GAsyncResult  *result,
                                           char         **state,
                                           char         **reason,
                                           GError       **error)
{
  g_autoptr (GVariant) reply = call_finish (
      self, result, mb_relay_client_reload_credentials_async, error);

  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(ss)", state, reason);
  return TRUE;
}
