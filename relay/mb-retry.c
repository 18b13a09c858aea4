/* mb-retry.c - what is due when: retry schedule, expiry, delay notices
 *
 * WHAT IT DOES
 *   Answers the scheduler's questions about one envelope at a given time:
 *   when each deferred recipient is tried again ([relay] retry-schedule,
 *   the last step repeating), when the message expires ([relay]
 *   expire-after from its arrival), when its delay notice is due ([relay]
 *   delay-notice-after, once), and from these the one time the scheduler
 *   must wake up for it.
 *
 * GUARANTEES
 *   Pure and deterministic: the same envelope and `now` give the same
 *   answer; no clock is read.  Times are unix seconds; sums saturate at
 *   G_MAXINT64 instead of overflowing.  A finished message (every
 *   recipient DELIVERED or FAILED) is never expired and never gets a delay
 *   notice.
 *
 * WHAT IT DOES NOT DO
 *   It changes no envelope and decides nothing about replies (mb-delivery
 *   maps replies to states); it does not know routes or pacing.
 *
 * RFC 5321 4.5.4.1 (retry strategy: intervals, give-up time), RFC 3464
 * (the delay notice is an "Action: delayed" report).
 */
#define G_LOG_DOMAIN "mb-retry"

#include "mb-retry.h"

static gint64
add_saturating (gint64 a, gint64 b)
{
  if (b > 0 && a > G_MAXINT64 - b)
    return G_MAXINT64;
  return a + b;
}

gboolean
mb_retry_is_pending (const MbRecipient *recipient)
{
  g_return_val_if_fail (recipient != NULL, FALSE);

  return recipient->state == MB_RECIPIENT_STATE_QUEUED
         || recipient->state == MB_RECIPIENT_STATE_DEFERRED;
}

static gboolean
has_pending (const MbEnvelope *envelope)
{
  for (guint i = 0; i < envelope->recipients->len; i++)
    if (mb_retry_is_pending (g_ptr_array_index (envelope->recipients, i)))
      return TRUE;
  return FALSE;
}

gint64
mb_retry_get_delay (const GArray *schedule, guint attempts)
{
  guint step;

  if (schedule == NULL || schedule->len == 0)
    return MB_RETRY_DEFAULT_DELAY;
  step = MIN (MAX (attempts, 1), schedule->len) - 1;
  return MAX (g_array_index (schedule, gint64, step), 1);
}

gint64
mb_retry_next_attempt (const GArray *schedule, guint attempts, gint64 now)
{
  return add_saturating (now, mb_retry_get_delay (schedule, attempts));
}

gint64
mb_retry_expiry_time (const MbEnvelope *envelope, gint64 expire_after)
{
  g_return_val_if_fail (envelope != NULL, G_MAXINT64);

  return add_saturating (envelope->received, expire_after);
}

gboolean
mb_retry_is_expired (const MbEnvelope *envelope,
                     gint64            expire_after,
                     gint64            now)
{
  g_return_val_if_fail (envelope != NULL, FALSE);

  return now >= mb_retry_expiry_time (envelope, expire_after)
         && has_pending (envelope);
}

gint64
mb_retry_delay_notice_time (const MbEnvelope *envelope,
                            gint64            delay_notice_after)
{
  g_return_val_if_fail (envelope != NULL, G_MAXINT64);

  if (envelope->delay_notice_sent != 0 || !has_pending (envelope))
    return G_MAXINT64;
  return add_saturating (envelope->received, delay_notice_after);
}

gboolean
mb_retry_delay_notice_due (const MbEnvelope *envelope,
                           gint64            delay_notice_after,
                           gint64            now)
{
  return now >= mb_retry_delay_notice_time (envelope, delay_notice_after);
}

gint64
mb_retry_due_time (const MbEnvelope *envelope)
{
  gint64 due = G_MAXINT64;

  g_return_val_if_fail (envelope != NULL, G_MAXINT64);

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *recipient
          = g_ptr_array_index (envelope->recipients, i);

      if (mb_retry_is_pending (recipient))
        due = MIN (due, MAX (recipient->next_attempt, 0));
    }
  return due;
}

gint64
mb_retry_wake_time (const MbEnvelope *envelope,
                    gint64            delay_notice_after,
                    gint64            expire_after)
{
  gint64 wake;

  g_return_val_if_fail (envelope != NULL, 0);

  if (!has_pending (envelope))
    return 0;
  wake = mb_retry_due_time (envelope);
  wake = MIN (wake, mb_retry_expiry_time (envelope, expire_after));
  wake = MIN (wake, mb_retry_delay_notice_time (envelope, delay_notice_after));
  return wake;
}

GArray *
mb_retry_due_recipients (const MbEnvelope *envelope, gint64 now)
{
  GArray *due = g_array_new (FALSE, FALSE, sizeof (guint));

  g_return_val_if_fail (envelope != NULL, due);

  for (guint i = 0; i < envelope->recipients->len; i++)
    {
      const MbRecipient *recipient
          = g_ptr_array_index (envelope->recipients, i);

      if (mb_retry_is_pending (recipient) && recipient->next_attempt <= now)
        g_array_append_val (due, i);
    }
  return due;
}
