/* mb-control-queue.c - the queue over D-Bus
 *
 * What it does
 *   ListQueue, SearchQueue (the same pages, filtered in the relay:
 *   a client finds a message without reading the whole queue),
 *   RetryMessage, RetryAll, Flush and DeleteMessage of
 *   org.mailbridge.Relay1, the properties QueueLength, DeferredCount and
 *   OldestMessageReceived, and the QueueChanged signal.  ShowMessage is
 *   mb-control-message.c.
 *
 * Guarantees
 *   - Envelopes are read in worker threads; the main loop never waits for
 *     the disk.
 *   - Changes collapse: every change marks its queue id, and at most one
 *     QueueChanged (naming each id once) and one re-read of the figures
 *     follow per QUEUE_SIGNAL_INTERVAL_MS.  A re-read loads only the
 *     envelopes of ids marked since the last one.
 *   - The spool's envelopes are the truth: pages and figures are read
 *     from queue/, never from a copy that could drift.
 *
 * What it does not do
 *   It does not change envelopes: retry and delete go through the
 *   scheduler (mb-control-backend.c), which owns delivery state.
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control-private.h"

#include <string.h>

#include "mb-spool.h"

#define QUEUE_SIGNAL_INTERVAL_MS 250
#define FLUSH_DEFAULT_TIMEOUT 60

typedef struct
{
  gint64   received;
  gboolean deferred;
} QueueEntry;

typedef struct
{
  MbSpool    *spool;   /* (owned) */
  GHashTable *entries; /* (owned) still valid: id -> QueueEntry */
  GPtrArray  *waiters; /* (owned) (element-type GTask) */
} RefreshData;

typedef struct
{
  GHashTable *entries; /* (owned) id -> QueueEntry */
  guint       deferred;
  gint64      oldest;
} RefreshResult;

static void start_refresh (MbControl *self);

static void
refresh_data_free (RefreshData *data)
{
  g_clear_object (&data->spool);
  g_clear_pointer (&data->entries, g_hash_table_unref);
  g_clear_pointer (&data->waiters, g_ptr_array_unref);
  g_free (data);
}

static void
refresh_result_free (RefreshResult *result)
{
  g_clear_pointer (&result->entries, g_hash_table_unref);
  g_free (result);
}

static GHashTable *
new_entry_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* Variants */

static void
add_hint (GVariantDict *dict, const char *reply)
{
  const char      *keyword = NULL;
  g_autofree char *text = control_hint_text_for_reply (reply, &keyword);

  g_variant_dict_insert (dict, "hint", "s", keyword != NULL ? keyword : "");
  g_variant_dict_insert (dict, "hint_text", "s", text);
}

static gboolean
is_pending (const MbRecipient *recipient)
{
  return recipient->state == MB_RECIPIENT_STATE_QUEUED
         || recipient->state == MB_RECIPIENT_STATE_DEFERRED;
}

static GVariant *
recipient_to_variant (const MbRecipient *recipient)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "address", "s", recipient->address);
  g_variant_dict_insert (&dict, "state", "s",
                         mb_recipient_state_to_string (recipient->state));
  g_variant_dict_insert (&dict, "attempts", "u", recipient->attempts);
  g_variant_dict_insert (&dict, "next_attempt", "x",
                         is_pending (recipient) ? recipient->next_attempt
                                                : (gint64)0);
  g_variant_dict_insert (&dict, "last_reply", "s",
                         recipient->last_reply != NULL ? recipient->last_reply
                                                       : "");
  add_hint (&dict, recipient->last_reply);
  return g_variant_dict_end (&dict);
}

static const char *
message_state (const MbEnvelope *envelope)
{
  gboolean queued = FALSE;

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *r = g_ptr_array_index (envelope->recipients, i);

      if (r->state == MB_RECIPIENT_STATE_DEFERRED)
        return "deferred";
      if (r->state == MB_RECIPIENT_STATE_QUEUED)
        queued = TRUE;
    }
  return queued ? "queued" : "finished";
}

static gboolean
contains_folded (const char *text, const char *needle)
{
  g_autofree char *folded = NULL;

  if (text == NULL)
    return FALSE;
  folded = g_utf8_strdown (text, -1);
  return strstr (folded, needle) != NULL;
}

gboolean
control_envelope_matches (const MbEnvelope *envelope, const char *needle)
{
  if (needle == NULL)
    return TRUE;
  if (contains_folded (envelope->id, needle)
      || contains_folded (envelope->sender, needle)
      || contains_folded (envelope->route, needle))
    return TRUE;
  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *r = g_ptr_array_index (envelope->recipients, i);

      if (contains_folded (r->address, needle)
          || contains_folded (r->last_reply, needle))
        return TRUE;
    }
  return FALSE;
}

GVariant *
control_envelope_to_variant (const MbEnvelope *envelope, gboolean details)
{
  GVariantDict    dict;
  GVariantBuilder recipients;
  guint           attempts = 0;
  gint64          next_attempt = G_MAXINT64;
  const char     *last_reply = NULL;

  g_variant_builder_init (&recipients, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *r = g_ptr_array_index (envelope->recipients, i);

      g_variant_builder_add_value (&recipients, recipient_to_variant (r));
      attempts = MAX (attempts, r->attempts);
      if (is_pending (r))
        {
          next_attempt = MIN (next_attempt, r->next_attempt);
          /* The pending recipients' reply is the one that matters. */
          if (r->last_reply != NULL)
            last_reply = r->last_reply;
        }
      else if (last_reply == NULL && r->last_reply != NULL)
        last_reply = r->last_reply;
    }
  if (next_attempt == G_MAXINT64)
    next_attempt = 0;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "s", envelope->id);
  g_variant_dict_insert (&dict, "sender", "s", envelope->sender);
  g_variant_dict_insert_value (&dict, "recipients",
                               g_variant_builder_end (&recipients));
  g_variant_dict_insert (&dict, "size", "t", envelope->size);
  g_variant_dict_insert (&dict, "received", "x", envelope->received);
  g_variant_dict_insert (&dict, "attempts", "u", attempts);
  g_variant_dict_insert (&dict, "next_attempt", "x", next_attempt);
  g_variant_dict_insert (&dict, "state", "s", message_state (envelope));
  g_variant_dict_insert (&dict, "last_reply", "s",
                         last_reply != NULL ? last_reply : "");
  add_hint (&dict, last_reply);
  g_variant_dict_insert (&dict, "route", "s",
                         envelope->route != NULL ? envelope->route : "");
  g_variant_dict_insert (
      &dict, "client_address", "s",
      envelope->client_address != NULL ? envelope->client_address : "");
  g_variant_dict_insert (&dict, "message_id", "s",
                         envelope->message_id != NULL ? envelope->message_id
                                                      : "");
  if (details)
    {
      g_variant_dict_insert (
          &dict, "client_helo", "s",
          envelope->client_helo != NULL ? envelope->client_helo : "");
      g_variant_dict_insert (&dict, "envid", "s",
                             envelope->envid != NULL ? envelope->envid : "");
      g_variant_dict_insert (&dict, "delay_notice_sent", "x",
                             envelope->delay_notice_sent);
    }
  return g_variant_dict_end (&dict);
}

/* Figures: QueueLength, DeferredCount, OldestMessageReceived */

static gboolean
envelope_is_deferred (const MbEnvelope *envelope)
{
  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *r = g_ptr_array_index (envelope->recipients, i);

      if (r->state == MB_RECIPIENT_STATE_DEFERRED)
        return TRUE;
    }
  return FALSE;
}

static void
refresh_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RefreshData   *data = task_data;
  RefreshResult *result = g_new0 (RefreshResult, 1);
  g_autoptr (GPtrArray) ids = mb_spool_list_ids (data->spool);

  result->entries = new_entry_table ();
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      QueueEntry *entry = g_hash_table_lookup (data->entries, id);
      QueueEntry *copy = g_new0 (QueueEntry, 1);

      if (entry != NULL)
        *copy = *entry;
      else
        {
          g_autoptr (MbEnvelope) envelope
              = mb_spool_load_envelope (data->spool, id, NULL);

          /* Removed meanwhile, or unreadable (recovery will move it). */
          if (envelope == NULL)
            {
              g_free (copy);
              continue;
            }
          copy->received = envelope->received;
          copy->deferred = envelope_is_deferred (envelope);
        }
      if (copy->deferred)
        result->deferred++;
      if (result->oldest == 0 || copy->received < result->oldest)
        result->oldest = copy->received;
      g_hash_table_insert (result->entries, g_strdup (id), copy);
    }
  g_task_return_pointer (task, result, (GDestroyNotify)refresh_result_free);
}

static void
refresh_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  MbControl   *self = MB_CONTROL (source);
  RefreshData *data = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;
  RefreshResult *result = g_task_propagate_pointer (G_TASK (res), &error);

  self->queue_refreshing = FALSE;
  if (result == NULL)
    {
      for (guint i = 0; i < data->waiters->len; i++)
        g_task_return_error (g_ptr_array_index (data->waiters, i),
                             g_error_copy (error));
      return;
    }

  g_clear_pointer (&self->queue_entries, g_hash_table_unref);
  self->queue_entries = g_steal_pointer (&result->entries);
  mb_relay1_set_queue_length (self->skeleton,
                              g_hash_table_size (self->queue_entries));
  mb_relay1_set_deferred_count (self->skeleton, result->deferred);
  mb_relay1_set_oldest_message_received (self->skeleton, result->oldest);
  refresh_result_free (result);

  for (guint i = 0; i < data->waiters->len; i++)
    g_task_return_boolean (g_ptr_array_index (data->waiters, i), TRUE);

  if (self->queue_refresh_again)
    start_refresh (self);
}

void
control_queue_figures_changed (MbControl *self)
{
  guint  length, deferred;
  gint64 oldest;

  /* From the scheduler's memory the figures are cheap: set them at once,
   * so a client that saw a reply sees the new figures too. */
  if (self->connection == NULL
      || !control_backend_figures (self, &length, &deferred, &oldest))
    return;
  mb_relay1_set_queue_length (self->skeleton, length);
  mb_relay1_set_deferred_count (self->skeleton, deferred);
  mb_relay1_set_oldest_message_received (self->skeleton, oldest);
}

static void
start_refresh (MbControl *self)
{
  g_autoptr (GTask) task = NULL;
  RefreshData   *data;
  GHashTableIter iter;
  gpointer       key, value;

  guint  length, deferred;
  gint64 oldest;

  if (self->queue_refreshing)
    {
      self->queue_refresh_again = TRUE;
      return;
    }
  if (control_backend_figures (self, &length, &deferred, &oldest))
    {
      g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->figures_waiters);

      self->figures_waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_hash_table_remove_all (self->dirty_ids);
      mb_relay1_set_queue_length (self->skeleton, length);
      mb_relay1_set_deferred_count (self->skeleton, deferred);
      mb_relay1_set_oldest_message_received (self->skeleton, oldest);
      for (guint i = 0; i < waiters->len; i++)
        g_task_return_boolean (g_ptr_array_index (waiters, i), TRUE);
      return;
    }
  self->queue_refreshing = TRUE;
  self->queue_refresh_again = FALSE;

  data = g_new0 (RefreshData, 1);
  data->spool = g_object_ref (mb_daemon_get_spool (self->daemon));
  data->entries = new_entry_table ();
  g_hash_table_iter_init (&iter, self->queue_entries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!g_hash_table_contains (self->dirty_ids, key))
        g_hash_table_insert (data->entries, g_strdup (key),
                             g_memdup2 (value, sizeof (QueueEntry)));
    }
  g_hash_table_remove_all (self->dirty_ids);
  data->waiters = g_steal_pointer (&self->figures_waiters);
  self->figures_waiters = g_ptr_array_new_with_free_func (g_object_unref);

  task = g_task_new (self, self->cancellable, refresh_done_cb, NULL);
  g_task_set_source_tag (task, start_refresh);
  g_task_set_task_data (task, data, (GDestroyNotify)refresh_data_free);
  g_task_run_in_thread (task, refresh_thread);
}

void
control_queue_refresh_async (MbControl          *self,
                             GAsyncReadyCallback callback,
                             gpointer            user_data)
{
  GTask *task = g_task_new (self, self->cancellable, callback, user_data);

  g_task_set_source_tag (task, control_queue_refresh_async);
  g_ptr_array_add (self->figures_waiters, task);
  start_refresh (self);
}

gboolean
control_queue_refresh_finish (MbControl    *self,
                              GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static GStrv
take_ids (GHashTable *table)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (table, NULL);

  for (guint i = 0; keys[i] != NULL; i++)
    g_strv_builder_add (builder, keys[i]);
  g_hash_table_remove_all (table);
  return g_strv_builder_end (builder);
}

static gboolean
on_queue_timeout_cb (gpointer user_data)
{
  MbControl *self = user_data;
  g_auto (GStrv) changed = take_ids (self->changed_ids);
  g_auto (GStrv) removed = take_ids (self->removed_ids);

  self->queue_timeout_id = 0;
  if (changed[0] != NULL || removed[0] != NULL)
    mb_relay1_emit_queue_changed (self->skeleton, (const char *const *)changed,
                                  (const char *const *)removed);
  start_refresh (self);
  return G_SOURCE_REMOVE;
}

void
control_queue_mark (MbControl *self, const char *id, gboolean removed)
{
  if (self->connection == NULL)
    return;
  if (id == NULL || *id == '\0')
    {
      /* Only the figures changed. */
    }
  else if (removed)
    {
      g_hash_table_add (self->dirty_ids, g_strdup (id));
      g_hash_table_remove (self->changed_ids, id);
      g_hash_table_add (self->removed_ids, g_strdup (id));
    }
  else
    {
      g_hash_table_add (self->dirty_ids, g_strdup (id));
      if (!g_hash_table_contains (self->removed_ids, id))
        g_hash_table_add (self->changed_ids, g_strdup (id));
    }
  if (self->queue_timeout_id == 0)
    self->queue_timeout_id
        = g_timeout_add (QUEUE_SIGNAL_INTERVAL_MS, on_queue_timeout_cb, self);
}

static void
on_spool_committed_cb (MbControl *self, const char *id)
{
  control_queue_mark (self, id, FALSE);
}

static void
on_spool_removed_cb (MbControl *self, const char *id)
{
  control_queue_mark (self, id, TRUE);
}

/* ListQueue */

typedef struct
{
  MbSpool *spool; /* (owned) */
  guint    offset;
  guint    limit;
  char    *needle; /* (owned) (nullable) SearchQueue's, lower case */
} ReadData;

static void
read_data_free (ReadData *data)
{
  g_clear_object (&data->spool);
  g_free (data->needle);
  g_free (data);
}

static GTask *
new_read_task (MbControl             *self,
               GDBusMethodInvocation *invocation,
               GAsyncReadyCallback    callback)
{
  GTask    *task = g_task_new (self, self->cancellable, callback,
                               g_object_ref (invocation));
  ReadData *data = g_new0 (ReadData, 1);

  data->spool = g_object_ref (mb_daemon_get_spool (self->daemon));
  g_task_set_task_data (task, data, (GDestroyNotify)read_data_free);
  return task;
}

static void
list_queue_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  ReadData *data = task_data;
  g_autoptr (GPtrArray) ids = mb_spool_list_ids (data->spool);
  GVariantBuilder messages;
  guint           position = 0;

  g_variant_builder_init (&messages, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (MbEnvelope) envelope = NULL;

      if (data->needle == NULL)
        {
          position = i;
          if (i < data->offset
              || (data->limit != 0 && i >= data->offset + (guint64)data->limit))
            continue;
        }
      envelope = mb_spool_load_envelope (data->spool,
                                         g_ptr_array_index (ids, i), NULL);
      /* Delivered and removed since the listing: not in the page. */
      if (envelope == NULL
          || !control_envelope_matches (envelope, data->needle))
        continue;
      if (position >= data->offset
          && (data->limit == 0
              || position < data->offset + (guint64)data->limit))
        g_variant_builder_add_value (
            &messages, control_envelope_to_variant (envelope, FALSE));
      if (data->needle != NULL)
        position++;
    }
  g_task_return_pointer (task,
                         g_variant_ref_sink (g_variant_new (
                             "(@aa{sv}u)", g_variant_builder_end (&messages),
                             data->needle == NULL ? ids->len : position)),
                         (GDestroyNotify)g_variant_unref);
}

void
control_return_variant_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) value
      = g_task_propagate_pointer (G_TASK (result), &error);

  if (value == NULL)
    {
      control_return_error (g_steal_pointer (&invocation),
                            g_steal_pointer (&error));
      return;
    }
  g_dbus_method_invocation_return_value (g_steal_pointer (&invocation), value);
}

static void
list_queue (MbControl             *self,
            GDBusMethodInvocation *invocation,
            guint                  offset,
            guint                  limit,
            const char            *needle)
{
  g_autoptr (GTask) task = NULL;
  ReadData *data;
  GVariant *reply = control_backend_list_queue (self, offset, limit, needle);

  if (reply != NULL)
    {
      g_dbus_method_invocation_return_value (invocation, reply);
      return;
    }
  task = new_read_task (self, invocation, control_return_variant_cb);
  data = g_task_get_task_data (task);
  data->offset = offset;
  data->limit = limit;
  data->needle = g_strdup (needle);
  g_task_run_in_thread (task, list_queue_thread);
}

static gboolean
on_handle_list_queue_cb (MbControl             *self,
                         GDBusMethodInvocation *invocation,
                         guint                  offset,
                         guint                  limit)
{
  list_queue (self, invocation, offset, limit, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_search_queue_cb (MbControl             *self,
                           GDBusMethodInvocation *invocation,
                           const char            *text,
                           guint                  limit)
{
  g_autofree char *needle = g_utf8_strdown (text, -1);

  list_queue (self, invocation, 0, limit, *needle != '\0' ? needle : NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* RetryMessage, RetryAll, Flush */

static gboolean
on_handle_retry_message_cb (MbControl             *self,
                            GDBusMethodInvocation *invocation,
                            const char            *id)
{
  g_autoptr (GError) error = NULL;

  if (!control_backend_retry (self, id, &error))
    {
      control_return_error (invocation, g_steal_pointer (&error));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_info ("queue-id=%s retry requested by the admin", id);
  control_queue_mark (self, id, FALSE);
  mb_relay1_complete_retry_message (self->skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_retry_all_cb (MbControl *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = control_backend_retry_all (self, &error);

  if (ids == NULL)
    {
      control_return_error (invocation, g_steal_pointer (&error));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_info ("count=%u retry of all messages requested by the admin", ids->len);
  for (guint i = 0; i < ids->len; i++)
    control_queue_mark (self, g_ptr_array_index (ids, i), FALSE);
  mb_relay1_complete_retry_all (self->skeleton, invocation, ids->len);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct
{
  MbControl             *self;       /* (owned) */
  GDBusMethodInvocation *invocation; /* (owned) */
  guint                  attempted;
  guint                  pending;
} FlushData;

static void
flush_data_free (FlushData *data)
{
  g_clear_object (&data->self);
  g_clear_object (&data->invocation);
  g_free (data);
}

static void
flush_figures_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FlushData *data = user_data;
  g_autoptr (GError) error = NULL;

  if (!control_queue_refresh_finish (data->self, result, &error))
    control_return_error (g_steal_pointer (&data->invocation),
                          g_steal_pointer (&error));
  else
    mb_relay1_complete_flush (
        data->self->skeleton, g_steal_pointer (&data->invocation),
        data->attempted, mb_relay1_get_queue_length (data->self->skeleton));
  flush_data_free (data);
}

static void
flush_one_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FlushData *data = user_data;
  g_autoptr (MbDeliveryRecord) record = NULL;

  /* A timeout or a cancelled wait ends this message's wait all the same. */
  record = control_wait_outcome_finish (data->self, result, NULL);
  if (--data->pending > 0)
    return;
  control_queue_refresh_async (data->self, flush_figures_cb, data);
}

static gboolean
on_handle_flush_cb (MbControl             *self,
                    GDBusMethodInvocation *invocation,
                    guint                  timeout)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = control_backend_retry_all (self, &error);
  FlushData *data;

  if (ids == NULL)
    {
      control_return_error (invocation, g_steal_pointer (&error));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_info ("count=%u flush requested by the admin", ids->len);
  data = g_new0 (FlushData, 1);
  data->self = g_object_ref (self);
  data->invocation = g_object_ref (invocation);
  data->attempted = ids->len;
  data->pending = ids->len;
  if (ids->len == 0)
    {
      control_queue_refresh_async (self, flush_figures_cb, data);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  for (guint i = 0; i < ids->len; i++)
    {
      control_queue_mark (self, g_ptr_array_index (ids, i), FALSE);
      control_wait_outcome_async (self, g_ptr_array_index (ids, i),
                                  timeout != 0 ? timeout
                                               : FLUSH_DEFAULT_TIMEOUT,
                                  TRUE, flush_one_cb, data);
    }
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* DeleteMessage */

static void
deleted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  MbControl *self = MB_CONTROL (source);
  g_autoptr (GError) error = NULL;
  GVariant   *parameters = g_dbus_method_invocation_get_parameters (invocation);
  const char *id = NULL;

  g_variant_get (parameters, "(&s)", &id);
  if (!control_backend_delete_finish (self, result, &error))
    {
      control_return_error (g_steal_pointer (&invocation),
                            g_steal_pointer (&error));
      return;
    }
  g_info ("queue-id=%s deleted by the admin", id);
  control_queue_mark (self, id, TRUE);
  mb_relay1_complete_delete_message (self->skeleton,
                                     g_steal_pointer (&invocation));
}

static gboolean
on_handle_delete_message_cb (MbControl             *self,
                             GDBusMethodInvocation *invocation,
                             const char            *id)
{
  control_backend_delete_async (self, id, deleted_cb,
                                g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
control_queue_setup (MbControl *self)
{
  MbSpool *spool = mb_daemon_get_spool (self->daemon);

  g_signal_connect_swapped (self->skeleton, "handle-list-queue",
                            G_CALLBACK (on_handle_list_queue_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-search-queue",
                            G_CALLBACK (on_handle_search_queue_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-retry-message",
                            G_CALLBACK (on_handle_retry_message_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-retry-all",
                            G_CALLBACK (on_handle_retry_all_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-flush",
                            G_CALLBACK (on_handle_flush_cb), self);
  g_signal_connect_swapped (self->skeleton, "handle-delete-message",
                            G_CALLBACK (on_handle_delete_message_cb), self);
  control_connect (self, spool, "committed",
                   G_CALLBACK (on_spool_committed_cb));
  control_connect (self, spool, "removed", G_CALLBACK (on_spool_removed_cb));
}
