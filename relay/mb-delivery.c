/* mb-delivery.c - one delivery attempt: one transaction of one message
 *
 * WHAT IT DOES
 *   Opens the queued message, applies the route's sender policy (streamed:
 *   only the header section is rewritten, the body is never held in
 *   memory), sends one batch of recipients as one SMTP transaction over a
 *   connected MbSmtpClient, and maps the replies to recipient states:
 *     - RCPT 2xx and 2xx after DATA: DELIVERED;
 *     - any 4xx (MAIL, RCPT, DATA): DEFERRED, next attempt from the
 *       retry schedule;
 *     - any 5xx: FAILED, unless mb-reply-hints says the reply blocks the
 *       route itself (pause_route): then DEFERRED, because every message
 *       would fail the same way until the admin fixes the route, and the
 *       route pauses (mb_route_record_result) rather than bounce them all;
 *     - a connection-level failure (no connection, TLS not trusted,
 *       timeout, 421, lost connection) or a message the client refuses
 *       before sending: every recipient of the batch DEFERRED with the
 *       server's reply or an "mb." pseudo reply naming the cause, so the
 *       queue and the log say why.
 *   Then records the attempt's outcome on the route, writes the envelope
 *   (fsync, off the main loop) and appends the delivery log, one record
 *   per recipient.
 *
 * GUARANTEES
 *   - The result is reported only after the envelope write finished, so
 *     the caller never starts the next attempt of this message on state
 *     that is not on disk; a write error is handed back and the caller
 *     must write again first.  Together this gives each recipient one
 *     delivery, except for the window RFC 5321 6.1 leaves open (the
 *     connection breaks after the end of data and before the reply).
 *   - A message too big for the server's SIZE, or that needs SMTPUTF8 the
 *     server lacks, fails at once (the connection stays usable).
 *   - Secrets never appear here: replies only.
 *
 * WHAT IT DOES NOT DO
 *   It does not choose what or when to send, pace, connect, bounce, expire
 *   or remove messages: that is mb-scheduler's work.  One batch per call.
 *
 * RFC 5321 3.3 (transactions), 4.2.5 (reply to end of data), 6.1
 * (reliable delivery); RFC 3461 (DSN parameters passed on).
 */
#define G_LOG_DOMAIN "mb-delivery"

#include "mb-delivery.h"

#include "mb-reply-hints.h"
#include "mb-retry.h"

#include <string.h>

typedef struct
{
  MbSpool              *spool;         /* (owned) */
  MbDeliveryLog        *log;           /* (owned) (nullable) */
  MbRoute              *route;         /* (owned) */
  MbSmtpClient         *client;        /* (owned) (nullable) */
  GError               *connect_error; /* (owned) (nullable) */
  MbSenderPolicyConfig *policy;        /* (owned) */
  GArray               *schedule;      /* (owned) (element-type gint64) */
  GArray               *batch;         /* (owned) (element-type guint) */
  gint64                now;
  gint64                started;  /* monotonic microseconds */
  MbDeliveryResult     *result;   /* (owned) */
  MbSenderDecision     *decision; /* (owned) (nullable) */
  MbSmtpSendRequest    *request;  /* (owned) (nullable) */
  GInputStream         *message;  /* (owned) (nullable) */
  gint64                size_delta;
} DeliveryData;

static void
delivery_data_free (DeliveryData *data)
{
  g_clear_object (&data->spool);
  g_clear_object (&data->log);
  g_clear_object (&data->route);
  g_clear_object (&data->client);
  g_clear_error (&data->connect_error);
  g_clear_pointer (&data->policy, mb_sender_policy_config_free);
  g_clear_pointer (&data->schedule, g_array_unref);
  g_clear_pointer (&data->batch, g_array_unref);
  g_clear_pointer (&data->result, mb_delivery_result_free);
  g_clear_pointer (&data->decision, mb_sender_decision_free);
  g_clear_pointer (&data->request, mb_smtp_send_request_free);
  g_clear_object (&data->message);
  g_free (data);
}

static void write_envelope (GTask *task);

/* Helpers */

static MbRecipient *
batch_recipient (DeliveryData *data, guint i)
{
  guint index = g_array_index (data->batch, guint, i);

  return g_ptr_array_index (data->result->envelope->recipients, index);
}

/* Reply text for logs: one line, quotes and backslashes escaped. */
static char *
quote_safe (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text != NULL ? text : ""; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      if ((guchar)*p < 0x20)
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static void
set_outcome (DeliveryData    *data,
             MbRecipient     *recipient,
             MbRecipientState state,
             const char      *last_reply)
{
  recipient->attempts++;
  recipient->state = state;
  g_free (recipient->last_reply);
  recipient->last_reply = g_strdup (last_reply);
  if (state == MB_RECIPIENT_STATE_DEFERRED)
    {
      recipient->next_attempt = mb_retry_next_attempt (
          data->schedule, recipient->attempts, data->now);
      data->result->n_deferred++;
    }
  else if (state == MB_RECIPIENT_STATE_DELIVERED)
    data->result->n_delivered++;
  else
    data->result->n_failed++;
}

/* The state a refusal leads to (see the contract). */
static MbRecipientState
state_for_refusal (const MbSmtpReply *reply)
{
  const MbReplyHint *hint;

  if (!mb_smtp_reply_is_permanent (reply))
    return MB_RECIPIENT_STATE_DEFERRED;
  hint = mb_reply_hints_lookup (reply->code, reply->enhanced, reply->text);
  if (hint != NULL && hint->pause_route)
    return MB_RECIPIENT_STATE_DEFERRED;
  return MB_RECIPIENT_STATE_FAILED;
}

static void
apply_reply (DeliveryData      *data,
             MbRecipient       *recipient,
             const MbSmtpReply *reply)
{
  g_autofree char *line = mb_smtp_reply_to_string (reply);

  set_outcome (data, recipient,
               mb_smtp_reply_is_positive (reply) ? MB_RECIPIENT_STATE_DELIVERED
                                                 : state_for_refusal (reply),
               line);
}

static void
defer_batch (DeliveryData *data, const char *last_reply)
{
  for (guint i = 0; i < data->batch->len; i++)
    set_outcome (data, batch_recipient (data, i), MB_RECIPIENT_STATE_DEFERRED,
                 last_reply);
}

static void
fail_batch (DeliveryData *data, const char *last_reply)
{
  for (guint i = 0; i < data->batch->len; i++)
    set_outcome (data, batch_recipient (data, i), MB_RECIPIENT_STATE_FAILED,
                 last_reply);
}

/* The client refused the message before sending it (TOO_BIG, ...); the
 * connection stays usable. */
static gboolean
is_message_refusal (const GError *error)
{
  return g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                          MB_SMTP_CLIENT_ERROR_TOO_BIG)
         || g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                             MB_SMTP_CLIENT_ERROR_NEEDS_SMTPUTF8)
         || g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                             MB_SMTP_CLIENT_ERROR_BAD_REQUEST);
}

static const char *
refusal_keyword (const GError *error)
{
  switch (error->code)
    {
    case MB_SMTP_CLIENT_ERROR_TOO_BIG:
      return "mb.message-too-big";
    case MB_SMTP_CLIENT_ERROR_NEEDS_SMTPUTF8:
      return "mb.needs-smtputf8";
    default:
      return "mb.bad-request";
    }
}

static void
record_result (DeliveryData *data, const MbSmtpSendResult *sent)
{
  const MbSmtpReply *final = NULL;

  /* The reply that ended the attempt: DATA's, or the first refusal. */
  if (sent->data_reply != NULL)
    final = sent->data_reply;
  else if (!mb_smtp_reply_is_positive (sent->mail_reply))
    final = sent->mail_reply;
  else
    for (guint i = 0; i < sent->rcpt_replies->len && final == NULL; i++)
      if (!mb_smtp_reply_is_positive (sent->rcpt_replies->pdata[i]))
        final = sent->rcpt_replies->pdata[i];
  if (final != NULL)
    mb_route_record_result (data->route, final);
}

static void
map_result (DeliveryData *data, const MbSmtpSendResult *sent)
{
  if (!mb_smtp_reply_is_positive (sent->mail_reply))
    {
      for (guint i = 0; i < data->batch->len; i++)
        apply_reply (data, batch_recipient (data, i), sent->mail_reply);
      return;
    }
  for (guint i = 0; i < data->batch->len; i++)
    {
      MbRecipient       *recipient = batch_recipient (data, i);
      const MbSmtpReply *rcpt
          = i < sent->rcpt_replies->len ? sent->rcpt_replies->pdata[i] : NULL;

      if (rcpt == NULL)
        set_outcome (data, recipient, MB_RECIPIENT_STATE_DEFERRED,
                     "mb.connection-lost no reply to RCPT");
      else if (!mb_smtp_reply_is_positive (rcpt))
        apply_reply (data, recipient, rcpt);
      else if (sent->data_reply != NULL)
        apply_reply (data, recipient, sent->data_reply);
      else
        set_outcome (data, recipient, MB_RECIPIENT_STATE_DEFERRED,
                     "mb.connection-lost no reply to DATA");
    }
}

static void
log_outcomes (DeliveryData *data)
{
  const MbEnvelope *envelope = data->result->envelope;
  const char       *route = mb_route_get_name (data->route);
  gint64 duration_ms = (g_get_monotonic_time () - data->started) / 1000;

  for (guint i = 0; i < data->batch->len; i++)
    {
      MbRecipient       *recipient = batch_recipient (data, i);
      const MbReplyHint *hint
          = recipient->last_reply != NULL
                ? mb_reply_hints_lookup_line (recipient->last_reply)
                : NULL;
      MbDeliveryStatus status;
      g_autofree char *reply = quote_safe (recipient->last_reply);

      switch (recipient->state)
        {
        case MB_RECIPIENT_STATE_DELIVERED:
          status = MB_DELIVERY_STATUS_DELIVERED;
          break;
        case MB_RECIPIENT_STATE_FAILED:
          status = MB_DELIVERY_STATUS_FAILED;
          break;
        default:
          status = MB_DELIVERY_STATUS_DEFERRED;
          break;
        }

      g_log_structured (
          G_LOG_DOMAIN,
          status == MB_DELIVERY_STATUS_DELIVERED ? G_LOG_LEVEL_INFO
                                                 : G_LOG_LEVEL_MESSAGE,
          "MB_QUEUE_ID", envelope->id, "MB_ROUTE", route, "MESSAGE",
          "queue-id=%s to=<%s> route=%s status=%s attempt=%u reply=\"%s\" "
          "hint=%s duration-ms=%" G_GINT64_FORMAT,
          envelope->id, recipient->address, route,
          mb_delivery_status_to_string (status), recipient->attempts, reply,
          hint != NULL ? hint->keyword : "none", duration_ms);

      if (data->log != NULL)
        {
          g_autoptr (MbDeliveryRecord) record = mb_delivery_record_new ();

          record->queue_id = g_strdup (envelope->id);
          record->message_id = g_strdup (envelope->message_id);
          record->sender = g_strdup (envelope->sender);
          record->recipient = g_strdup (recipient->address);
          record->route = g_strdup (route);
          record->status = status;
          record->reply = g_strdup (recipient->last_reply);
          record->hint = g_strdup (hint != NULL ? hint->keyword : NULL);
          record->duration_ms = duration_ms;
          mb_delivery_log_append (data->log, record);
        }
    }
}

/* Callbacks, in execution order */

static void
send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  DeliveryData *data = g_task_get_task_data (task);
  g_autoptr (MbSmtpSendResult) sent = NULL;
  g_autoptr (GError) error = NULL;

  sent = mb_smtp_client_send_finish (MB_SMTP_CLIENT (source), result, &error);
  g_input_stream_close (data->message, NULL, NULL);
  if (sent == NULL && is_message_refusal (error))
    {
      g_autofree char *line
          = g_strconcat (refusal_keyword (error), " ", error->message, NULL);

      fail_batch (data, line);
    }
  else if (sent == NULL)
    {
      g_autofree char *line = mb_delivery_describe_error (error, NULL);

      defer_batch (data, line);
      mb_delivery_record_error (data->route, error);
    }
  else
    {
      data->result->sent = sent->data_reply != NULL;
      map_result (data, sent);
      record_result (data, sent);
    }
  data->result->client_usable = mb_smtp_client_is_ready (data->client);
  write_envelope (g_steal_pointer (&task));
}

static void
policy_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  DeliveryData     *data = g_task_get_task_data (task);
  const MbEnvelope *envelope = data->result->envelope;
  g_autoptr (GError) error = NULL;

  data->message = mb_sender_policy_apply_finish (result, &data->decision,
                                                 &data->size_delta, &error);
  if (data->message == NULL)
    {
      g_autofree char *line
          = g_strconcat ("mb.spool-error ", error->message, NULL);

      defer_batch (data, line);
      data->result->client_usable = mb_smtp_client_is_ready (data->client);
      write_envelope (g_steal_pointer (&task));
      return;
    }

  data->request = mb_smtp_send_request_new (data->decision->envelope_sender);
  data->request->smtputf8 = envelope->smtputf8;
  data->request->body = envelope->body;
  data->request->ret = envelope->ret;
  data->request->envid = g_strdup (envelope->envid);
  for (guint i = 0; i < data->batch->len; i++)
    {
      MbRecipient *recipient = batch_recipient (data, i);

      mb_smtp_send_request_add_recipient (data->request, recipient->address,
                                          recipient->notify, recipient->orcpt);
    }
  g_debug ("queue-id=%s sender=<%s> policy=\"%s\"", envelope->id,
           data->decision->envelope_sender, data->decision->reason);
  mb_smtp_client_send_async (
      data->client, data->request, data->message,
      (guint64)MAX ((gint64)envelope->size + data->size_delta, 0), NULL,
      send_cb, g_steal_pointer (&task));
}

static void
open_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  DeliveryData *data = g_task_get_task_data (task);
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GError) error = NULL;

  stream = g_file_read_finish (G_FILE (source), result, &error);
  if (stream == NULL)
    {
      g_autofree char *line
          = g_strconcat ("mb.spool-error ", error->message, NULL);

      g_warning ("queue-id=%s cannot read the queued message: %s",
                 data->result->envelope->id, error->message);
      defer_batch (data, line);
      data->result->client_usable = mb_smtp_client_is_ready (data->client);
      write_envelope (g_steal_pointer (&task));
      return;
    }
  mb_sender_policy_apply_async (data->policy, data->result->envelope->sender,
                                G_INPUT_STREAM (stream), NULL, policy_cb,
                                g_steal_pointer (&task));
}

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  DeliveryData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!mb_spool_update_envelope_finish (MB_SPOOL (source), result, &error))
    {
      g_warning ("queue-id=%s the envelope could not be written: %s",
                 data->result->envelope->id, error->message);
      data->result->write_error = g_steal_pointer (&error);
    }
  log_outcomes (data);
  g_task_return_pointer (task, g_steal_pointer (&data->result),
                         (GDestroyNotify)mb_delivery_result_free);
}

static void
write_envelope (GTask *task)
{
  DeliveryData *data = g_task_get_task_data (task);

  mb_spool_update_envelope_async (data->spool, data->result->envelope, NULL,
                                  write_cb, task);
}

/* Public API */

void
mb_delivery_result_free (MbDeliveryResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->envelope, mb_envelope_free);
  g_clear_error (&result->write_error);
  g_free (result);
}

void
mb_delivery_run_async (const MbDeliveryRequest *request,
                       GAsyncReadyCallback      callback,
                       gpointer                 user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GFile) file = NULL;
  g_autofree char *path = NULL;
  DeliveryData    *data;

  g_return_if_fail (request != NULL);
  g_return_if_fail (MB_IS_SPOOL (request->spool));
  g_return_if_fail (MB_IS_ROUTE (request->route));
  g_return_if_fail (request->client != NULL || request->connect_error != NULL);
  g_return_if_fail (request->envelope != NULL && request->batch != NULL);

  task = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_delivery_run_async);

  data = g_new0 (DeliveryData, 1);
  data->spool = g_object_ref (request->spool);
  data->log = request->log != NULL ? g_object_ref (request->log) : NULL;
  data->route = g_object_ref (request->route);
  data->client
      = request->client != NULL ? g_object_ref (request->client) : NULL;
  data->connect_error = request->connect_error != NULL
                            ? g_error_copy (request->connect_error)
                            : NULL;
  data->policy = mb_sender_policy_config_copy (request->sender_policy);
  data->schedule = g_array_copy ((GArray *)request->retry_schedule);
  data->batch = g_array_copy ((GArray *)request->batch);
  data->now = request->now;
  data->started = g_get_monotonic_time ();
  data->result = g_new0 (MbDeliveryResult, 1);
  data->result->envelope = mb_envelope_copy (request->envelope);
  g_task_set_task_data (task, data, (GDestroyNotify)delivery_data_free);

  if (data->connect_error != NULL)
    {
      g_autofree char *line
          = mb_delivery_describe_error (data->connect_error, NULL);

      /* The route already learnt of the failure from whoever connected;
       * here only the message's recipients are deferred. */
      defer_batch (data, line);
      write_envelope (g_steal_pointer (&task));
      return;
    }

  path = mb_spool_get_message_path (data->spool, request->envelope->id);
  file = g_file_new_for_path (path);
  g_file_read_async (file, G_PRIORITY_DEFAULT, NULL, open_cb,
                     g_steal_pointer (&task));
}

MbDeliveryResult *
mb_delivery_run_finish (GAsyncResult *result)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == mb_delivery_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), NULL);
}

static const char *
error_keyword (const GError *error)
{
  if (error->domain == MB_SMTP_CLIENT_ERROR)
    switch ((MbSmtpClientError)error->code)
      {
      case MB_SMTP_CLIENT_ERROR_CONNECT:
        return "mb.connect-failed";
      case MB_SMTP_CLIENT_ERROR_TLS_UNTRUSTED:
        return "mb.tls-untrusted";
      case MB_SMTP_CLIENT_ERROR_TLS_TOO_OLD:
      case MB_SMTP_CLIENT_ERROR_TLS_FAILED:
        return "mb.tls-failed";
      case MB_SMTP_CLIENT_ERROR_NO_STARTTLS:
        return "mb.starttls-unavailable";
      case MB_SMTP_CLIENT_ERROR_AUTH_UNAVAILABLE:
        return "mb.auth-unavailable";
      default:
        return "mb.connection-lost";
      }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "mb.timeout";
  if (error->domain == G_RESOLVER_ERROR || error->domain == MB_ROUTE_ERROR)
    return "mb.dns-failed";
  if (error->domain == G_TLS_ERROR)
    return "mb.tls-failed";
  return "mb.connection-lost";
}

char *
mb_delivery_describe_error (const GError *error, const char **keyword)
{
  const MbSmtpReply *reply;
  const char        *key;

  g_return_val_if_fail (error != NULL, NULL);

  /* A refused STARTTLS carries a reply, but the cause to show is ours. */
  reply = mb_smtp_client_error_get_reply (error);
  if (reply != NULL
      && !g_error_matches (error, MB_SMTP_CLIENT_ERROR,
                           MB_SMTP_CLIENT_ERROR_NO_STARTTLS))
    {
      if (keyword != NULL)
        *keyword = NULL;
      return mb_smtp_reply_to_string (reply);
    }
  key = error_keyword (error);
  if (keyword != NULL)
    *keyword = key;
  return g_strconcat (key, " ", error->message, NULL);
}

void
mb_delivery_record_error (MbRoute *route, const GError *error)
{
  const MbSmtpReply *reply;
  const char        *keyword = NULL;
  g_autofree char   *line = NULL;

  g_return_if_fail (MB_IS_ROUTE (route));
  g_return_if_fail (error != NULL);

  reply = mb_smtp_client_error_get_reply (error);
  line = mb_delivery_describe_error (error, &keyword);
  if (keyword == NULL && reply != NULL)
    mb_route_record_result (route, reply);
  else
    mb_route_record_local_failure (route, keyword, error->message);
}
