/* mb-bounce.c - queueing a delivery report (bounce, delay notice)
 *
 * WHAT IT DOES
 *   For one original message: opens queue/ID.eml, has mb-dsn build the
 *   report in a worker thread, and writes it through an MbSpoolWriter as a
 *   new message with the null reverse path <> and the recipients of
 *   mb_dsn_get_report_recipients().
 *
 * GUARANTEES
 *   - The report is queued only once it is committed (fsynced, renamed,
 *     directory fsynced): the finish function returns its queue id then,
 *     so the caller may remove the original afterwards without ever losing
 *     the only copy of the bad news.
 *   - No report on a report or for a null sender: mb-dsn decides, and an
 *     empty recipient list is treated the same way.
 *   - An original that cannot be read still gets a report, without the
 *     returned message part.
 *
 * WHAT IT DOES NOT DO
 *   It does not decide when a report is due, mark the original as reported
 *   or remove it (mb-scheduler), and does not deliver the report.
 *
 * RFC 3464 (the report), RFC 3461 6.2 (no report on a report), RFC 5321
 * 4.5.5 (reports are sent with the null reverse path).
 */
#define G_LOG_DOMAIN "mb-bounce"

#include "mb-bounce.h"

typedef struct
{
  MbSpool       *spool; /* (owned) */
  MbDsnKind      kind;
  MbEnvelope    *envelope;   /* (owned) the original's */
  GPtrArray     *recipients; /* (owned) (nullable) copies */
  char          *admin_address;
  char          *reporting_mta;
  char          *remote_mta;
  gint64         last_attempt;
  gint64         retry_until;
  gint64         now;
  GInputStream  *original; /* (owned) (nullable) */
  MbSpoolWriter *writer;   /* (owned) (nullable) */
  GBytes        *report;   /* (owned) (nullable) */
} BounceData;

static void
bounce_data_free (BounceData *data)
{
  g_clear_object (&data->spool);
  g_clear_pointer (&data->envelope, mb_envelope_free);
  g_clear_pointer (&data->recipients, g_ptr_array_unref);
  g_free (data->admin_address);
  g_free (data->reporting_mta);
  g_free (data->remote_mta);
  if (data->original != NULL)
    g_input_stream_close (data->original, NULL, NULL);
  g_clear_object (&data->original);
  g_clear_pointer (&data->writer, mb_spool_writer_free);
  g_clear_pointer (&data->report, g_bytes_unref);
  g_free (data);
}

static MbRecipient *
recipient_copy (const MbRecipient *from)
{
  MbRecipient *to = g_new0 (MbRecipient, 1);

  to->address = g_strdup (from->address);
  to->state = from->state;
  to->notify = from->notify;
  to->orcpt = g_strdup (from->orcpt);
  to->attempts = from->attempts;
  to->next_attempt = from->next_attempt;
  to->last_reply = g_strdup (from->last_reply);
  return to;
}

/* Callbacks, in execution order */

static void
commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BounceData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!mb_spool_writer_commit_finish (data->writer, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_strdup (mb_spool_writer_get_id (data->writer)),
                         g_free);
}

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BounceData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (MbEnvelope) envelope = NULL;
  g_auto (GStrv) to = NULL;

  if (!mb_spool_writer_write_finish (data->writer, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  to = mb_dsn_get_report_recipients (data->kind, data->envelope,
                                     data->admin_address);
  envelope = mb_envelope_new ();
  g_free (envelope->sender);
  envelope->sender = g_strdup ("");
  envelope->received
      = data->now != 0 ? data->now : g_get_real_time () / G_USEC_PER_SEC;
  envelope->body = mb_dsn_get_body_type (data->report);
  envelope->route = g_strdup (data->envelope->route);
  for (guint i = 0; to[i] != NULL; i++)
    mb_envelope_add_recipient (envelope, to[i], 0, NULL);
  mb_spool_writer_commit_async (data->writer, envelope,
                                g_task_get_cancellable (task), commit_cb,
                                g_object_ref (task));
}

static void
build_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BounceData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) to = NULL;
  MbDsnSkip     skip = MB_DSN_SKIP_NONE;
  GCancellable *cancellable;
  gsize         len;
  const guint8 *bytes;

  data->report = mb_dsn_build_finish (result, &skip, &error);
  if (data->report == NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        {
          g_object_set_data (G_OBJECT (task), "skip", GINT_TO_POINTER (skip));
          g_task_return_pointer (task, NULL, NULL);
        }
      return;
    }
  to = mb_dsn_get_report_recipients (data->kind, data->envelope,
                                     data->admin_address);
  if (to[0] == NULL)
    {
      g_object_set_data (G_OBJECT (task), "skip",
                         GINT_TO_POINTER (MB_DSN_SKIP_NULL_SENDER));
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  data->writer = mb_spool_writer_new (data->spool, &error);
  if (data->writer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  bytes = g_bytes_get_data (data->report, &len);
  cancellable = g_task_get_cancellable (task);
  mb_spool_writer_write_async (data->writer, bytes, len, cancellable, write_cb,
                               g_steal_pointer (&task));
}

static void
open_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BounceData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  MbDsnOptions  options = { 0 };
  GCancellable *cancellable;

  data->original
      = G_INPUT_STREAM (g_file_read_finish (G_FILE (source), result, &error));
  if (data->original == NULL)
    g_warning ("queue-id=%s the original is unreadable; reporting without "
               "it: %s",
               data->envelope->id, error->message);

  options.reporting_mta = data->reporting_mta;
  options.remote_mta = data->remote_mta;
  options.last_attempt = data->last_attempt;
  options.retry_until = data->retry_until;
  cancellable = g_task_get_cancellable (task);
  mb_dsn_build_async (data->kind, data->envelope, data->recipients, &options,
                      data->original, cancellable, build_cb,
                      g_steal_pointer (&task));
}

/* Public API */

void
mb_bounce_queue_async (const MbBounceRequest *request,
                       GCancellable          *cancellable,
                       GAsyncReadyCallback    callback,
                       gpointer               user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GFile) file = NULL;
  g_autofree char *path = NULL;
  BounceData      *data;

  g_return_if_fail (request != NULL && MB_IS_SPOOL (request->spool));
  g_return_if_fail (request->envelope != NULL);
  g_return_if_fail (request->reporting_mta != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_bounce_queue_async);

  data = g_new0 (BounceData, 1);
  data->spool = g_object_ref (request->spool);
  data->kind = request->kind;
  data->envelope = mb_envelope_copy (request->envelope);
  if (request->recipients != NULL)
    {
      data->recipients
          = g_ptr_array_new_with_free_func ((GDestroyNotify)mb_recipient_free);
      for (guint i = 0; i < request->recipients->len; i++)
        g_ptr_array_add (data->recipients,
                         recipient_copy (request->recipients->pdata[i]));
    }
  data->admin_address = g_strdup (request->admin_address);
  data->reporting_mta = g_strdup (request->reporting_mta);
  data->remote_mta = g_strdup (request->remote_mta);
  data->last_attempt = request->last_attempt;
  data->retry_until = request->retry_until;
  data->now = request->now;
  g_task_set_task_data (task, data, (GDestroyNotify)bounce_data_free);

  path = mb_spool_get_message_path (data->spool, data->envelope->id);
  file = g_file_new_for_path (path);
  g_file_read_async (file, G_PRIORITY_DEFAULT, cancellable, open_cb,
                     g_steal_pointer (&task));
}

char *
mb_bounce_queue_finish (GAsyncResult *result, MbDsnSkip *skip, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == mb_bounce_queue_async, NULL);

  if (skip != NULL)
    *skip = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "skip"));
  return g_task_propagate_pointer (G_TASK (result), error);
}
