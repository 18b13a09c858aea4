/* mb-relay-client.c - the app's view of the relay (org.mailbridge.Relay1)
 *
 * Connecting: get the session bus, make a proxy that does not auto-start,
 * and if the name has no owner ask the bus to start it
 * (StartServiceByName).  When the bus knows no such service, spawn the
 * binary (mb-relay-launcher).  Either way the relay is up once it owns its
 * name (it takes the name only when ready); if that does not happen in
 * START_TIMEOUT_S, or the spawned process exits first, the client reports
 * UNREACHABLE with a sentence the admin can act on.
 *
 * The method wrappers live in mb-relay-client-calls.c.
 */
#define G_LOG_DOMAIN "mb-relay-client"

#include "mb-relay-client-private.h"

#include <glib/gi18n.h>

#include "mb-relay-config.h"
#include "mb-relay-launcher.h"

#define RELAY_NAME "org.mailbridge.Relay1"
#define RELAY_PATH "/org/mailbridge/Relay1"
#define START_TIMEOUT_S 30
#define COUNT_PAGE 5000

enum
{
  PROP_0,
  PROP_CONNECTION,
  PROP_CONNECTION_ERROR,
  PROP_STATE,
  PROP_PAUSED,
  PROP_ATTENTION_REASONS,
  PROP_QUEUE_LENGTH,
  PROP_DEFERRED_COUNT,
  PROP_OLDEST_RECEIVED,
  PROP_LISTEN_ADDRESSES,
  PROP_ROUTES,
  PROP_VERSION,
  PROP_CONFIG_PATH,
  PROP_DELIVERED_TODAY,
  PROP_FAILED_TODAY,
  PROP_ADMIN_ADDRESS,
  PROP_DEFAULT_SENDER,
  N_PROPS
};

enum
{
  SIGNAL_QUEUE_CHANGED,
  SIGNAL_LOG_RECORD_ADDED,
  SIGNAL_DELIVERY_FAILED,
  SIGNAL_ROUTE_STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint       signals[N_SIGNALS];

G_DEFINE_TYPE (MbRelayClient, mb_relay_client, G_TYPE_OBJECT)

static void start_relay (MbRelayClient *self);
static void count_today (MbRelayClient *self);

GQuark
mb_relay_client_error_quark (void)
{
  return g_quark_from_static_string ("mb-relay-client-error-quark");
}

void
mb_route_status_free (MbRouteStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->name);
  g_free (status->method);
  g_free (status->reason);
  g_free (status->last_reply);
  g_free (status->hint);
  g_free (status->hint_text);
  g_free (status->attention);
  g_free (status);
}

void
mb_test_send_result_free (MbTestSendResult *result)
{
  if (result == NULL)
    return;
  g_free (result->queue_id);
  g_free (result->outcome);
  g_free (result->reply);
  g_free (result->hint);
  g_free (result->hint_text);
  g_free (result);
}

/* Helpers */

static void
set_string (MbRelayClient *self, char **field, const char *value, guint prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_strv (MbRelayClient     *self,
          GStrv             *field,
          const char *const *value,
          guint              prop)
{
  static const char *const empty[] = { NULL };

  if (value == NULL)
    value = empty;
  if (*field != NULL && g_strv_equal ((const char *const *)*field, value))
    return;
  g_strfreev (*field);
  *field = g_strdupv ((char **)value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_uint (MbRelayClient *self, guint *field, guint value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_connection (MbRelayClient    *self,
                MbRelayConnection connection,
                const char       *error)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->connection != connection)
    {
      self->connection = connection;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONNECTION]);
    }
  set_string (self, &self->connection_error, error, PROP_CONNECTION_ERROR);
  g_object_thaw_notify (G_OBJECT (self));
}

static MbRelayState
parse_relay_state (const char *text)
{
  if (g_strcmp0 (text, "running") == 0)
    return MB_RELAY_STATE_RUNNING;
  if (g_strcmp0 (text, "paused") == 0)
    return MB_RELAY_STATE_PAUSED;
  if (g_strcmp0 (text, "needs-attention") == 0)
    return MB_RELAY_STATE_NEEDS_ATTENTION;
  return MB_RELAY_STATE_UNKNOWN;
}

MbRouteState
mb_route_state_from_string (const char *text)
{
  if (g_strcmp0 (text, "paused") == 0)
    return MB_ROUTE_STATE_PAUSED;
  if (g_strcmp0 (text, "needs-signin") == 0)
    return MB_ROUTE_STATE_NEEDS_SIGNIN;
  if (g_strcmp0 (text, "failing") == 0)
    return MB_ROUTE_STATE_FAILING;
  return MB_ROUTE_STATE_READY;
}

static char *
lookup_string (GVariantDict *dict, const char *key)
{
  const char *value = NULL;

  if (!g_variant_dict_lookup (dict, key, "&s", &value))
    value = "";
  return g_strdup (value);
}

static MbRouteStatus *
route_status_new_from_variant (GVariant *entry)
{
  g_auto (GVariantDict) dict;
  g_autofree char *state = NULL;
  MbRouteStatus   *status = g_new0 (MbRouteStatus, 1);

  g_variant_dict_init (&dict, entry);
  status->name = lookup_string (&dict, "name");
  status->method = lookup_string (&dict, "method");
  state = lookup_string (&dict, "state");
  status->state = mb_route_state_from_string (state);
  status->reason = lookup_string (&dict, "reason");
  status->last_reply = lookup_string (&dict, "last_reply");
  status->hint = lookup_string (&dict, "hint");
  status->hint_text = lookup_string (&dict, "hint_text");
  if (!g_variant_dict_lookup (&dict, "default", "b", &status->is_default))
    status->is_default = FALSE;
  status->attention = lookup_string (&dict, "attention");
  /* Absent from a relay older than the key: nothing to renew. */
  if (!g_variant_dict_lookup (&dict, "secret_expires", "x",
                              &status->secret_expires))
    status->secret_expires = 0;
  return status;
}

static gboolean
route_status_equal (const MbRouteStatus *a, const MbRouteStatus *b)
{
  return g_str_equal (a->name, b->name) && g_str_equal (a->method, b->method)
         && a->state == b->state && g_str_equal (a->reason, b->reason)
         && g_str_equal (a->last_reply, b->last_reply)
         && g_str_equal (a->hint, b->hint)
         && g_str_equal (a->hint_text, b->hint_text)
         && a->is_default == b->is_default
         && g_str_equal (a->attention, b->attention)
         && a->secret_expires == b->secret_expires;
}

static void
set_routes (MbRelayClient *self, GVariant *value)
{
  g_autoptr (GPtrArray) routes
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_route_status_free);
  gboolean changed;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE ("aa{sv}")))
    {
      for (gsize i = 0; i < g_variant_n_children (value); i++)
        {
          g_autoptr (GVariant) entry = g_variant_get_child_value (value, i);

          g_ptr_array_add (routes, route_status_new_from_variant (entry));
        }
    }

  changed = routes->len != self->routes->len;
  for (guint i = 0; !changed && i < routes->len; i++)
    changed = !route_status_equal (g_ptr_array_index (routes, i),
                                   g_ptr_array_index (self->routes, i));
  if (!changed)
    return;
  g_ptr_array_unref (self->routes);
  self->routes = g_steal_pointer (&routes);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ROUTES]);
}

static void
clear_relay_properties (MbRelayClient *self)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->state != MB_RELAY_STATE_UNKNOWN)
    {
      self->state = MB_RELAY_STATE_UNKNOWN;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
    }
  set_strv (self, &self->attention_reasons, NULL, PROP_ATTENTION_REASONS);
  set_strv (self, &self->listen_addresses, NULL, PROP_LISTEN_ADDRESSES);
  set_routes (self, NULL);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Configuration: the admin address and the route's mailbox are not on the
 * bus; they come from the file the relay names in ConfigPath. */

static void
apply_config (MbRelayClient *self, MbRelayConfig *config)
{
  const char    *admin = NULL;
  const char    *sender = NULL;
  MbRouteConfig *route = NULL;

  if (config != NULL)
    {
      admin = config->admin_address;
      if (config->route != NULL)
        route = mb_relay_config_lookup_route (config, config->route);
      if (route == NULL && config->routes->len > 0)
        route = g_ptr_array_index (config->routes, 0);
      if (route != NULL)
        sender = route->mailbox;
    }
  set_string (self, &self->admin_address, admin, PROP_ADMIN_ADDRESS);
  set_string (self, &self->default_sender, sender, PROP_DEFAULT_SENDER);
}

static void
config_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayClient) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *path = g_file_get_path (G_FILE (source));
  gsize            length = 0;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length,
                                    NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("cannot read %s: %s", path, error->message);
      return;
    }
  /* A newer ConfigPath may have been announced meanwhile. */
  if (g_strcmp0 (path, self->config_path) != 0)
    return;
  config = mb_relay_config_load_data (contents, length, path, &error);
  if (config == NULL)
    g_debug ("cannot parse %s: %s", path, error->message);
  apply_config (self, config);
}

static void
load_config (MbRelayClient *self)
{
  g_autoptr (GFile) file = NULL;

  if (self->config_path == NULL || *self->config_path == '\0')
    {
      apply_config (self, NULL);
      return;
    }
  file = g_file_new_for_path (self->config_path);
  g_file_load_contents_async (file, self->cancellable, config_loaded_cb,
                              g_object_ref (self));
}

/* Properties */

static gboolean
sync_properties_idle_cb (gpointer user_data)
{
  MbRelayClient  *self = user_data;
  MbClientRelay1 *proxy = self->proxy;
  g_autoptr (GVariant) routes = NULL;
  g_autofree char *old_config_path = g_strdup (self->config_path);
  MbRelayState     state;

  self->sync_idle_id = 0;
  if (proxy == NULL || self->connection != MB_RELAY_CONNECTION_CONNECTED)
    return G_SOURCE_REMOVE;

  g_object_freeze_notify (G_OBJECT (self));
  state = parse_relay_state (mb_client_relay1_get_state (proxy));
  if (state != self->state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
    }
  if (self->paused != mb_client_relay1_get_paused (proxy))
    {
      self->paused = mb_client_relay1_get_paused (proxy);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PAUSED]);
    }
  set_strv (self, &self->attention_reasons,
            mb_client_relay1_get_attention_reasons (proxy),
            PROP_ATTENTION_REASONS);
  set_uint (self, &self->queue_length,
            mb_client_relay1_get_queue_length (proxy), PROP_QUEUE_LENGTH);
  set_uint (self, &self->deferred_count,
            mb_client_relay1_get_deferred_count (proxy), PROP_DEFERRED_COUNT);
  if (self->oldest_received
      != mb_client_relay1_get_oldest_message_received (proxy))
    {
      self->oldest_received
          = mb_client_relay1_get_oldest_message_received (proxy);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_OLDEST_RECEIVED]);
    }
  set_strv (self, &self->listen_addresses,
            mb_client_relay1_get_listen_addresses (proxy),
            PROP_LISTEN_ADDRESSES);
  routes = mb_client_relay1_dup_routes (proxy);
  set_routes (self, routes);
  set_string (self, &self->version, mb_client_relay1_get_version (proxy),
              PROP_VERSION);
  set_string (self, &self->config_path,
              mb_client_relay1_get_config_path (proxy), PROP_CONFIG_PATH);
  g_object_thaw_notify (G_OBJECT (self));

  if (g_strcmp0 (old_config_path, self->config_path) != 0)
    load_config (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_sync (MbRelayClient *self)
{
  if (self->sync_idle_id == 0)
    self->sync_idle_id = g_idle_add (sync_properties_idle_cb, self);
}

static void
on_proxy_properties_changed_cb (GDBusProxy *proxy,
                                GVariant   *changed,
                                GStrv       invalidated,
                                gpointer    user_data)
{
  schedule_sync (MB_RELAY_CLIENT (user_data));
}

/* Signals */

static gboolean
emit_queue_changed_idle_cb (gpointer user_data)
{
  MbRelayClient    *self = user_data;
  g_autofree char **changed = NULL;
  g_autofree char **removed = NULL;

  self->queue_idle_id = 0;
  changed
      = (char **)g_hash_table_get_keys_as_array (self->pending_changed, NULL);
  removed
      = (char **)g_hash_table_get_keys_as_array (self->pending_removed, NULL);
  g_hash_table_steal_all (self->pending_changed);
  g_hash_table_steal_all (self->pending_removed);
  g_signal_emit (self, signals[SIGNAL_QUEUE_CHANGED], 0, changed, removed);
  /* The keys were stolen from the sets: free them here. */
  for (guint i = 0; changed[i] != NULL; i++)
    g_free (changed[i]);
  for (guint i = 0; removed[i] != NULL; i++)
    g_free (removed[i]);
  return G_SOURCE_REMOVE;
}

static void
on_proxy_queue_changed_cb (MbClientRelay1    *proxy,
                           const char *const *changed_ids,
                           const char *const *removed_ids,
                           gpointer           user_data)
{
  MbRelayClient *self = user_data;

  for (gsize i = 0; changed_ids[i] != NULL; i++)
    {
      g_hash_table_remove (self->pending_removed, changed_ids[i]);
      g_hash_table_add (self->pending_changed, g_strdup (changed_ids[i]));
    }
  for (gsize i = 0; removed_ids[i] != NULL; i++)
    {
      g_hash_table_remove (self->pending_changed, removed_ids[i]);
      g_hash_table_add (self->pending_removed, g_strdup (removed_ids[i]));
    }
  if (self->queue_idle_id == 0)
    self->queue_idle_id = g_idle_add (emit_queue_changed_idle_cb, self);
}

static void
count_record (MbRelayClient *self, const char *status, gint64 time_us)
{
  if (time_us < self->today_start_us)
    return;
  if (g_strcmp0 (status, "delivered") == 0)
    set_uint (self, &self->delivered_today, self->delivered_today + 1,
              PROP_DELIVERED_TODAY);
  else if (g_strcmp0 (status, "failed") == 0
           || g_strcmp0 (status, "expired") == 0)
    set_uint (self, &self->failed_today, self->failed_today + 1,
              PROP_FAILED_TODAY);
}

static void
on_proxy_log_record_added_cb (MbClientRelay1 *proxy,
                              GVariant       *record,
                              gpointer        user_data)
{
  MbRelayClient *self = user_data;
  const char    *status = NULL;
  gint64         id = 0;
  gint64         time_us = 0;

  if (!g_variant_is_of_type (record, G_VARIANT_TYPE_VARDICT))
    return;
  g_variant_lookup (record, "status", "&s", &status);
  g_variant_lookup (record, "id", "x", &id);
  g_variant_lookup (record, "time_us", "x", &time_us);

  /* While today's counts are being read, keep the record aside: the read
   * may or may not include it (see count_today). */
  if (self->counting)
    g_array_append_val (
        self->counted_aside,
        ((CountedRecord){ id, time_us, g_quark_from_string (status) }));
  else
    count_record (self, status, time_us);

  g_signal_emit (self, signals[SIGNAL_LOG_RECORD_ADDED], 0, record);
}

static void
on_proxy_delivery_failed_cb (MbClientRelay1 *proxy,
                             const char     *queue_id,
                             const char     *recipient,
                             const char     *route,
                             const char     *status,
                             const char     *reply,
                             const char     *hint,
                             const char     *hint_text,
                             gpointer        user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_DELIVERY_FAILED], 0, queue_id,
                 recipient, route, status, reply, hint, hint_text);
}

static void
on_proxy_route_state_changed_cb (MbClientRelay1 *proxy,
                                 const char     *route,
                                 const char     *state,
                                 const char     *reason,
                                 const char     *last_reply,
                                 const char     *hint,
                                 gpointer        user_data)
{
  MbRelayClient *self = user_data;

  /* Routes changes through PropertiesChanged too; bring it up to date
   * first so handlers see the new state. */
  if (self->sync_idle_id != 0)
    {
      g_source_remove (self->sync_idle_id);
      sync_properties_idle_cb (self);
    }
  g_signal_emit (self, signals[SIGNAL_ROUTE_STATE_CHANGED], 0, route, state,
                 reason, hint);
}

/* Today's counts: ReadLog since local midnight, page by page. */

static gint64
local_midnight_us (gint64 *next_midnight_us)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autoptr (GDateTime) midnight = g_date_time_new_local (
      g_date_time_get_year (now), g_date_time_get_month (now),
      g_date_time_get_day_of_month (now), 0, 0, 0);
  g_autoptr (GDateTime) next = g_date_time_add_days (midnight, 1);

  *next_midnight_us = g_date_time_to_unix (next) * G_USEC_PER_SEC;
  return g_date_time_to_unix (midnight) * G_USEC_PER_SEC;
}

static gboolean
on_midnight_cb (gpointer user_data)
{
  MbRelayClient *self = user_data;

  self->midnight_id = 0;
  count_today (self);
  return G_SOURCE_REMOVE;
}

static void read_count_page (MbRelayClient *self, const char *status);

static void
finish_counting (MbRelayClient *self)
{
  self->counting = FALSE;
  g_object_freeze_notify (G_OBJECT (self));
  set_uint (self, &self->delivered_today, self->count_delivered,
            PROP_DELIVERED_TODAY);
  set_uint (self, &self->failed_today, self->count_failed, PROP_FAILED_TODAY);
  for (guint i = 0; i < self->counted_aside->len; i++)
    {
      CountedRecord *record
          = &g_array_index (self->counted_aside, CountedRecord, i);

      if (record->id > self->count_max_id)
        count_record (self, g_quark_to_string (record->status),
                      record->time_us);
    }
  g_array_set_size (self->counted_aside, 0);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
count_page_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbRelayClient   *self = MB_RELAY_CLIENT (source);
  g_autofree char *status = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) records = NULL;
  gsize n;

  records = mb_relay_client_read_log_finish (self, result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (records == NULL)
    {
      g_debug ("cannot count today's %s records: %s", status, error->message);
      finish_counting (self);
      return;
    }

  n = g_variant_n_children (records);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) record = g_variant_get_child_value (records, i);
      const char *record_status = "";
      gint64      id = 0;

      g_variant_lookup (record, "status", "&s", &record_status);
      g_variant_lookup (record, "id", "x", &id);
      self->count_max_id = MAX (self->count_max_id, id);
      if (g_str_equal (record_status, "delivered"))
        self->count_delivered++;
      else
        self->count_failed++;
    }
  self->count_offset += n;

  if (n == COUNT_PAGE)
    read_count_page (self, status);
  else if (g_str_equal (status, "delivered"))
    {
      self->count_offset = 0;
      read_count_page (self, "failed");
    }
  else if (g_str_equal (status, "failed"))
    {
      self->count_offset = 0;
      read_count_page (self, "expired");
    }
  else
    finish_counting (self);
}

static void
read_count_page (MbRelayClient *self, const char *status)
{
  g_auto (GVariantBuilder) filter
      = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&filter, "{sv}", "since_us",
                         g_variant_new_int64 (self->today_start_us));
  g_variant_builder_add (&filter, "{sv}", "status",
                         g_variant_new_string (status));
  g_variant_builder_add (&filter, "{sv}", "limit",
                         g_variant_new_uint32 (COUNT_PAGE));
  g_variant_builder_add (&filter, "{sv}", "offset",
                         g_variant_new_uint32 (self->count_offset));
  mb_relay_client_read_log_async (self, g_variant_builder_end (&filter),
                                  self->count_cancellable, count_page_cb,
                                  g_strdup (status));
}

static void
count_today (MbRelayClient *self)
{
  gint64 next_midnight_us;
  gint64 now_us = g_get_real_time ();
  guint  seconds;

  g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);
  self->count_cancellable = g_cancellable_new ();
  g_clear_handle_id (&self->midnight_id, g_source_remove);

  self->today_start_us = local_midnight_us (&next_midnight_us);
  seconds = (guint)((next_midnight_us - now_us) / G_USEC_PER_SEC) + 1;
  self->midnight_id = g_timeout_add_seconds (seconds, on_midnight_cb, self);

  self->counting = TRUE;
  self->count_delivered = 0;
  self->count_failed = 0;
  self->count_offset = 0;
  self->count_max_id = 0;
  g_array_set_size (self->counted_aside, 0);
  read_count_page (self, "delivered");
}

/* Connecting */

static void
on_connected (MbRelayClient *self)
{
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_clear_object (&self->spawned);
  set_connection (self, MB_RELAY_CONNECTION_CONNECTED, NULL);
  schedule_sync (self);
  count_today (self);
}

static void
on_disconnected (MbRelayClient *self, const char *why)
{
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_cancellable_cancel (self->count_cancellable);
  self->counting = FALSE;
  clear_relay_properties (self);
  set_connection (self, MB_RELAY_CONNECTION_UNREACHABLE, why);
}

static void
on_proxy_name_owner_notify_cb (GObject    *object,
                               GParamSpec *pspec,
                               gpointer    user_data)
{
  MbRelayClient   *self = user_data;
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (object));

  if (owner != NULL)
    on_connected (self);
  else if (self->connection == MB_RELAY_CONNECTION_CONNECTED)
    on_disconnected (self, _ ("The relay has stopped. Mail from devices is "
                              "not accepted until it runs again."));
}

static gboolean
on_start_timeout_cb (gpointer user_data)
{
  MbRelayClient   *self = user_data;
  g_autofree char *why = NULL;

  self->start_timeout_id = 0;
  if (self->log_path != NULL)
    why = g_strdup_printf (_ ("The relay was started but did not answer "
                              "within %d seconds. Its log is in %s."),
                           START_TIMEOUT_S, self->log_path);
  else
    why = g_strdup_printf (_ ("The relay did not answer within %d seconds."),
                           START_TIMEOUT_S);
  on_disconnected (self, why);
  return G_SOURCE_REMOVE;
}

/* Holds no reference: the relay may run for the app's whole life, and
 * dispose cancels the wait. */
static void
spawned_exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbRelayClient *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error))
    return; /* cancelled: self may be gone */
  if (self->spawned != G_SUBPROCESS (source)
      || self->connection != MB_RELAY_CONNECTION_CONNECTING)
    return;

  why = g_strdup_printf (
      _ ("The relay stopped right after it was started. Its log in %s says "
         "why; check the configuration with “mailbridged --check-config”."),
      self->log_path);
  g_clear_object (&self->spawned);
  on_disconnected (self, why);
}

static void
spawn_relay (MbRelayClient *self)
{
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->log_path, g_free);
  g_clear_object (&self->spawned);
  self->spawned = mb_relay_launcher_spawn (&self->log_path, &error);
  if (self->spawned == NULL)
    {
      g_autofree char *why = g_strdup_printf (
          _ ("The relay could not be started (%s). Reinstall Mailbridge or "
             "start mailbridged by hand."),
          error->message);

      on_disconnected (self, why);
      return;
    }
  g_subprocess_wait_async (self->spawned, self->cancellable, spawned_exited_cb,
                           self);
}

static void
start_service_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayClient) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *why = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                         &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (self->connection != MB_RELAY_CONNECTION_CONNECTING)
    return;
  if (reply != NULL)
    return; /* the name owner appears through notify::g-name-owner */

  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN))
    {
      g_debug ("no D-Bus service for %s, starting the binary", RELAY_NAME);
      spawn_relay (self);
      return;
    }
  g_dbus_error_strip_remote_error (error);
  why = g_strdup_printf (_ ("The relay service could not be started: %s"),
                         error->message);
  on_disconnected (self, why);
}

static void
start_relay (MbRelayClient *self)
{
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  self->start_timeout_id
      = g_timeout_add_seconds (START_TIMEOUT_S, on_start_timeout_cb, self);
  g_dbus_connection_call (
      self->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
      "org.freedesktop.DBus", "StartServiceByName",
      g_variant_new ("(su)", RELAY_NAME, 0), G_VARIANT_TYPE ("(u)"),
      G_DBUS_CALL_FLAGS_NONE, (START_TIMEOUT_S + 5) * 1000, self->cancellable,
      start_service_cb, g_object_ref (self));
}

static void
check_owner (MbRelayClient *self)
{
  g_autofree char *owner
      = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->proxy));

  if (owner != NULL)
    on_connected (self);
  else
    start_relay (self);
}

static void
proxy_created_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayClient) self = user_data;
  g_autoptr (GError) error = NULL;
  MbClientRelay1 *proxy;

  proxy = mb_client_relay1_proxy_new_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (proxy == NULL)
    {
      on_disconnected (self, error->message);
      return;
    }
  self->proxy = proxy;
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 30 * 1000);
  g_signal_connect_object (proxy, "notify::g-name-owner",
                           G_CALLBACK (on_proxy_name_owner_notify_cb), self, 0);
  g_signal_connect_object (proxy, "g-properties-changed",
                           G_CALLBACK (on_proxy_properties_changed_cb), self,
                           0);
  g_signal_connect_object (proxy, "queue-changed",
                           G_CALLBACK (on_proxy_queue_changed_cb), self, 0);
  g_signal_connect_object (proxy, "log-record-added",
                           G_CALLBACK (on_proxy_log_record_added_cb), self, 0);
  g_signal_connect_object (proxy, "delivery-failed",
                           G_CALLBACK (on_proxy_delivery_failed_cb), self, 0);
  g_signal_connect_object (proxy, "route-state-changed",
                           G_CALLBACK (on_proxy_route_state_changed_cb), self,
                           0);
  check_owner (self);
}

static void
bus_got_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbRelayClient) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;

  self->bus = g_bus_get_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (self->bus == NULL)
    {
      why = g_strdup_printf (_ ("There is no session bus to reach the relay "
                                "on: %s"),
                             error->message);
      on_disconnected (self, why);
      return;
    }
  mb_client_relay1_proxy_new (self->bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                              RELAY_NAME, RELAY_PATH, self->cancellable,
                              proxy_created_cb, g_object_ref (self));
}

/* Overrides */

static void
mb_relay_client_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  MbRelayClient *self = MB_RELAY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_int (value, self->connection);
      break;
    case PROP_CONNECTION_ERROR:
      g_value_set_string (value, self->connection_error);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_PAUSED:
      g_value_set_boolean (value, self->paused);
      break;
    case PROP_ATTENTION_REASONS:
      g_value_set_boxed (value, self->attention_reasons);
      break;
    case PROP_QUEUE_LENGTH:
      g_value_set_uint (value, self->queue_length);
      break;
    case PROP_DEFERRED_COUNT:
      g_value_set_uint (value, self->deferred_count);
      break;
    case PROP_OLDEST_RECEIVED:
      g_value_set_int64 (value, self->oldest_received);
      break;
    case PROP_LISTEN_ADDRESSES:
      g_value_set_boxed (value, self->listen_addresses);
      break;
    case PROP_ROUTES:
      g_value_set_boxed (value, self->routes);
      break;
    case PROP_VERSION:
      g_value_set_string (value, self->version);
      break;
    case PROP_CONFIG_PATH:
      g_value_set_string (value, self->config_path);
      break;
    case PROP_DELIVERED_TODAY:
      g_value_set_uint (value, self->delivered_today);
      break;
    case PROP_FAILED_TODAY:
      g_value_set_uint (value, self->failed_today);
      break;
    case PROP_ADMIN_ADDRESS:
      g_value_set_string (value, self->admin_address);
      break;
    case PROP_DEFAULT_SENDER:
      g_value_set_string (value, self->default_sender);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mb_relay_client_dispose (GObject *object)
{
  MbRelayClient *self = MB_RELAY_CLIENT (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->count_cancellable);
  g_clear_handle_id (&self->sync_idle_id, g_source_remove);
  g_clear_handle_id (&self->queue_idle_id, g_source_remove);
  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_clear_handle_id (&self->midnight_id, g_source_remove);
  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_clear_object (&self->proxy);
  g_clear_object (&self->spawned);
  g_clear_object (&self->bus);
  G_OBJECT_CLASS (mb_relay_client_parent_class)->dispose (object);
}

static void
mb_relay_client_finalize (GObject *object)
{
  MbRelayClient *self = MB_RELAY_CLIENT (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->count_cancellable);
  g_free (self->connection_error);
  g_strfreev (self->attention_reasons);
  g_strfreev (self->listen_addresses);
  g_ptr_array_unref (self->routes);
  g_free (self->version);
  g_free (self->config_path);
  g_free (self->admin_address);
  g_free (self->default_sender);
  g_free (self->log_path);
  g_hash_table_unref (self->pending_changed);
  g_hash_table_unref (self->pending_removed);
  g_array_unref (self->counted_aside);
  G_OBJECT_CLASS (mb_relay_client_parent_class)->finalize (object);
}

static GParamSpec *
uint_param (const char *name)
{
  return g_param_spec_uint (name, NULL, NULL, 0, G_MAXUINT, 0,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
string_param (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, NULL,
                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                  | G_PARAM_EXPLICIT_NOTIFY);
}

static GParamSpec *
boxed_param (const char *name, GType type)
{
  return g_param_spec_boxed (name, NULL, NULL, type,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                 | G_PARAM_EXPLICIT_NOTIFY);
}

static void
mb_relay_client_class_init (MbRelayClientClass *klass)
{
  GObjectClass     *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags
      = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = mb_relay_client_get_property;
  object_class->dispose = mb_relay_client_dispose;
  object_class->finalize = mb_relay_client_finalize;

  props[PROP_CONNECTION] = g_param_spec_int (
      "connection", NULL, NULL, MB_RELAY_CONNECTION_CONNECTING,
      MB_RELAY_CONNECTION_UNREACHABLE, MB_RELAY_CONNECTION_CONNECTING, flags);
  props[PROP_CONNECTION_ERROR] = string_param ("connection-error");
  props[PROP_STATE] = g_param_spec_int (
      "state", NULL, NULL, MB_RELAY_STATE_UNKNOWN,
      MB_RELAY_STATE_NEEDS_ATTENTION, MB_RELAY_STATE_UNKNOWN, flags);
  props[PROP_PAUSED]
      = g_param_spec_boolean ("paused", NULL, NULL, FALSE, flags);
  props[PROP_ATTENTION_REASONS]
      = boxed_param ("attention-reasons", G_TYPE_STRV);
  props[PROP_QUEUE_LENGTH] = uint_param ("queue-length");
  props[PROP_DEFERRED_COUNT] = uint_param ("deferred-count");
  props[PROP_OLDEST_RECEIVED] = g_param_spec_int64 (
      "oldest-received", NULL, NULL, 0, G_MAXINT64, 0, flags);
  props[PROP_LISTEN_ADDRESSES] = boxed_param ("listen-addresses", G_TYPE_STRV);
  props[PROP_ROUTES] = boxed_param ("routes", G_TYPE_PTR_ARRAY);
  props[PROP_VERSION] = string_param ("version");
  props[PROP_CONFIG_PATH] = string_param ("config-path");
  props[PROP_DELIVERED_TODAY] = uint_param ("delivered-today");
  props[PROP_FAILED_TODAY] = uint_param ("failed-today");
  props[PROP_ADMIN_ADDRESS] = string_param ("admin-address");
  props[PROP_DEFAULT_SENDER] = string_param ("default-sender");
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_QUEUE_CHANGED] = g_signal_new (
      "queue-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRV, G_TYPE_STRV);
  signals[SIGNAL_LOG_RECORD_ADDED] = g_signal_new (
      "log-record-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_VARIANT);
  signals[SIGNAL_DELIVERY_FAILED] = g_signal_new (
      "delivery-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 7, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING,
      G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_ROUTE_STATE_CHANGED] = g_signal_new (
      "route-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
      NULL, NULL, NULL, G_TYPE_NONE, 4, G_TYPE_STRING, G_TYPE_STRING,
      G_TYPE_STRING, G_TYPE_STRING);
}

static void
mb_relay_client_init (MbRelayClient *self)
{
  self->cancellable = g_cancellable_new ();
  self->count_cancellable = g_cancellable_new ();
  self->connection = MB_RELAY_CONNECTION_CONNECTING;
  self->attention_reasons = g_new0 (char *, 1);
  self->listen_addresses = g_new0 (char *, 1);
  self->routes
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_route_status_free);
  self->pending_changed
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pending_removed
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->counted_aside = g_array_new (FALSE, FALSE, sizeof (CountedRecord));
}

/* Public API */

MbRelayClient *
mb_relay_client_new (void)
{
  return g_object_new (MB_TYPE_RELAY_CLIENT, NULL);
}

void
mb_relay_client_connect (MbRelayClient *self)
{
  g_return_if_fail (MB_IS_RELAY_CLIENT (self));

  if (self->connection == MB_RELAY_CONNECTION_CONNECTED
      || (self->connection == MB_RELAY_CONNECTION_CONNECTING && self->started))
    return;
  self->started = TRUE;
  set_connection (self, MB_RELAY_CONNECTION_CONNECTING, NULL);
  if (self->proxy != NULL)
    check_owner (self);
  else if (self->bus != NULL)
    mb_client_relay1_proxy_new (self->bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                RELAY_NAME, RELAY_PATH, self->cancellable,
                                proxy_created_cb, g_object_ref (self));
  else
    g_bus_get (G_BUS_TYPE_SESSION, self->cancellable, bus_got_cb,
               g_object_ref (self));
}

MbRelayConnection
mb_relay_client_get_connection (MbRelayClient *self)
{
  return self->connection;
}

const char *
mb_relay_client_get_connection_error (MbRelayClient *self)
{
  return self->connection_error;
}

MbRelayState
mb_relay_client_get_state (MbRelayClient *self)
{
  return self->state;
}

gboolean
mb_relay_client_get_paused (MbRelayClient *self)
{
  return self->paused;
}

const char *const *
mb_relay_client_get_attention_reasons (MbRelayClient *self)
{
  return (const char *const *)self->attention_reasons;
}

guint
mb_relay_client_get_queue_length (MbRelayClient *self)
{
  return self->queue_length;
}

guint
mb_relay_client_get_deferred_count (MbRelayClient *self)
{
  return self->deferred_count;
}

gint64
mb_relay_client_get_oldest_received (MbRelayClient *self)
{
  return self->oldest_received;
}

const char *const *
mb_relay_client_get_listen_addresses (MbRelayClient *self)
{
  return (const char *const *)self->listen_addresses;
}

GPtrArray *
mb_relay_client_get_routes (MbRelayClient *self)
{
  return self->routes;
}

const MbRouteStatus *
mb_relay_client_get_default_route (MbRelayClient *self)
{
  for (guint i = 0; i < self->routes->len; i++)
    {
      const MbRouteStatus *route = g_ptr_array_index (self->routes, i);

      if (route->is_default)
        return route;
    }
  return self->routes->len > 0 ? g_ptr_array_index (self->routes, 0) : NULL;
}

const char *
mb_relay_client_get_version (MbRelayClient *self)
{
  return self->version;
}

const char *
mb_relay_client_get_config_path (MbRelayClient *self)
{
  return self->config_path;
}

char *
mb_relay_client_dup_config_file (MbRelayClient *self)
{
  if (self->config_path != NULL && *self->config_path != '\0')
    return g_strdup (self->config_path);
  return mb_relay_config_dup_user_path ();
}

guint
mb_relay_client_get_delivered_today (MbRelayClient *self)
{
  return self->delivered_today;
}

guint
mb_relay_client_get_failed_today (MbRelayClient *self)
{
  return self->failed_today;
}

const char *
mb_relay_client_get_admin_address (MbRelayClient *self)
{
  return self->admin_address;
}

const char *
mb_relay_client_get_default_sender (MbRelayClient *self)
{
  return self->default_sender;
}
