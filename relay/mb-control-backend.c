/* mb-control-backend.c - the control object's calls into the scheduler
 *
 * What it does
 *   Everything the control object asks of the delivery engine: pause and
 *   resume, retry, delete, the routes' health, the queue's figures and the
 *   reasons the relay needs the admin.  With the scheduler built in
 *   (MB_HAVE_SCHEDULER) they ask it; without, they fall back to what the
 *   spool and the configuration alone can tell, and refuse what only the
 *   scheduler can do (NotSupported).
 *
 * Guarantees
 *   - Delete never removes a message the scheduler is working on (Busy),
 *     and logs each pending recipient as "deleted" before the removal.
 *   - Route state changes become RouteStateChanged signals and a new
 *     Routes/State property value.
 *
 * What it does not do
 *   It keeps no delivery state of its own, apart from the pause flag
 *   while there is no scheduler.
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control-private.h"

#include "mb-build-config.h"
#include "mb-route.h"
#include "mb-spool.h"
#if MB_HAVE_SCHEDULER
#include "mb-scheduler.h"
#endif

static GVariant *
route_to_variant (const char *name,
                  const char *method,
                  const char *state,
                  const char *reason,
                  const char *last_reply,
                  const char *hint,
                  const char *hint_text,
                  gboolean    is_default)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "name", "s", name);
  g_variant_dict_insert (&dict, "method", "s", method);
  g_variant_dict_insert (&dict, "state", "s", state);
  g_variant_dict_insert (&dict, "reason", "s", reason != NULL ? reason : "");
  g_variant_dict_insert (&dict, "last_reply", "s",
                         last_reply != NULL ? last_reply : "");
  g_variant_dict_insert (&dict, "hint", "s", hint != NULL ? hint : "");
  g_variant_dict_insert (&dict, "hint_text", "s",
                         hint_text != NULL ? hint_text : "");
  g_variant_dict_insert (&dict, "default", "b", is_default);
  return g_variant_dict_end (&dict);
}

/* Deleting: log each pending recipient, then remove from the spool. */

static void
log_deleted (MbControl *self, const MbEnvelope *envelope)
{
  MbDeliveryLog *log = mb_daemon_get_delivery_log (self->daemon);

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *r = g_ptr_array_index (envelope->recipients, i);
      g_autoptr (MbDeliveryRecord) record = NULL;

      if (r->state != MB_RECIPIENT_STATE_QUEUED
          && r->state != MB_RECIPIENT_STATE_DEFERRED)
        continue;
      g_info ("queue-id=%s recipient=%s status=deleted deleted by the admin",
              envelope->id, r->address);
      if (log == NULL)
        continue;
      record = mb_delivery_record_new ();
      record->queue_id = g_strdup (envelope->id);
      record->message_id = g_strdup (envelope->message_id);
      record->sender = g_strdup (envelope->sender);
      record->recipient = g_strdup (r->address);
      record->route = g_strdup (envelope->route);
      record->status = MB_DELIVERY_STATUS_DELETED;
      record->reply = g_strdup ("deleted from the queue by the admin");
      mb_delivery_log_append (log, record);
    }
}

static void
removed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!mb_spool_remove_finish (MB_SPOOL (source), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
load_envelope_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  MbControl  *self = source_object;
  GError     *error = NULL;
  MbEnvelope *envelope = mb_spool_load_envelope (
      mb_daemon_get_spool (self->daemon), task_data, &error);

  if (envelope == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, envelope, (GDestroyNotify)mb_envelope_free);
}

static void
envelope_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  MbControl *self = MB_CONTROL (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope
      = g_task_propagate_pointer (G_TASK (result), &error);

  if (envelope == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  log_deleted (self, envelope);
  mb_spool_remove_async (mb_daemon_get_spool (self->daemon), envelope->id,
                         self->cancellable, removed_cb,
                         g_steal_pointer (&task));
}

/* Takes @task: reads the envelope in a thread, then deletes. */
static void
delete_from_spool (MbControl *self, GTask *task, const char *id)
{
  g_autoptr (GTask) load
      = g_task_new (self, self->cancellable, envelope_loaded_cb, task);

  g_task_set_task_data (load, g_strdup (id), g_free);
  g_task_run_in_thread (load, load_envelope_thread);
}

#if MB_HAVE_SCHEDULER

static MbScheduler *
get_scheduler (MbControl *self)
{
  return mb_daemon_get_scheduler (self->daemon);
}

static void
on_route_state_changed_cb (MbControl *self, MbRoute *route)
{
  const MbReplyHint *hint = mb_route_get_hint (route);

  mb_relay1_emit_route_state_changed (
      self->skeleton, mb_route_get_name (route),
      mb_route_state_to_string (mb_route_get_state (route)),
      mb_route_get_pause_reason (route) != NULL
          ? mb_route_get_pause_reason (route)
          : "",
      mb_route_get_last_reply (route) != NULL ? mb_route_get_last_reply (route)
                                              : "",
      hint != NULL ? hint->keyword : "");
  control_update_status (self);
}

static void
on_scheduler_queue_changed_cb (MbControl *self)
{
  control_queue_figures_changed (self);
  control_update_status (self);
}

void
control_backend_setup (MbControl *self)
{
  MbScheduler *scheduler = get_scheduler (self);

  if (scheduler == NULL
      || g_object_get_data (G_OBJECT (self), "mb-scheduler-connected"))
    return;
  g_object_set_data (G_OBJECT (self), "mb-scheduler-connected",
                     GINT_TO_POINTER (TRUE));
  control_connect (self, scheduler, "route-state-changed",
                   G_CALLBACK (on_route_state_changed_cb));
  control_connect (self, scheduler, "queue-changed",
                   G_CALLBACK (on_scheduler_queue_changed_cb));
}

gboolean
control_backend_is_paused (MbControl *self)
{
  MbScheduler *scheduler = get_scheduler (self);

  return scheduler != NULL ? mb_scheduler_get_paused (scheduler) : self->paused;
}

void
control_backend_pause (MbControl *self)
{
  MbScheduler *scheduler = get_scheduler (self);

  self->paused = TRUE;
  if (scheduler != NULL)
    mb_scheduler_set_paused (scheduler, TRUE);
}

void
control_backend_resume (MbControl *self)
{
  MbScheduler *scheduler = get_scheduler (self);
  g_autoptr (GPtrArray) routes = NULL;

  self->paused = FALSE;
  if (scheduler == NULL)
    return;
  /* The admin's resume also releases routes held after repeated
   * failures: they read the hint and fixed the cause. */
  routes = mb_scheduler_get_routes (scheduler);
  for (guint i = 0; i < routes->len; i++)
    {
      MbRoute *route = g_ptr_array_index (routes, i);

      if (mb_route_get_state (route) == MB_ROUTE_STATE_PAUSED)
        mb_route_resume (route);
    }
  mb_scheduler_set_paused (scheduler, FALSE);
}

GPtrArray *
control_backend_attention_reasons (MbControl *self)
{
  MbScheduler *scheduler = get_scheduler (self);
  GPtrArray   *reasons = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) routes = NULL;

  if (scheduler == NULL)
    return reasons;
  if (mb_scheduler_get_state (scheduler) == MB_SCHEDULER_STATE_NO_ROUTE)
    g_ptr_array_add (reasons,
                     g_strdup ("no route is configured: messages wait in "
                               "the queue"));
  routes = mb_scheduler_get_routes (scheduler);
  for (guint i = 0; i < routes->len; i++)
    {
      MbRoute    *route = g_ptr_array_index (routes, i);
      const char *reason = mb_route_get_pause_reason (route);

      switch (mb_route_get_state (route))
        {
        case MB_ROUTE_STATE_PAUSED:
          g_ptr_array_add (reasons,
                           g_strdup_printf ("route %s is paused: %s",
                                            mb_route_get_name (route),
                                            reason != NULL ? reason : "held"));
          break;
        case MB_ROUTE_STATE_NEEDS_SIGNIN:
          g_ptr_array_add (reasons,
                           g_strdup_printf ("route %s needs sign-in",
                                            mb_route_get_name (route)));
          break;
        case MB_ROUTE_STATE_READY:
        case MB_ROUTE_STATE_FAILING:
          break;
        }
    }
  return reasons;
}

GVariant *
control_backend_routes (MbControl *self)
{
  MbScheduler   *scheduler = get_scheduler (self);
  MbRelayConfig *config = mb_daemon_get_config (self->daemon);
  g_autoptr (GPtrArray) routes = NULL;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  if (scheduler == NULL)
    return g_variant_builder_end (&builder);
  routes = mb_scheduler_get_routes (scheduler);
  for (guint i = 0; i < routes->len; i++)
    {
      MbRoute           *route = g_ptr_array_index (routes, i);
      const MbReplyHint *hint = mb_route_get_hint (route);
      g_autofree char   *hint_text = NULL;

      if (hint != NULL)
        hint_text
            = g_strdup_printf ("%s — %s", mb_reply_hint_get_summary (hint),
                               mb_reply_hint_get_fix (hint));
      g_variant_builder_add_value (
          &builder,
          route_to_variant (
              mb_route_get_name (route),
              mb_route_method_to_string (mb_route_get_method (route)),
              mb_route_state_to_string (mb_route_get_state (route)),
              mb_route_get_pause_reason (route),
              mb_route_get_last_reply (route),
              hint != NULL ? hint->keyword : NULL, hint_text,
              g_strcmp0 (config->route, mb_route_get_name (route)) == 0));
    }
  return g_variant_builder_end (&builder);
}

static GError *
map_scheduler_error (GError *error)
{
  g_autoptr (GError) owned = error;

  if (g_error_matches (owned, MB_SCHEDULER_ERROR, MB_SCHEDULER_ERROR_NOT_FOUND))
    return g_error_new_literal (MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_FOUND,
                                owned->message);
  return mb_control_error_from (owned);
}

static int
compare_ids (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

gboolean
control_backend_figures (MbControl *self,
                         guint     *length,
                         guint     *deferred,
                         gint64    *oldest)
{
  MbScheduler *scheduler = get_scheduler (self);
  g_autoptr (GPtrArray) ids = NULL;

  if (scheduler == NULL)
    return FALSE;
  *length = mb_scheduler_get_length (scheduler);
  *deferred = mb_scheduler_get_n_deferred (scheduler);
  *oldest = 0;
  ids = mb_scheduler_list_ids (scheduler);
  for (guint i = 0; i < ids->len; i++)
    {
      const MbEnvelope *envelope
          = mb_scheduler_lookup (scheduler, g_ptr_array_index (ids, i));

      if (envelope != NULL && (*oldest == 0 || envelope->received < *oldest))
        *oldest = envelope->received;
    }
  return TRUE;
}

GVariant *
control_backend_list_queue (MbControl  *self,
                            guint       offset,
                            guint       limit,
                            const char *needle)
{
  MbScheduler *scheduler = get_scheduler (self);
  g_autoptr (GPtrArray) ids = NULL;
  GVariantBuilder messages;
  guint           matches = 0;

  if (scheduler == NULL)
    return NULL;
  ids = mb_scheduler_list_ids (scheduler);
  /* Ids start with the arrival time: sorted, they are oldest first. */
  g_ptr_array_sort (ids, compare_ids);
  g_variant_builder_init (&messages, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < ids->len; i++)
    {
      const MbEnvelope *envelope;
      /* Without a needle every message counts, so the page is cut from
       * the ids without looking at the others. */
      guint position = needle == NULL ? i : matches;

      if (needle == NULL
          && (i < offset || (limit != 0 && i >= offset + (guint64)limit)))
        continue;
      envelope = mb_scheduler_lookup (scheduler, g_ptr_array_index (ids, i));
      if (envelope == NULL || !control_envelope_matches (envelope, needle))
        continue;
      matches++;
      if (position >= offset
          && (limit == 0 || position < offset + (guint64)limit))
        g_variant_builder_add_value (
            &messages, control_envelope_to_variant (envelope, FALSE));
    }
  return g_variant_new ("(@aa{sv}u)", g_variant_builder_end (&messages),
                        needle == NULL ? ids->len : matches);
}

gboolean
control_backend_retry (MbControl *self, const char *id, GError **error)
{
  MbScheduler *scheduler = get_scheduler (self);
  GError      *local_error = NULL;

  if (scheduler == NULL)
    {
      g_set_error_literal (error, MB_CONTROL_ERROR,
                           MB_CONTROL_ERROR_NOT_SUPPORTED,
                           "Delivery is not running");
      return FALSE;
    }
  if (!mb_scheduler_retry (scheduler, id, &local_error))
    {
      g_propagate_error (error, map_scheduler_error (local_error));
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
control_backend_retry_all (MbControl *self, GError **error)
{
  MbScheduler *scheduler = get_scheduler (self);
  GPtrArray   *pending = NULL;
  g_autoptr (GPtrArray) ids = NULL;

  if (scheduler == NULL)
    {
      g_set_error_literal (error, MB_CONTROL_ERROR,
                           MB_CONTROL_ERROR_NOT_SUPPORTED,
                           "Delivery is not running");
      return NULL;
    }
  pending = g_ptr_array_new_with_free_func (g_free);
  ids = mb_scheduler_list_ids (scheduler);
  for (guint i = 0; i < ids->len; i++)
    {
      const char       *id = g_ptr_array_index (ids, i);
      const MbEnvelope *envelope = mb_scheduler_lookup (scheduler, id);

      if (envelope != NULL && !mb_envelope_is_finished (envelope))
        g_ptr_array_add (pending, g_strdup (id));
    }
  if (!mb_scheduler_retry (scheduler, NULL, NULL))
    g_debug ("retry of all messages: nothing to retry");
  return pending;
}

void
control_backend_delete_async (MbControl          *self,
                              const char         *id,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  MbScheduler *scheduler = get_scheduler (self);
  g_autoptr (GTask) task
      = g_task_new (self, self->cancellable, callback, user_data);
  const MbEnvelope *envelope;

  g_task_set_source_tag (task, control_backend_delete_async);
  if (scheduler == NULL)
    {
      delete_from_spool (self, g_steal_pointer (&task), id);
      return;
    }
  envelope = mb_scheduler_lookup (scheduler, id);
  if (envelope == NULL)
    {
      g_task_return_new_error (task, MB_CONTROL_ERROR,
                               MB_CONTROL_ERROR_NOT_FOUND,
                               "There is no message “%s” in the queue", id);
      return;
    }
  if (mb_scheduler_is_busy (scheduler, id))
    {
      g_task_return_new_error (task, MB_CONTROL_ERROR, MB_CONTROL_ERROR_BUSY,
                               "The message “%s” is being delivered right "
                               "now; try again in a moment",
                               id);
      return;
    }
  log_deleted (self, envelope);
  mb_spool_remove_async (mb_daemon_get_spool (self->daemon), id,
                         self->cancellable, removed_cb,
                         g_steal_pointer (&task));
}

#else /* !MB_HAVE_SCHEDULER */

void
control_backend_setup (MbControl *self)
{
}

gboolean
control_backend_is_paused (MbControl *self)
{
  return self->paused;
}

void
control_backend_pause (MbControl *self)
{
  self->paused = TRUE;
}

void
control_backend_resume (MbControl *self)
{
  self->paused = FALSE;
}

GPtrArray *
control_backend_attention_reasons (MbControl *self)
{
  GPtrArray *reasons = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (reasons, g_strdup ("delivery is not built into this "
                                      "relay: messages wait in the queue"));
  return reasons;
}

gboolean
control_backend_figures (MbControl *self,
                         guint     *length,
                         guint     *deferred,
                         gint64    *oldest)
{
  return FALSE;
}

GVariant *
control_backend_list_queue (MbControl  *self,
                            guint       offset,
                            guint       limit,
                            const char *needle)
{
  return NULL;
}

GVariant *
control_backend_routes (MbControl *self)
{
  MbRelayConfig  *config = mb_daemon_get_config (self->daemon);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < config->routes->len; i++)
    {
      MbRouteConfig *route = g_ptr_array_index (config->routes, i);

      g_variant_builder_add_value (
          &builder, route_to_variant (
                        route->name, mb_route_method_to_string (route->method),
                        "ready", NULL, NULL, NULL, NULL,
                        g_strcmp0 (config->route, route->name) == 0));
    }
  return g_variant_builder_end (&builder);
}

gboolean
control_backend_retry (MbControl *self, const char *id, GError **error)
{
  g_set_error_literal (error, MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_SUPPORTED,
                       "Delivery is not built into this relay");
  return FALSE;
}

GPtrArray *
control_backend_retry_all (MbControl *self, GError **error)
{
  control_backend_retry (self, NULL, error);
  return NULL;
}

void
control_backend_delete_async (MbControl          *self,
                              const char         *id,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr (GTask) task
      = g_task_new (self, self->cancellable, callback, user_data);

  g_task_set_source_tag (task, control_backend_delete_async);
  delete_from_spool (self, g_steal_pointer (&task), id);
}

#endif /* MB_HAVE_SCHEDULER */

gboolean
control_backend_delete_finish (MbControl    *self,
                               GAsyncResult *result,
                               GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
