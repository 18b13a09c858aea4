/* mb-scheduler-reports.c - the end of a message's life in the queue
 *
 * WHAT IT DOES
 *   The scheduler's steps that are not delivery attempts, each on one busy
 *   entry: writing an envelope again after a failed write; expiry (every
 *   pending recipient FAILED with an "mb.expired" reason naming the last
 *   reply); the delay notice (once, then delay_notice_sent is written);
 *   and the end: one failure report for the FAILED recipients (mb-bounce),
 *   then the removal of the message from the spool.
 *
 * GUARANTEES
 *   - The original leaves the spool only after every recipient is final
 *     AND its failure report is committed to the spool: bad news is never
 *     lost.  A crash between the two can repeat the report once (at least
 *     once, never zero times).
 *   - No report for a null sender or on a report (mb-dsn decides); no
 *     report when every recipient was delivered.
 *   - A failed write, report or removal is logged and retried after the
 *     retry schedule's first step; nothing is dropped.
 *   - At most MB_SCHEDULER_MAX_STEPS of these steps run at once (each
 *     holds the original and the report's spool file open); the others
 *     wait in the step queue, first come first served, except that a
 *     message's next step (the write after its notice) goes first.  A
 *     queue of 100,000 old messages thus never runs out of descriptors.
 *
 * WHAT IT DOES NOT DO
 *   It does not decide when these steps are due (mb-scheduler.c with
 *   mb-retry) and does not deliver the reports it queues.
 *
 * RFC 3464 (reports), RFC 3461 4.1 (NOTIFY decides who gets one),
 * RFC 5321 4.5.4.1 (give-up time).
 */
#define G_LOG_DOMAIN "mb-scheduler"

#include "mb-scheduler-private.h"

#include "mb-bounce.h"
#include "mb-config-syntax.h"
#include "mb-retry.h"

typedef struct
{
  MbScheduler *self;  /* (owned) */
  Entry       *entry; /* (unowned) busy */
} Step;

static Step *
step_new (MbScheduler *self, Entry *entry)
{
  Step *step = g_new0 (Step, 1);

  step->self = g_object_ref (self);
  step->entry = entry;
  return step;
}

static void
step_free (Step *step)
{
  g_clear_object (&step->self);
  g_free (step);
}

char *
mb_scheduler_quote (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text != NULL ? text : ""; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, (guchar)*p < 0x20 ? ' ' : *p);
    }
  return g_string_free (out, FALSE);
}

void
mb_scheduler_append_log (MbScheduler       *self,
                         const MbEnvelope  *envelope,
                         const MbRecipient *recipient,
                         MbDeliveryStatus   status,
                         const char        *reply)
{
  g_autoptr (MbDeliveryRecord) record = NULL;
  const MbReplyHint *hint;

  if (self->log == NULL)
    return;
  hint = reply != NULL ? mb_reply_hints_lookup_line (reply) : NULL;
  record = mb_delivery_record_new ();
  record->queue_id = g_strdup (envelope->id);
  record->message_id = g_strdup (envelope->message_id);
  record->sender = g_strdup (envelope->sender);
  record->recipient = g_strdup (recipient->address);
  record->route = g_strdup (mb_scheduler_route_name_for (self, envelope));
  record->status = status;
  record->reply = g_strdup (reply);
  record->hint = g_strdup (hint != NULL ? hint->keyword : NULL);
  mb_delivery_log_append (self->log, record);
}

/* Ends the busy state after a failure, to try again later. */
static void
retry_later (MbScheduler *self, Entry *entry)
{
  gint64 delay = mb_retry_get_delay (self->config->retry_schedule, 1);

  if (mb_scheduler_end_busy (self, entry))
    mb_scheduler_hold (self, entry, mb_scheduler_now (self) + delay);
}

static guint
count_state (const MbEnvelope *envelope, MbRecipientState state)
{
  guint n = 0;

  for (guint i = 0; i < envelope->recipients->len; i++)
    if (((MbRecipient *)envelope->recipients->pdata[i])->state == state)
      n++;
  return n;
}

/* Writing */

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step        *step = user_data;
  MbScheduler *self = step->self;
  Entry       *entry = step->entry;
  g_autoptr (GError) error = NULL;

  if (!mb_spool_update_envelope_finish (MB_SPOOL (source), result, &error))
    {
      g_warning ("queue-id=%s the envelope could not be written (will try "
                 "again): %s",
                 entry->id, error->message);
      entry->dirty = TRUE;
      retry_later (self, entry);
    }
  else
    {
      entry->dirty = FALSE;
      if (mb_scheduler_end_busy (self, entry))
        mb_scheduler_process (self, entry);
    }
  mb_scheduler_queue_changed (self);
  step_free (step);
}

static void
write_entry (MbScheduler *self, Entry *entry)
{
  mb_spool_update_envelope_async (self->spool, entry->envelope, NULL, write_cb,
                                  step_new (self, entry));
}

/* Expiry */

static void
expire_entry (MbScheduler *self, Entry *entry)
{
  g_autofree char *after
      = mb_config_syntax_format_duration (self->config->expire_after);

  for (guint i = 0; i < entry->envelope->recipients->len; i++)
    {
      MbRecipient     *recipient = entry->envelope->recipients->pdata[i];
      g_autofree char *reason = NULL;
      g_autofree char *quoted = NULL;

      if (!mb_retry_is_pending (recipient))
        continue;
      reason = recipient->last_reply != NULL
                   ? g_strdup_printf ("mb.expired Gave up after %s without "
                                      "delivery; last reply: %s",
                                      after, recipient->last_reply)
                   : g_strdup_printf ("mb.expired Gave up after %s without "
                                      "delivery; never tried",
                                      after);
      recipient->state = MB_RECIPIENT_STATE_FAILED;
      g_free (recipient->last_reply);
      recipient->last_reply = g_strdup (reason);
      quoted = mb_scheduler_quote (reason);
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_QUEUE_ID",
                        entry->id, "MESSAGE",
                        "queue-id=%s to=<%s> status=expired reply=\"%s\"",
                        entry->id, recipient->address, quoted);
      mb_scheduler_append_log (self, entry->envelope, recipient,
                               MB_DELIVERY_STATUS_EXPIRED, reason);
    }
  /* Write first: the report comes from the finished state on disk. */
  write_entry (self, entry);
}

/* The delay notice */

static void
delay_notice_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step        *step = user_data;
  MbScheduler *self = step->self;
  Entry       *entry = step->entry;
  g_autoptr (GError) error = NULL;
  g_autofree char *report_id = NULL;
  MbDsnSkip        skip = MB_DSN_SKIP_NONE;

  report_id = mb_bounce_queue_finish (result, &skip, &error);
  if (report_id == NULL && error != NULL)
    {
      g_warning ("queue-id=%s the delay notice could not be queued (will "
                 "try again): %s",
                 entry->id, error->message);
      retry_later (self, entry);
      step_free (step);
      return;
    }
  if (report_id != NULL)
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MB_QUEUE_ID",
                        entry->id, "MESSAGE",
                        "queue-id=%s delay-notice=%s to=<%s>", entry->id,
                        report_id, entry->envelope->sender);
      for (guint i = 0; i < entry->envelope->recipients->len; i++)
        {
          MbRecipient *recipient = entry->envelope->recipients->pdata[i];

          if (mb_retry_is_pending (recipient))
            mb_scheduler_append_log (self, entry->envelope, recipient,
                                     MB_DELIVERY_STATUS_SENT_DSN,
                                     recipient->last_reply);
        }
    }
  else
    g_debug ("queue-id=%s no delay notice: %s", entry->id,
             mb_dsn_skip_to_string (skip));
  /* Once only, also when none was due: written before anything else. */
  entry->envelope->delay_notice_sent = mb_scheduler_now (self);
  entry->dirty = TRUE;
  if (mb_scheduler_end_busy (self, entry))
    mb_scheduler_process (self, entry);
  step_free (step);
}

static void
send_delay_notice (MbScheduler *self, Entry *entry)
{
  MbBounceRequest request = { 0 };

  request.spool = self->spool;
  request.kind = MB_DSN_KIND_DELAY;
  request.envelope = entry->envelope;
  request.admin_address = self->config->admin_address;
  request.reporting_mta = self->config->hostname;
  request.last_attempt = entry->last_attempt;
  request.retry_until
      = mb_retry_expiry_time (entry->envelope, self->config->expire_after);
  request.now = mb_scheduler_now (self);
  mb_bounce_queue_async (&request, NULL, delay_notice_cb,
                         step_new (self, entry));
}

/* The end: report, then removal */

static void
remove_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step        *step = user_data;
  MbScheduler *self = step->self;
  Entry       *entry = step->entry;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = g_strdup (entry->id);
  guint            n_delivered
      = count_state (entry->envelope, MB_RECIPIENT_STATE_DELIVERED);
  guint n_failed = count_state (entry->envelope, MB_RECIPIENT_STATE_FAILED);

  if (!mb_spool_remove_finish (MB_SPOOL (source), result, &error)
      && !g_error_matches (error, MB_SPOOL_ERROR, MB_SPOOL_ERROR_NOT_FOUND))
    {
      g_warning ("queue-id=%s could not be removed from the queue (will try "
                 "again): %s",
                 id, error->message);
      retry_later (self, entry);
      step_free (step);
      return;
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MB_QUEUE_ID", id,
                    "MESSAGE", "queue-id=%s removed delivered=%u failed=%u", id,
                    n_delivered, n_failed);
  if (mb_scheduler_end_busy (self, entry))
    mb_scheduler_forget (self, entry);
  g_signal_emit (self,
                 mb_scheduler_signals[n_failed > 0 ? SIGNAL_MESSAGE_FAILED
                                                   : SIGNAL_MESSAGE_DELIVERED],
                 0, id);
  mb_scheduler_queue_changed (self);
  step_free (step);
}

static void
remove_entry (Step *step)
{
  mb_spool_remove_async (step->self->spool, step->entry->id, NULL, remove_cb,
                         step);
}

static void
bounce_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step        *step = user_data;
  MbScheduler *self = step->self;
  Entry       *entry = step->entry;
  g_autoptr (GError) error = NULL;
  g_autofree char *report_id = NULL;
  MbDsnSkip        skip = MB_DSN_SKIP_NONE;

  report_id = mb_bounce_queue_finish (result, &skip, &error);
  if (report_id == NULL && error != NULL)
    {
      g_warning ("queue-id=%s the failure report could not be queued (will "
                 "try again; the message stays queued): %s",
                 entry->id, error->message);
      retry_later (self, entry);
      step_free (step);
      return;
    }
  entry->report_queued = TRUE;
  if (report_id != NULL)
    {
      g_log_structured (
          G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_QUEUE_ID", entry->id,
          "MESSAGE", "queue-id=%s status=bounced report=%s to=<%s>%s%s",
          entry->id, report_id, entry->envelope->sender,
          self->config->admin_address != NULL ? " copy=" : "",
          self->config->admin_address != NULL ? self->config->admin_address
                                              : "");
      for (guint i = 0; i < entry->envelope->recipients->len; i++)
        {
          MbRecipient *recipient = entry->envelope->recipients->pdata[i];

          if (recipient->state == MB_RECIPIENT_STATE_FAILED)
            mb_scheduler_append_log (self, entry->envelope, recipient,
                                     MB_DELIVERY_STATUS_BOUNCED,
                                     recipient->last_reply);
        }
    }
  else
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MB_QUEUE_ID", entry->id,
                      "MESSAGE", "queue-id=%s no failure report: %s", entry->id,
                      mb_dsn_skip_to_string (skip));
  remove_entry (step);
}

static void
finish_entry (MbScheduler *self, Entry *entry)
{
  MbBounceRequest request = { 0 };
  Step           *step = step_new (self, entry);

  if (entry->report_queued
      || count_state (entry->envelope, MB_RECIPIENT_STATE_FAILED) == 0)
    {
      remove_entry (step);
      return;
    }
  request.spool = self->spool;
  request.kind = MB_DSN_KIND_FAILURE;
  request.envelope = entry->envelope;
  request.admin_address = self->config->admin_address;
  request.reporting_mta = self->config->hostname;
  request.last_attempt = entry->last_attempt;
  request.now = mb_scheduler_now (self);
  mb_bounce_queue_async (&request, NULL, bounce_cb, step);
}

/* The step queue */

gboolean
mb_scheduler_step_is_due (MbScheduler *self, Entry *entry, gint64 now)
{
  const MbEnvelope *envelope = entry->envelope;

  return entry->dirty || mb_envelope_is_finished (envelope)
         || mb_retry_is_expired (envelope, self->config->expire_after, now)
         || mb_retry_delay_notice_due (envelope,
                                       self->config->delay_notice_after, now);
}

void
mb_scheduler_queue_step (MbScheduler *self, Entry *entry, gboolean first)
{
  g_return_if_fail (entry->place != ENTRY_BUSY);

  if (entry->step_link == NULL)
    {
      /* Out of the ready queue and the timeline, as while busy. */
      mb_scheduler_set_busy (self, entry);
      if (first)
        {
          g_queue_push_head (&self->steps, entry);
          entry->step_link = self->steps.head;
        }
      else
        {
          g_queue_push_tail (&self->steps, entry);
          entry->step_link = self->steps.tail;
        }
    }
  entry->place = ENTRY_PENDING;
  mb_scheduler_run_steps (self);
}

void
mb_scheduler_unqueue_step (MbScheduler *self, Entry *entry)
{
  if (entry->step_link == NULL)
    return;
  g_queue_delete_link (&self->steps, entry->step_link);
  entry->step_link = NULL;
  if (entry->place == ENTRY_PENDING)
    entry->place = ENTRY_WAITING;
}

void
mb_scheduler_run_steps (MbScheduler *self)
{
  while (!self->stopped && self->n_steps < MB_SCHEDULER_MAX_STEPS
         && !g_queue_is_empty (&self->steps))
    {
      Entry      *entry = g_queue_peek_head (&self->steps);
      gint64      now = mb_scheduler_now (self);
      MbEnvelope *envelope = entry->envelope;

      mb_scheduler_unqueue_step (self, entry);
      /* Decided now: a retry or a new configuration may have changed what
       * is due while it waited. */
      if (!mb_scheduler_step_is_due (self, entry, now))
        {
          mb_scheduler_process (self, entry);
          continue;
        }
      mb_scheduler_set_busy (self, entry);
      entry->in_step = TRUE;
      self->n_steps++;
      if (entry->dirty)
        write_entry (self, entry);
      else if (mb_envelope_is_finished (envelope))
        finish_entry (self, entry);
      else if (mb_retry_is_expired (envelope, self->config->expire_after, now))
        expire_entry (self, entry);
      else
        send_delay_notice (self, entry);
    }
}
