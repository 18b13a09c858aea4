/* mb-control-log.c - the delivery log over D-Bus
 *
 * What it does
 *   ReadLog, and the signals that follow the log: LogRecordAdded for
 *   every record, Delivered and DeliveryFailed for attempts.  It also
 *   wakes whoever waits for a message's first outcome (SendTest, Flush).
 *
 * Guarantees
 *   - Signals follow the log's "record-added", i.e. only records that are
 *     committed, in commit order, each once.  A follower that connects
 *     before it calls ReadLog and skips ids it has seen misses nothing.
 *   - Queries run on the log's own worker thread (mb-delivery-log.c).
 *   - A waiter completes exactly once: on the first record of its queue
 *     id, on the message's removal if it asked for that, on its timeout,
 *     or cancelled when the control object stops.
 *
 * What it does not do
 *   It writes no records except through the backend's delete (the
 *   scheduler logs attempts); grep filtering happens here, after the
 *   query, over the record's text fields.
 */
#define G_LOG_DOMAIN "mb-control"

#include "mb-control-private.h"

#include <string.h>

#include "mb-reply-hints.h"
#include "mb-spool.h"

#define READ_LOG_DEFAULT_LIMIT 1000

struct _OutcomeWaiter
{
  MbControl *self; /* (unowned) holds us */
  GTask     *task; /* (owned) (nullable) once completed */
  char      *queue_id;
  guint      timeout_id;
  gboolean   until_removed;
};

/* Hints */

static char *
describe_hint (const MbReplyHint *hint)
{
  if (hint == NULL)
    return g_strdup ("");
  return g_strdup_printf ("%s — %s", mb_reply_hint_get_summary (hint),
                          mb_reply_hint_get_fix (hint));
}

char *
control_hint_text_for_reply (const char *reply, const char **keyword)
{
  const MbReplyHint *hint = NULL;

  if (reply != NULL && *reply != '\0')
    hint = mb_reply_hints_lookup_line (reply);
  if (keyword != NULL)
    *keyword = hint != NULL ? hint->keyword : NULL;
  return describe_hint (hint);
}

static const MbReplyHint *
record_hint (const MbDeliveryRecord *record)
{
  if (record->hint != NULL && *record->hint != '\0')
    return mb_reply_hints_lookup_keyword (record->hint);
  if (record->reply != NULL && *record->reply != '\0')
    return mb_reply_hints_lookup_line (record->reply);
  return NULL;
}

#define STR(s) ((s) != NULL ? (s) : "")

static GVariant *
record_to_variant (const MbDeliveryRecord *record)
{
  GVariantDict       dict;
  const MbReplyHint *hint = record_hint (record);
  g_autofree char   *hint_text = describe_hint (hint);
  const char        *status = mb_delivery_status_to_string (record->status);

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "x", record->id);
  g_variant_dict_insert (&dict, "time_us", "x", record->time);
  g_variant_dict_insert (&dict, "queue_id", "s", STR (record->queue_id));
  g_variant_dict_insert (&dict, "message_id", "s", STR (record->message_id));
  g_variant_dict_insert (&dict, "sender", "s", STR (record->sender));
  g_variant_dict_insert (&dict, "recipient", "s", STR (record->recipient));
  g_variant_dict_insert (&dict, "route", "s", STR (record->route));
  g_variant_dict_insert (&dict, "status", "s", STR (status));
  g_variant_dict_insert (&dict, "reply", "s", STR (record->reply));
  g_variant_dict_insert (&dict, "hint", "s",
                         hint != NULL ? hint->keyword : STR (record->hint));
  g_variant_dict_insert (&dict, "hint_text", "s", hint_text);
  g_variant_dict_insert (&dict, "duration_ms", "x", record->duration_ms);
  return g_variant_dict_end (&dict);
}

/* ReadLog */

typedef struct
{
  GDBusMethodInvocation *invocation; /* (owned) */
  char                  *grep;       /* (owned) (nullable) casefolded */
  guint                  limit;
  guint                  offset;
} ReadLogData;

static void
read_log_data_free (ReadLogData *data)
{
  g_clear_object (&data->invocation);
  g_free (data->grep);
  g_free (data);
}

static gboolean
contains_folded (const char *haystack, const char *needle)
{
  g_autofree char *folded = NULL;

  if (haystack == NULL)
    return FALSE;
  folded = g_utf8_casefold (haystack, -1);
  return strstr (folded, needle) != NULL;
}

static gboolean
record_matches (const MbDeliveryRecord *record, const char *grep)
{
  return grep == NULL || contains_folded (record->queue_id, grep)
         || contains_folded (record->sender, grep)
         || contains_folded (record->recipient, grep)
         || contains_folded (record->route, grep)
         || contains_folded (record->reply, grep)
         || contains_folded (record->hint, grep)
         || contains_folded (record->message_id, grep);
}

static void
log_queried_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ReadLogData *data = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) records = NULL;
  GVariantBuilder builder;
  guint           skipped = 0, added = 0;

  records
      = mb_delivery_log_query_finish (MB_DELIVERY_LOG (source), result, &error);
  if (records == NULL)
    {
      control_return_error (g_steal_pointer (&data->invocation),
                            g_steal_pointer (&error));
      read_log_data_free (data);
      return;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < records->len && added < data->limit; i++)
    {
      const MbDeliveryRecord *record = g_ptr_array_index (records, i);

      if (!record_matches (record, data->grep))
        continue;
      /* With grep, paging applies to the matches. */
      if (data->grep != NULL && skipped < data->offset)
        {
          skipped++;
          continue;
        }
      g_variant_builder_add_value (&builder, record_to_variant (record));
      added++;
    }
  g_dbus_method_invocation_return_value (
      g_steal_pointer (&data->invocation),
      g_variant_new ("(@aa{sv})", g_variant_builder_end (&builder)));
  read_log_data_free (data);
}

static gboolean
on_handle_read_log_cb (MbControl             *self,
                       GDBusMethodInvocation *invocation,
                       GVariant              *filter)
{
  MbDeliveryLog     *log = mb_daemon_get_delivery_log (self->daemon);
  MbDeliveryLogQuery query = MB_DELIVERY_LOG_QUERY_INIT;
  g_autoptr (GVariantDict) dict = g_variant_dict_new (filter);
  g_autofree char *status = NULL;
  g_autofree char *grep = NULL;
  g_autofree char *address = NULL;
  g_autofree char *queue_id = NULL;
  ReadLogData     *data;
  MbDeliveryStatus parsed;

  if (log == NULL)
    {
      g_dbus_method_invocation_return_error_literal (
          invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_NOT_SUPPORTED,
          "The delivery log is not available");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  data = g_new0 (ReadLogData, 1);
  data->invocation = g_object_ref (invocation);
  data->limit = READ_LOG_DEFAULT_LIMIT;
  g_variant_dict_lookup (dict, "since_us", "x", &query.since);
  g_variant_dict_lookup (dict, "until_us", "x", &query.until);
  g_variant_dict_lookup (dict, "limit", "u", &data->limit);
  g_variant_dict_lookup (dict, "offset", "u", &data->offset);
  g_variant_dict_lookup (dict, "newest_first", "b", &query.newest_first);
  if (g_variant_dict_lookup (dict, "address", "s", &address)
      && *address != '\0')
    query.address = address;
  if (g_variant_dict_lookup (dict, "queue_id", "s", &queue_id)
      && *queue_id != '\0')
    query.queue_id = queue_id;
  if (g_variant_dict_lookup (dict, "grep", "s", &grep) && *grep != '\0')
    data->grep = g_utf8_casefold (grep, -1);
  if (g_variant_dict_lookup (dict, "status", "s", &status) && *status != '\0')
    {
      if (!mb_delivery_status_from_string (status, &parsed))
        {
          g_dbus_method_invocation_return_error (
              invocation, MB_CONTROL_ERROR, MB_CONTROL_ERROR_INVALID_ARGUMENT,
              "Unknown log status “%s”", status);
          read_log_data_free (data);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      query.status = parsed;
    }
  if (data->limit == 0)
    data->limit = G_MAXUINT;
  if (data->grep == NULL)
    {
      query.limit = data->limit == G_MAXUINT ? 0 : data->limit;
      query.offset = data->offset;
    }

  mb_delivery_log_query_async (log, &query, self->cancellable, log_queried_cb,
                               data);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Waiters */

void
control_outcome_waiter_free (OutcomeWaiter *waiter)
{
  g_clear_handle_id (&waiter->timeout_id, g_source_remove);
  if (waiter->task != NULL)
    g_task_return_new_error (waiter->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "The relay is stopping");
  g_clear_object (&waiter->task);
  g_free (waiter->queue_id);
  g_free (waiter);
}

static void
complete_waiter (OutcomeWaiter *waiter, const MbDeliveryRecord *record)
{
  MbControl *self = waiter->self;
  g_autoptr (GTask) task = g_steal_pointer (&waiter->task);

  g_ptr_array_remove_fast (self->outcome_waiters, waiter);
  g_task_return_pointer (
      task, record != NULL ? mb_delivery_record_copy (record) : NULL,
      (GDestroyNotify)mb_delivery_record_free);
}

static gboolean
on_waiter_timeout_cb (gpointer user_data)
{
  OutcomeWaiter *waiter = user_data;

  waiter->timeout_id = 0;
  complete_waiter (waiter, NULL);
  return G_SOURCE_REMOVE;
}

void
control_wait_outcome_async (MbControl          *self,
                            const char         *queue_id,
                            guint               timeout_seconds,
                            gboolean            until_removed,
                            GAsyncReadyCallback callback,
                            gpointer            user_data)
{
  OutcomeWaiter *waiter = g_new0 (OutcomeWaiter, 1);

  waiter->self = self;
  waiter->task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (waiter->task, control_wait_outcome_async);
  waiter->queue_id = g_strdup (queue_id);
  waiter->until_removed = until_removed;
  waiter->timeout_id
      = g_timeout_add_seconds (timeout_seconds, on_waiter_timeout_cb, waiter);
  g_ptr_array_add (self->outcome_waiters, waiter);
}

MbDeliveryRecord *
control_wait_outcome_finish (MbControl    *self,
                             GAsyncResult *result,
                             GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Completes the waiters of @queue_id (those that want a removal only if
 * @record is NULL). */
static void
wake_waiters (MbControl              *self,
              const char             *queue_id,
              const MbDeliveryRecord *record)
{
  for (guint i = self->outcome_waiters->len; i-- > 0;)
    {
      OutcomeWaiter *waiter = g_ptr_array_index (self->outcome_waiters, i);

      if (g_strcmp0 (waiter->queue_id, queue_id) != 0)
        continue;
      if (record == NULL && !waiter->until_removed)
        continue;
      complete_waiter (waiter, record);
    }
}

/* Signals */

static void
on_record_added_cb (MbControl *self, const MbDeliveryRecord *record)
{
  const MbReplyHint *hint = record_hint (record);
  g_autofree char   *hint_text = describe_hint (hint);
  const char        *status = mb_delivery_status_to_string (record->status);

  mb_relay1_emit_log_record_added (self->skeleton, record_to_variant (record));
  switch (record->status)
    {
    case MB_DELIVERY_STATUS_DELIVERED:
      mb_relay1_emit_delivered (self->skeleton, STR (record->queue_id),
                                STR (record->recipient), STR (record->route),
                                STR (record->reply));
      break;
    case MB_DELIVERY_STATUS_DEFERRED:
    case MB_DELIVERY_STATUS_FAILED:
    case MB_DELIVERY_STATUS_EXPIRED:
    case MB_DELIVERY_STATUS_BOUNCED:
      mb_relay1_emit_delivery_failed (
          self->skeleton, STR (record->queue_id), STR (record->recipient),
          STR (record->route), STR (status), STR (record->reply),
          hint != NULL ? hint->keyword : STR (record->hint), hint_text);
      break;
    case MB_DELIVERY_STATUS_DELETED:
    case MB_DELIVERY_STATUS_SENT_DSN:
      break;
    }

  control_queue_mark (self, record->queue_id, FALSE);
  if (record->status == MB_DELIVERY_STATUS_DELIVERED
      || record->status == MB_DELIVERY_STATUS_DEFERRED
      || record->status == MB_DELIVERY_STATUS_FAILED)
    wake_waiters (self, record->queue_id, record);
}

static void
on_spool_removed_cb (MbControl *self, const char *id)
{
  wake_waiters (self, id, NULL);
}

void
control_log_setup (MbControl *self)
{
  MbDeliveryLog *log = mb_daemon_get_delivery_log (self->daemon);

  g_signal_connect_swapped (self->skeleton, "handle-read-log",
                            G_CALLBACK (on_handle_read_log_cb), self);
  if (log != NULL)
    control_connect (self, log, "record-added",
                     G_CALLBACK (on_record_added_cb));
  control_connect (self, mb_daemon_get_spool (self->daemon), "removed",
                   G_CALLBACK (on_spool_removed_cb));
}
