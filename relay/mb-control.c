/* mb-control.c - the relay's D-Bus control object (org.mailbridge.Relay1)
 *
 * What it does
 *   Exports the interface of data/org.mailbridge.Relay1.xml (code generated
 *   by gdbus-codegen) on /org/mailbridge/Relay1 and owns the well-known
 *   name.  This file holds the lifecycle, the status properties, pause and
 *   resume, configuration check and reload, and the routes' sign-in
 *   (ReloadCredentials after `mailbridgectl signin`, and each route's
 *   sign-in problem and expiring secret in Routes and AttentionReasons);
 *   the queue, the log and test messages live in
 *   mb-control-{queue,log,test-send}.c, and the calls into the scheduler
 *   in mb-control-backend.c.
 *
 * Guarantees
 *   - The name is requested only after the object is exported and the
 *     queue's figures are read, so the first client sees a complete
 *     status; start completes once the name is ours (systemd Type=dbus
 *     readiness).  With DO_NOT_QUEUE a second relay fails at once instead
 *     of waiting in line.
 *   - Nothing blocks the main loop: files are read in worker threads,
 *     configuration files included.
 *   - Every failure reaches the caller as a registered D-Bus error
 *     (org.mailbridge.Relay1.Error.*), mapped from its domain by
 *     mb_control_error_from(), never flattened to one code.
 *   - Reload either puts the whole new configuration in force or nothing:
 *     a configuration that does not validate is refused with the reason
 *     (group, key, line) and the old one stays.  Open sessions keep theirs,
 *     the queue is not touched (mb_daemon_reload()).
 *
 * What it does not do
 *   No authorisation: on the session bus the bus itself admits only the
 *   user.  System mode will ask polkit (not yet).  No sign-in flow: the
 *   relay never talks to the admin's browser or terminal (mailbridgectl
 *   and the application run the flows and store the result).
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control-private.h"

#include "mb-build-config.h"
#include "mb-relay-config.h"
#if MB_HAVE_SCHEDULER
#include "mb-scheduler.h"
#endif
#include "mb-smtp-server.h"
#include "mb-spool.h"

typedef struct
{
  GObject *instance; /* (owned) */
  gulong   handler_id;
} SignalSource;

G_DEFINE_TYPE (MbControl, mb_control, G_TYPE_OBJECT)

void
control_return_error (GDBusMethodInvocation *invocation, GError *error)
{
  g_autoptr (GError) owned = error;
  g_autoptr (GError) mapped = mb_control_error_from (owned);

  g_dbus_method_invocation_return_gerror (invocation, mapped);
}

void
control_connect (MbControl  *self,
                 gpointer    instance,
                 const char *signal,
                 GCallback   handler)
{
  SignalSource *source = g_new0 (SignalSource, 1);

  source->instance = g_object_ref (instance);
  source->handler_id
      = g_signal_connect_swapped (instance, signal, handler, self);
  g_ptr_array_add (self->signal_sources, source);
}

static void
signal_source_free (SignalSource *source)
{
  g_clear_signal_handler (&source->handler_id, source->instance);
  g_clear_object (&source->instance);
  g_free (source);
}

/* Status */

static GStrv
format_listen_addresses (MbControl *self)
{
  MbSmtpServer *server = mb_daemon_get_server (self->daemon);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GPtrArray) addresses = NULL;

  if (server == NULL)
    return g_strv_builder_end (builder);
  addresses = mb_smtp_server_get_bound_addresses (server);
  for (guint i = 0; i < addresses->len; i++)
    {
      GInetSocketAddress *address = g_ptr_array_index (addresses, i);
      GInetAddress       *ip = g_inet_socket_address_get_address (address);
      g_autofree char    *text = g_inet_address_to_string (ip);
      guint16             port = g_inet_socket_address_get_port (address);

      g_autofree char *formatted
          = g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6
                ? g_strdup_printf ("[%s]:%u", text, port)
                : g_strdup_printf ("%s:%u", text, port);

      g_strv_builder_add (builder, formatted);
    }
  return g_strv_builder_end (builder);
}

#if MB_HAVE_SCHEDULER
/* The sign-in side of a route's health, which MbRoute does not hold: why
 * it needs sign-in, and a secret about to expire. */
static void
add_signin_attention (MbControl *self, GPtrArray *reasons)
{
  MbScheduler *scheduler = mb_daemon_get_scheduler (self->daemon);
  g_autoptr (GPtrArray) routes = NULL;

  if (scheduler == NULL)
    return;
  routes = mb_scheduler_get_routes (scheduler);
  for (guint i = 0; i < routes->len; i++)
    {
      const char *name = mb_route_get_name (routes->pdata[i]);
      const char *problem = mb_scheduler_get_signin_problem (scheduler, name);
      const char *expiry = mb_scheduler_get_expiry_warning (scheduler, name);
      g_autofree char *plain = g_strdup_printf ("route %s needs sign-in", name);

      for (guint j = 0; problem != NULL && j < reasons->len; j++)
        if (g_strcmp0 (reasons->pdata[j], plain) == 0)
          {
            g_free (reasons->pdata[j]);
            reasons->pdata[j] = g_strdup_printf ("%s: %s", plain, problem);
          }
      if (expiry != NULL)
        g_ptr_array_add (reasons,
                         g_strdup_printf ("route %s: %s", name, expiry));
    }
}

/* Routes with the sign-in problem as the reason of a route that needs
 * sign-in, "attention", and "secret_expires" for an application to offer
 * the renewal of a client secret without reading the attention text. */
static GVariant *
add_signin_to_routes (MbControl *self, GVariant *routes)
{
  MbScheduler *scheduler = mb_daemon_get_scheduler (self->daemon);
  g_autoptr (GVariant) owned = g_variant_ref_sink (routes);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (gsize i = 0; i < g_variant_n_children (owned); i++)
    {
      g_autoptr (GVariant) route = g_variant_get_child_value (owned, i);
      GVariantDict dict;
      const char  *name = NULL;
      const char  *state = NULL;
      const char  *reason = NULL;
      const char  *problem = NULL;
      const char  *expiry = NULL;
      gint64       secret_expires = 0;

      g_variant_dict_init (&dict, route);
      g_variant_dict_lookup (&dict, "name", "&s", &name);
      g_variant_dict_lookup (&dict, "state", "&s", &state);
      g_variant_dict_lookup (&dict, "reason", "&s", &reason);
      if (scheduler != NULL && name != NULL)
        {
          problem = mb_scheduler_get_signin_problem (scheduler, name);
          expiry = mb_scheduler_get_expiry_warning (scheduler, name);
          secret_expires = mb_scheduler_get_secret_expiry (scheduler, name);
        }
      if (problem != NULL && g_strcmp0 (state, "needs-signin") == 0
          && (reason == NULL || *reason == '\0'))
        g_variant_dict_insert (&dict, "reason", "s", problem);
      g_variant_dict_insert (&dict, "attention", "s",
                             expiry != NULL ? expiry : "");
      g_variant_dict_insert (&dict, "secret_expires", "x", secret_expires);
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }
  return g_variant_builder_end (&builder);
}
#endif

void
control_update_status (MbControl *self)
{
  MbRelayConfig *config = mb_daemon_get_config (self->daemon);
  g_autoptr (GPtrArray) reasons = control_backend_attention_reasons (self);
  GVariant *routes = control_backend_routes (self);
  g_auto (GStrv) listen = format_listen_addresses (self);
  gboolean    paused = control_backend_is_paused (self);
  const char *state;

#if MB_HAVE_SCHEDULER
  add_signin_attention (self, reasons);
  routes = add_signin_to_routes (self, routes);
#endif
  if (paused)
    state = "paused";
  else if (reasons->len > 0)
    state = "needs-attention";
  else
    state = "running";

  g_ptr_array_add (reasons, NULL);
  mb_relay1_set_version (self->skeleton, MB_VERSION);
  mb_relay1_set_paused (self->skeleton, paused);
  mb_relay1_set_attention_reasons (self->skeleton,
                                   (const char *const *)reasons->pdata);
  mb_relay1_set_state (self->skeleton, state);
  mb_relay1_set_routes (self->skeleton, routes);
  mb_relay1_set_listen_addresses (self->skeleton, (const char *const *)listen);
  mb_relay1_set_config_path (self->skeleton,
                             config->path != NULL ? config->path : "");
}

/* Pause, Resume */

static gboolean
on_handle_pause_cb (MbControl *self, GDBusMethodInvocation *invocation)
{
  control_backend_pause (self);
  control_update_status (self);
  g_info ("delivery paused by the admin");
  mb_relay1_complete_pause (self->skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_resume_cb (MbControl *self, GDBusMethodInvocation *invocation)
{
  control_backend_resume (self);
  control_update_status (self);
  g_info ("delivery resumed by the admin");
  mb_relay1_complete_resume (self->skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* CheckConfig, Reload: the file is read in a thread. */

static char *
resolve_config_path (MbControl *self)
{
  const char *source = mb_daemon_get_config_source (self->daemon);

  if (source != NULL)
    return g_strdup (source);
  return mb_relay_config_dup_user_path ();
}

static void
load_config_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  const char    *path = task_data;
  GError        *error = NULL;
  MbRelayConfig *config;

  /* The user's file may not exist: then the defaults are in force, as at
   * startup (mb_daemon_load_config()). */
  if (!g_file_test (path, G_FILE_TEST_EXISTS)
      && g_strcmp0 (path, mb_daemon_get_config_source (
                              MB_CONTROL (source_object)->daemon))
             != 0)
    config = mb_relay_config_new_default ();
  else
    config = mb_relay_config_load_file (path, &error);

  if (config == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, config, (GDestroyNotify)mb_relay_config_unref);
}

static void
load_config_async (MbControl          *self,
                   const char         *path,
                   GAsyncReadyCallback callback,
                   gpointer            user_data)
{
  g_autoptr (GTask) task
      = g_task_new (self, self->cancellable, callback, user_data);

  g_task_set_source_tag (task, load_config_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, load_config_thread);
}

static MbRelayConfig *
load_config_finish (MbControl *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
check_config_loaded_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;
  GTask *task = G_TASK (result);

  config = load_config_finish (MB_CONTROL (source), result, &error);
  if (config == NULL)
    {
      control_return_error (g_steal_pointer (&invocation),
                            g_steal_pointer (&error));
      return;
    }
  mb_relay1_complete_check_config (MB_CONTROL (source)->skeleton,
                                   g_steal_pointer (&invocation),
                                   g_task_get_task_data (task));
}

static gboolean
on_handle_check_config_cb (MbControl             *self,
                           GDBusMethodInvocation *invocation,
                           const char            *path)
{
  g_autofree char *resolved = NULL;

  if (*path != '\0' && !g_path_is_absolute (path))
    {
      g_dbus_method_invocation_return_error (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_INVALID_ARGUMENT,
          "The path “%s” is not absolute", path);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  resolved = *path != '\0' ? g_strdup (path) : resolve_config_path (self);
  load_config_async (self, resolved, check_config_loaded_cb,
                     g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
reload_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  MbControl *self = MB_CONTROL (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbRelayConfig) config = NULL;

  config = load_config_finish (self, result, &error);
  if (config == NULL || !mb_daemon_reload (self->daemon, config, &error))
    {
      g_message ("reload refused, the previous configuration stays in "
                 "force: %s",
                 error->message);
      control_return_error (g_steal_pointer (&invocation),
                            g_steal_pointer (&error));
      return;
    }
  mb_relay1_complete_reload (self->skeleton, g_steal_pointer (&invocation));
}

static gboolean
on_handle_reload_cb (MbControl *self, GDBusMethodInvocation *invocation)
{
  g_autofree char *path = resolve_config_path (self);

  load_config_async (self, path, reload_loaded_cb, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ReloadCredentials */

#if MB_HAVE_SCHEDULER
typedef struct
{
  MbControl             *self;       /* (owned) */
  GDBusMethodInvocation *invocation; /* (owned) */
  char                  *route;      /* (owned) (nullable) */
} ReloadCall;

static void
reload_call_free (ReloadCall *call)
{
  g_clear_object (&call->self);
  g_clear_object (&call->invocation);
  g_free (call->route);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReloadCall, reload_call_free)

static void
credentials_reloaded_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr (ReloadCall) call = user_data;
  MbControl   *self = call->self;
  MbScheduler *scheduler = mb_daemon_get_scheduler (self->daemon);
  g_autoptr (GError) error = NULL;
  MbRoute    *route;
  const char *reason = NULL;

  if (!mb_daemon_reload_credentials_finish (MB_DAEMON (source), result, &error))
    {
      if (g_error_matches (error, MB_SCHEDULER_ERROR,
                           MB_SCHEDULER_ERROR_NOT_FOUND))
        g_dbus_method_invocation_return_error_literal (
            g_steal_pointer (&call->invocation), MB_CONTROL_ERROR,
            MB_CONTROL_ERROR_NOT_FOUND, error->message);
      else
        control_return_error (g_steal_pointer (&call->invocation),
                              g_steal_pointer (&error));
      return;
    }
  control_update_status (self);
  route = call->route != NULL && scheduler != NULL
              ? mb_scheduler_lookup_route (scheduler, call->route)
              : NULL;
  if (route == NULL)
    {
      mb_relay1_complete_reload_credentials (
          self->skeleton, g_steal_pointer (&call->invocation),
          mb_relay1_get_state (self->skeleton), "");
      return;
    }
  reason = mb_route_get_pause_reason (route);
  if (reason == NULL)
    reason = mb_scheduler_get_signin_problem (scheduler, call->route);
  g_info ("route=%s credentials reloaded state=%s", call->route,
          mb_route_state_to_string (mb_route_get_state (route)));
  mb_relay1_complete_reload_credentials (
      self->skeleton, g_steal_pointer (&call->invocation),
      mb_route_state_to_string (mb_route_get_state (route)),
      reason != NULL ? reason : "");
}
#endif

static gboolean
on_handle_reload_credentials_cb (MbControl             *self,
                                 GDBusMethodInvocation *invocation,
                                 const char            *route)
{
#if MB_HAVE_SCHEDULER
  MbScheduler *scheduler = mb_daemon_get_scheduler (self->daemon);
  ReloadCall  *call;

  if (scheduler == NULL)
    {
      g_dbus_method_invocation_return_error_literal (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_SUPPORTED,
          "Delivery is not running");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (*route != '\0' && mb_scheduler_lookup_route (scheduler, route) == NULL)
    {
      g_dbus_method_invocation_return_error (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_FOUND,
          "No route “%s” is configured", route);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  call = g_new0 (ReloadCall, 1);
  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->route = *route != '\0' ? g_strdup (route) : NULL;
  mb_daemon_reload_credentials_async (self->daemon, call->route,
                                      credentials_reloaded_cb, call);
#else
  g_dbus_method_invocation_return_error_literal (
      invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_SUPPORTED,
      "This relay is built without delivery");
#endif
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Start: bus -> export -> figures -> name */

static void
on_name_acquired_cb (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  MbControl *self = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

  g_info ("bus-name=%s acquired", name);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
on_name_lost_cb (GDBusConnection *connection,
                 const char      *name,
                 gpointer         user_data)
{
  MbControl *self = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

  if (task != NULL)
    {
      g_task_return_new_error (
          task, G_IO_ERROR, G_IO_ERROR_EXISTS,
          connection == NULL
              ? "The D-Bus connection closed before %s was acquired"
              : "Another process owns the D-Bus name %s: is mailbridged "
                "already running?",
          name);
      return;
    }
  g_warning ("bus-name=%s lost: mailbridgectl and the application can no "
             "longer reach the relay",
             name);
}

static void
figures_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MbControl *self = MB_CONTROL (source);
  g_autoptr (GError) error = NULL;

  if (!control_queue_refresh_finish (self, result, &error))
    {
      g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

      if (task != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->start_task == NULL)
    return;
  self->owner_id = g_bus_own_name_on_connection (
      self->connection, MB_CONTROL_BUS_NAME,
      G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, on_name_acquired_cb, on_name_lost_cb,
      self, NULL);
}

static void
bus_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (MbControl) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) connection = g_bus_get_finish (result, &error);

  if (self->start_task == NULL)
    return; /* stopped meanwhile */
  if (connection == NULL
      || !g_dbus_interface_skeleton_export (
          G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
          MB_CONTROL_OBJECT_PATH, &error))
    {
      g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

      g_prefix_error (&error, "D-Bus: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->connection = g_steal_pointer (&connection);

  control_backend_setup (self);
  control_queue_setup (self);
  control_message_setup (self);
  control_log_setup (self);
  control_test_send_setup (self);
  control_update_status (self);
  control_queue_refresh_async (self, figures_ready_cb, NULL);
}

/* GObject */

static void
mb_control_dispose (GObject *object)
{
  MbControl *self = MB_CONTROL (object);

  mb_control_stop (self);
  g_clear_pointer (&self->signal_sources, g_ptr_array_unref);
  g_clear_pointer (&self->watched_routes, g_ptr_array_unref);
  g_clear_pointer (&self->outcome_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->figures_waiters, g_ptr_array_unref);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (mb_control_parent_class)->dispose (object);
}

static void
mb_control_finalize (GObject *object)
{
  MbControl *self = MB_CONTROL (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->queue_entries, g_hash_table_unref);
  g_clear_pointer (&self->dirty_ids, g_hash_table_unref);
  g_clear_pointer (&self->changed_ids, g_hash_table_unref);
  g_clear_pointer (&self->removed_ids, g_hash_table_unref);

  G_OBJECT_CLASS (mb_control_parent_class)->finalize (object);
}

static void
mb_control_class_init (MbControlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_control_dispose;
  object_class->finalize = mb_control_finalize;
}

static void
mb_control_init (MbControl *self)
{
  self->skeleton = mb_relay1_skeleton_new ();
  self->cancellable = g_cancellable_new ();
  self->signal_sources
      = g_ptr_array_new_with_free_func ((GDestroyNotify)signal_source_free);
  self->watched_routes = g_ptr_array_new_with_free_func (g_object_unref);
  self->queue_entries
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->dirty_ids
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->changed_ids
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->removed_ids
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->figures_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->outcome_waiters = g_ptr_array_new_with_free_func (
      (GDestroyNotify)control_outcome_waiter_free);

  g_signal_connect_swapped (self->skeleton, "handle-pause",
                            G_CALLBACK (on_handle_pause_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-resume",
                            G_CALLBACK (on_handle_resume_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-check-config",
                            G_CALLBACK (on_handle_check_config_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-reload",
                            G_CALLBACK (on_handle_reload_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-reload-credentials",
                            G_CALLBACK (on_handle_reload_credentials_cb), self);
}

/* Public API */

MbControl *
mb_control_new (MbDaemon *daemon)
{
  MbControl *self = g_object_new (MB_TYPE_CONTROL, NULL);

  self->daemon = daemon;
  return self;
}

void
mb_control_start_async (MbControl          *self,
                        GBusType            bus_type,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_CONTROL (self));
  g_return_if_fail (bus_type == G_BUS_TYPE_SESSION
                    || bus_type == G_BUS_TYPE_SYSTEM);
  g_return_if_fail (self->start_task == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_control_start_async);
  self->start_task = g_steal_pointer (&task);
  g_bus_get (bus_type, self->cancellable, bus_ready_cb, g_object_ref (self));
}

gboolean
mb_control_start_finish (MbControl *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_control_stop (MbControl *self)
{
  g_return_if_fail (MB_IS_CONTROL (self));

  g_cancellable_cancel (self->cancellable);
  if (self->start_task != NULL)
    {
      g_autoptr (GTask) task = g_steal_pointer (&self->start_task);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The relay is stopping");
    }
  if (self->owner_id != 0)
    {
      g_bus_unown_name (self->owner_id);
      self->owner_id = 0;
    }
  g_clear_handle_id (&self->queue_timeout_id, g_source_remove);
  if (self->signal_sources != NULL)
    g_ptr_array_set_size (self->signal_sources, 0);
  if (self->outcome_waiters != NULL)
    g_ptr_array_set_size (self->outcome_waiters, 0);
  if (self->skeleton != NULL && self->connection != NULL
      && g_dbus_interface_skeleton_has_connection (
          G_DBUS_INTERFACE_SKELETON (self->skeleton), self->connection))
    g_dbus_interface_skeleton_unexport (
        G_DBUS_INTERFACE_SKELETON (self->skeleton));
}

void
mb_control_config_changed (MbControl *self)
{
  g_return_if_fail (MB_IS_CONTROL (self));

  if (self->connection == NULL)
    return;
  control_backend_setup (self);
  control_update_status (self);
}
