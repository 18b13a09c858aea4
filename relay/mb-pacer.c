/* mb-pacer.c - connection, message-rate and recipient-budget pacing
 *
 * WHAT IT DOES
 *   Keeps a route below the limits of its method (relay/mb-route.c holds
 *   the table): open connections, messages per sliding window, recipients
 *   per sliding window.  The scheduler asks mb_pacer_delay_for_send()
 *   before a transaction, waits that long (with its own timer), and calls
 *   mb_pacer_record_message() once the message was submitted.
 *
 * GUARANTEES
 *   As long as the caller sends only when the delay is 0 and records every
 *   send: no half-open window (t - W, t] ever holds more than M message
 *   submissions, and no (t - D, t] more than R recipients.  The delays are
 *   exact, not rounded up: at now + delay the send is allowed, one
 *   microsecond earlier it is not.  Sliding windows, because Exchange
 *   Online counts its recipient limit over a sliding 24 h (M365-FACTS.md
 *   3.1); for the 30 messages a minute a sliding window is the safe
 *   reading, as a fixed minute would allow 60 within two seconds across a
 *   minute boundary.  Memory: M timestamps plus one entry per recorded
 *   message inside the recipient window.
 *
 * WHAT IT DOES NOT DO
 *   No timers, no I/O, no locking: one thread.  It does not know routes or
 *   mailboxes: one pacer per mailbox (or per route) is the caller's choice.
 *   It does not persist its counts: after a restart the windows start
 *   empty, so the upstream's own limits remain the last line of defence.
 */
#define G_LOG_DOMAIN "mb-pacer"

#include "mb-pacer.h"

/* Recipients recorded at one instant. */
typedef struct
{
  gint64 time;
  guint  n;
} RecipientEntry;

struct _MbPacer
{
  guint  max_connections;
  guint  max_messages;
  gint64 message_window;
  guint  max_recipients;
  gint64 recipient_window;

  MbPacerNowFunc now_func;
  gpointer       now_data; /* (unowned) */

  guint connections;

  /* The last max_messages send times, oldest at sends[head]. */
  gint64 *sends; /* (owned) (nullable) without a message limit */
  guint   n_sends;
  guint   head;

  GQueue recipients;     /* (element-type RecipientEntry) (owned), oldest
                          * first */
  guint64 recipient_sum; /* of the entries in the queue */
};

/* Helpers */

static gint64
default_now (gpointer user_data)
{
  return g_get_monotonic_time ();
}

static gint64
now (MbPacer *pacer)
{
  return pacer->now_func (pacer->now_data);
}

static gboolean
has_message_limit (const MbPacer *pacer)
{
  return pacer->max_messages > 0 && pacer->message_window > 0;
}

static gboolean
has_recipient_limit (const MbPacer *pacer)
{
  return pacer->max_recipients > 0 && pacer->recipient_window > 0;
}

/* Drops the entries that left the window (t - D, t]: a recipient recorded
 * at s counts until s + D, exclusive. */
static void
expire_recipients (MbPacer *pacer, gint64 t)
{
  RecipientEntry *entry;

  while ((entry = g_queue_peek_head (&pacer->recipients)) != NULL
         && entry->time <= t - pacer->recipient_window)
    {
      pacer->recipient_sum -= entry->n;
      g_free (g_queue_pop_head (&pacer->recipients));
    }
}

/* Public API */

MbPacer *
mb_pacer_new (guint  max_connections,
              guint  max_messages,
              gint64 message_window,
              guint  max_recipients,
              gint64 recipient_window)
{
  MbPacer *pacer;

  g_return_val_if_fail (message_window >= 0, NULL);
  g_return_val_if_fail (recipient_window >= 0, NULL);

  pacer = g_new0 (MbPacer, 1);
  pacer->max_connections = max_connections;
  pacer->max_messages = max_messages;
  pacer->message_window = message_window;
  pacer->max_recipients = max_recipients;
  pacer->recipient_window = recipient_window;
  pacer->now_func = default_now;
  if (has_message_limit (pacer))
    pacer->sends = g_new0 (gint64, max_messages);
  g_queue_init (&pacer->recipients);
  return pacer;
}

void
mb_pacer_free (MbPacer *pacer)
{
  if (pacer == NULL)
    return;
  g_free (pacer->sends);
  g_queue_clear_full (&pacer->recipients, g_free);
  g_free (pacer);
}

void
mb_pacer_set_clock (MbPacer *pacer, MbPacerNowFunc now_func, gpointer user_data)
{
  g_return_if_fail (pacer != NULL);

  pacer->now_func = now_func != NULL ? now_func : default_now;
  pacer->now_data = now_func != NULL ? user_data : NULL;
}

guint
mb_pacer_get_max_connections (const MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);
  return pacer->max_connections;
}

guint
mb_pacer_get_max_messages (const MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);
  return pacer->max_messages;
}

gint64
mb_pacer_get_message_window (const MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);
  return pacer->message_window;
}

guint
mb_pacer_get_max_recipients (const MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);
  return pacer->max_recipients;
}

gint64
mb_pacer_get_recipient_window (const MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);
  return pacer->recipient_window;
}

gboolean
mb_pacer_try_acquire_connection (MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, FALSE);

  if (pacer->max_connections > 0
      && pacer->connections >= pacer->max_connections)
    return FALSE;
  pacer->connections++;
  return TRUE;
}

void
mb_pacer_release_connection (MbPacer *pacer)
{
  g_return_if_fail (pacer != NULL);
  g_return_if_fail (pacer->connections > 0);

  pacer->connections--;
}

guint
mb_pacer_get_connections (const MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);
  return pacer->connections;
}

gint64
mb_pacer_delay_for_message (MbPacer *pacer)
{
  gint64 delay;

  g_return_val_if_fail (pacer != NULL, 0);

  if (!has_message_limit (pacer) || pacer->n_sends < pacer->max_messages)
    return 0;
  /* The M-th send before this one must have left the window. */
  delay = pacer->sends[pacer->head] + pacer->message_window - now (pacer);
  return MAX (delay, 0);
}

guint
mb_pacer_recipient_budget (MbPacer *pacer)
{
  g_return_val_if_fail (pacer != NULL, 0);

  if (!has_recipient_limit (pacer))
    return G_MAXUINT;
  expire_recipients (pacer, now (pacer));
  if (pacer->recipient_sum >= pacer->max_recipients)
    return 0;
  return pacer->max_recipients - (guint)pacer->recipient_sum;
}

gint64
mb_pacer_delay_for_recipients (MbPacer *pacer, guint n_recipients)
{
  gint64  t;
  guint64 need;
  guint64 freed = 0;

  g_return_val_if_fail (pacer != NULL, 0);

  if (!has_recipient_limit (pacer))
    return 0;
  if (n_recipients > pacer->max_recipients)
    return -1;
  t = now (pacer);
  expire_recipients (pacer, t);
  if (pacer->recipient_sum + n_recipients <= pacer->max_recipients)
    return 0;

  /* Wait until the oldest entries that free enough budget have left. */
  need = pacer->recipient_sum + n_recipients - pacer->max_recipients;
  for (GList *l = pacer->recipients.head; l != NULL; l = l->next)
    {
      const RecipientEntry *entry = l->data;

      freed += entry->n;
      if (freed >= need)
        return entry->time + pacer->recipient_window - t;
    }
  g_assert_not_reached ();
  return -1;
}

gint64
mb_pacer_delay_for_send (MbPacer *pacer, guint n_recipients)
{
  gint64 recipients_delay;

  g_return_val_if_fail (pacer != NULL, 0);

  recipients_delay = mb_pacer_delay_for_recipients (pacer, n_recipients);
  if (recipients_delay < 0)
    return -1;
  return MAX (recipients_delay, mb_pacer_delay_for_message (pacer));
}

/* Appends a send at @t, not before the last one, to the message window. */
static void
push_send (MbPacer *pacer, gint64 t)
{
  if (!has_message_limit (pacer))
    return;
  if (pacer->n_sends < pacer->max_messages)
    {
      pacer->sends[(pacer->head + pacer->n_sends) % pacer->max_messages] = t;
      pacer->n_sends++;
    }
  else
    {
      pacer->sends[pacer->head] = t;
      pacer->head = (pacer->head + 1) % pacer->max_messages;
    }
}

/* Appends @n recipients at @t, not before the last entry. */
static void
push_recipients (MbPacer *pacer, gint64 t, guint n)
{
  RecipientEntry *last;

  if (!has_recipient_limit (pacer) || n == 0)
    return;
  expire_recipients (pacer, t);
  last = g_queue_peek_tail (&pacer->recipients);
  if (last != NULL && last->time == t)
    last->n += n;
  else
    {
      RecipientEntry *entry = g_new (RecipientEntry, 1);

      entry->time = t;
      entry->n = n;
      g_queue_push_tail (&pacer->recipients, entry);
    }
  pacer->recipient_sum += n;
}

void
mb_pacer_record_message (MbPacer *pacer, guint n_recipients)
{
  gint64 t;

  g_return_if_fail (pacer != NULL);

  t = now (pacer);
  push_send (pacer, t);
  push_recipients (pacer, t, n_recipients);
}

void
mb_pacer_copy_counts (MbPacer *pacer, const MbPacer *from)
{
  g_return_if_fail (pacer != NULL && from != NULL);
  g_return_if_fail (pacer->n_sends == 0
                    && g_queue_is_empty (&pacer->recipients));

  for (guint i = 0; i < from->n_sends; i++)
    push_send (pacer, from->sends[(from->head + i) % from->max_messages]);
  for (GList *l = from->recipients.head; l != NULL; l = l->next)
    {
      const RecipientEntry *entry = l->data;

      push_recipients (pacer, entry->time, entry->n);
    }
}
