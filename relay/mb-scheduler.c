/* mb-scheduler.c - what to deliver when
 *
 * WHAT IT DOES
 *   Keeps every queued envelope in memory (id -> entry) and a timeline of
 *   the entries ordered by the time each needs attention next (its
 *   earliest next attempt, expiry or delay notice, mb-retry), with ONE
 *   timer for the earliest.  An entry whose recipients are due moves into
 *   its route's ready queue; the route's pump sends from that queue as
 *   long as the route is READY (or FAILING), the pacer allows the next
 *   transaction and a connection is idle or may be opened.  Each attempt
 *   is one transaction of one message (mb-delivery), so a recipient list
 *   larger than the route allows (500 per submission, 200 per domain on
 *   the MX endpoint) becomes several transactions, each paced.  Finished,
 *   expired and delay-noticed messages go to mb-scheduler-reports.c;
 *   envelopes come in through mb-scheduler-load.c.  This file holds the
 *   index, the timeline and the public API.
 *
 * GUARANTEES
 *   - Each recipient's new state is on disk (mb_spool_update_envelope,
 *     fsynced) before the message's next attempt starts: an entry is busy
 *     from the start of an attempt until its envelope write returned, and
 *     an entry whose write failed is written again before anything else.
 *   - Costs per message are O(log n) (the timeline is a GSequence, the
 *     ready queues are FIFO lists): 100,000 queued messages never cost a
 *     scan per tick or per delivery.  Only whole-queue requests (retry
 *     all, reload, the deferred count) walk the queue.
 *   - Pacing and connections are the routes' part (mb-scheduler-routes.c):
 *     never more than Microsoft's limits allow, see there.
 *   - A PAUSED or NEEDS_SIGNIN route sends nothing; its messages stay
 *     queued (they still expire and get their delay notice).  A message
 *     without a configured route waits the same way, with one log line.
 *     A paused relay sends only a message the admin retried by id
 *     (deliver_now, one attempt), first on its route.
 *   - Writes, expiry, delay notices and failure reports run at most
 *     MB_SCHEDULER_MAX_STEPS at once, the others wait in arrival order
 *     (mb-scheduler-reports.c): a large old queue at startup never opens
 *     more files than that, and no report is dropped.  Envelopes are
 *     loaded one by one in one thread; attempts are bounded by the
 *     routes' connections.
 *   - Nothing blocks the main loop: envelopes are read in a worker thread,
 *     written by the spool off the loop.
 *
 * WHAT IT DOES NOT DO
 *   It does not talk SMTP (mb-smtp-client via mb-connection-pool and
 *   mb-delivery), build reports (mb-dsn via mb-bounce), or persist pacing
 *   counts across restarts (mb-pacer), or put a reload's route changes in
 *   force (mb-scheduler-reload.c).
 *
 * RFC 5321 4.5.4.1 (retry strategy), 6.1 (reliable delivery); RFC 3464
 * (delay notices and failure reports).
 */
#define G_LOG_DOMAIN "mb-scheduler"

#include "mb-scheduler-private.h"

#include "mb-delivery.h"
#include "mb-retry.h"

#include <string.h>

guint mb_scheduler_signals[N_SCHEDULER_SIGNALS];

G_DEFINE_FINAL_TYPE (MbScheduler, mb_scheduler, G_TYPE_OBJECT)

GQuark
mb_scheduler_error_quark (void)
{
  return g_quark_from_static_string ("mb-scheduler-error-quark");
}

/* The default clock */

static gint64
real_now (gpointer user_data)
{
  return g_get_real_time ();
}

static guint
real_add_timeout (guint       interval,
                  GSourceFunc function,
                  gpointer    data,
                  gpointer    user_data)
{
  return g_timeout_add (interval, function, data);
}

static void
real_remove_timeout (guint id, gpointer user_data)
{
  g_source_remove (id);
}

guint
mb_scheduler_add_timeout (MbScheduler *self,
                          gint64       delay,
                          GSourceFunc  function,
                          gpointer     data)
{
  /* Round up, so a timer never fires before its time; wake at least once
   * a day, which keeps the interval within guint. */
  gint64 ms = (MAX (delay, 0) + 999) / 1000;

  return self->clock.add_timeout ((guint)MIN (ms, 24 * 3600 * 1000), function,
                                  data, self->clock.user_data);
}

void
mb_scheduler_clear_timeout (MbScheduler *self, guint *id)
{
  if (*id == 0)
    return;
  self->clock.remove_timeout (*id, self->clock.user_data);
  *id = 0;
}

gint64
mb_scheduler_now (MbScheduler *self)
{
  return self->clock.now (self->clock.user_data) / G_USEC_PER_SEC;
}

/* Entries and the timeline */

/* (transfer container) Every entry, for the rare whole-queue actions. */
static GPtrArray *
list_entries (MbScheduler *self)
{
  GPtrArray *entries
      = g_ptr_array_sized_new (g_hash_table_size (self->entries));
  GHashTableIter iter;
  gpointer       entry;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &entry))
    g_ptr_array_add (entries, entry);
  return entries;
}

static void
entry_free (Entry *entry)
{
  g_free (entry->id);
  mb_envelope_free (entry->envelope);
  g_free (entry);
}

static gint
compare_entries (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Entry *x = a;
  const Entry *y = b;

  if (x->wake != y->wake)
    return x->wake < y->wake ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static gboolean on_timeline_timer_cb (gpointer user_data);

static void
rearm_timer (MbScheduler *self)
{
  GSequenceIter *first = g_sequence_get_begin_iter (self->timeline);
  Entry         *entry;

  if (g_sequence_iter_is_end (first) || self->stopped)
    {
      mb_scheduler_clear_timeout (self, &self->timer);
      return;
    }
  entry = g_sequence_get (first);
  if (self->timer != 0 && self->timer_at == entry->wake)
    return;
  mb_scheduler_clear_timeout (self, &self->timer);
  self->timer_at = entry->wake;
  self->timer = mb_scheduler_add_timeout (
      self,
      entry->wake * G_USEC_PER_SEC - self->clock.now (self->clock.user_data),
      on_timeline_timer_cb, self);
}

static void
timeline_remove (MbScheduler *self, Entry *entry)
{
  if (entry->iter == NULL)
    return;
  g_sequence_remove (entry->iter);
  entry->iter = NULL;
}

static void
timeline_set (MbScheduler *self, Entry *entry, gint64 wake)
{
  timeline_remove (self, entry);
  entry->wake = wake;
  entry->iter
      = g_sequence_insert_sorted (self->timeline, entry, compare_entries, NULL);
}

/* The ready queue @entry is in (or goes to). */
static GQueue *
ready_queue_of (RouteSlot *slot, Entry *entry)
{
  return entry->deliver_now ? &slot->urgent : &slot->ready;
}

static void
ready_remove (Entry *entry)
{
  if (entry->link == NULL)
    return;
  g_queue_delete_link (ready_queue_of (entry->slot, entry), entry->link);
  entry->link = NULL;
  entry->slot = NULL;
}

static void
ready_add (RouteSlot *slot, Entry *entry)
{
  GQueue *queue = ready_queue_of (slot, entry);

  if (entry->slot == slot && entry->link != NULL)
    return;
  ready_remove (entry);
  g_queue_push_tail (queue, entry);
  entry->link = queue->tail;
  entry->slot = slot;
  entry->place = ENTRY_READY;
}

void
mb_scheduler_end_deliver_now (Entry *entry)
{
  g_return_if_fail (entry->link == NULL);

  entry->deliver_now = FALSE;
}

const char *
mb_scheduler_route_name_for (MbScheduler *self, const MbEnvelope *envelope)
{
  const MbRelayConfig *config = self->config;

  if (envelope->route != NULL)
    return envelope->route;
  if (config->route != NULL)
    return config->route;
  /* One route needs no [relay] route= to be chosen. */
  if (config->routes != NULL && config->routes->len == 1)
    return ((MbRouteConfig *)config->routes->pdata[0])->name;
  return NULL;
}

static RouteSlot *
slot_for (MbScheduler *self, const MbEnvelope *envelope)
{
  const char *name = mb_scheduler_route_name_for (self, envelope);

  return name != NULL ? g_hash_table_lookup (self->slots, name) : NULL;
}

static gint64
hold_wake (MbScheduler *self, const MbEnvelope *envelope)
{
  return MIN (
      mb_retry_expiry_time (envelope, self->config->expire_after),
      mb_retry_delay_notice_time (envelope, self->config->delay_notice_after));
}

static void
note_no_route (MbScheduler *self, Entry *entry)
{
  const char *name = mb_scheduler_route_name_for (self, entry->envelope);

  if (self->no_route_logged)
    return;
  self->no_route_logged = TRUE;
  g_log_structured (
      G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MB_QUEUE_ID", entry->id, "MESSAGE",
      "queue-id=%s state=no-route-configured route=%s: %s; messages stay "
      "queued until a route is configured",
      entry->id, name != NULL ? name : "none",
      name != NULL ? "no such [route] is configured"
                   : "no [route] is configured");
}

void
mb_scheduler_process (MbScheduler *self, Entry *entry)
{
  const MbEnvelope *envelope = entry->envelope;
  gint64            now = mb_scheduler_now (self);
  RouteSlot        *slot;
  gboolean          follows = entry->step_follows;

  g_return_if_fail (entry->place != ENTRY_BUSY);

  entry->step_follows = FALSE;
  /* A pending entry's step decides again when it starts. */
  if (self->stopped || entry->place == ENTRY_PENDING)
    return;
  /* Writes, expiry and reports wait for a free step (they hold files
   * open: all started at once, a large old queue runs out of them). */
  if (mb_scheduler_step_is_due (self, entry, now))
    {
      mb_scheduler_queue_step (self, entry, follows);
      return;
    }

  slot = slot_for (self, envelope);
  if (slot != NULL && mb_retry_due_time (envelope) <= now)
    {
      ready_add (slot, entry);
      timeline_set (self, entry, hold_wake (self, envelope));
      rearm_timer (self);
      mb_scheduler_pump (slot);
      return;
    }
  ready_remove (entry);
  /* Nothing due (or no route): the admin's "now" has been answered. */
  mb_scheduler_end_deliver_now (entry);
  entry->place = ENTRY_WAITING;
  if (slot == NULL)
    {
      note_no_route (self, entry);
      timeline_set (self, entry, hold_wake (self, envelope));
    }
  else
    timeline_set (self, entry,
                  mb_retry_wake_time (envelope,
                                      self->config->delay_notice_after,
                                      self->config->expire_after));
  rearm_timer (self);
}

void
mb_scheduler_set_busy (MbScheduler *self, Entry *entry)
{
  ready_remove (entry);
  timeline_remove (self, entry);
  mb_scheduler_unqueue_step (self, entry);
  entry->place = ENTRY_BUSY;
  rearm_timer (self);
}

static gboolean
on_steps_idle_cb (gpointer user_data)
{
  MbScheduler *self = user_data;

  self->steps_idle = 0;
  mb_scheduler_run_steps (self);
  return G_SOURCE_REMOVE;
}

gboolean
mb_scheduler_end_busy (MbScheduler *self, Entry *entry)
{
  entry->place = ENTRY_WAITING;
  if (entry->in_step)
    {
      /* The freed step starts the next waiting one from an idle, after
       * the caller has queued this entry's own next step (first). */
      entry->in_step = FALSE;
      entry->step_follows = TRUE;
      self->n_steps--;
      if (self->steps_idle == 0 && !g_queue_is_empty (&self->steps))
        self->steps_idle = g_idle_add (on_steps_idle_cb, self);
    }
  if (entry->dropped)
    {
      entry_free (entry);
      return FALSE;
    }
  return TRUE;
}

/* Forgets @entry (gone from the spool): at once, or when its busy state
 * ends. */
void
mb_scheduler_forget (MbScheduler *self, Entry *entry)
{
  ready_remove (entry);
  timeline_remove (self, entry);
  mb_scheduler_unqueue_step (self, entry);
  g_hash_table_steal (self->entries, entry->id);
  if (entry->place == ENTRY_BUSY)
    entry->dropped = TRUE;
  else
    entry_free (entry);
  rearm_timer (self);
  mb_scheduler_queue_changed (self);
}

void
mb_scheduler_hold (MbScheduler *self, Entry *entry, gint64 wake)
{
  ready_remove (entry);
  mb_scheduler_unqueue_step (self, entry);
  entry->step_follows = FALSE;
  entry->place = ENTRY_WAITING;
  timeline_set (self, entry, wake);
  rearm_timer (self);
}

static gboolean
on_timeline_timer_cb (gpointer user_data)
{
  MbScheduler *self = user_data;
  gint64       now = mb_scheduler_now (self);
  g_autoptr (GPtrArray) due = g_ptr_array_new ();

  self->timer = 0;
  while (!g_sequence_is_empty (self->timeline))
    {
      GSequenceIter *first = g_sequence_get_begin_iter (self->timeline);
      Entry         *entry = g_sequence_get (first);

      if (entry->wake > now)
        break;
      timeline_remove (self, entry);
      g_ptr_array_add (due, entry);
    }
  for (guint i = 0; i < due->len; i++)
    {
      Entry *entry = due->pdata[i];

      if (entry->place != ENTRY_BUSY)
        mb_scheduler_process (self, entry);
    }
  rearm_timer (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_changed_idle_cb (gpointer user_data)
{
  MbScheduler *self = user_data;

  self->changed_idle = 0;
  g_signal_emit (self, mb_scheduler_signals[SIGNAL_QUEUE_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

void
mb_scheduler_queue_changed (MbScheduler *self)
{
  if (self->changed_idle == 0)
    self->changed_idle = g_idle_add (on_changed_idle_cb, self);
}

/* Overrides */

static void
mb_scheduler_dispose (GObject *object)
{
  MbScheduler *self = MB_SCHEDULER (object);

  mb_scheduler_stop (self);
  g_clear_signal_handler (&self->committed_handler, self->spool);
  g_clear_signal_handler (&self->removed_handler, self->spool);
  g_clear_handle_id (&self->changed_idle, g_source_remove);
  g_clear_handle_id (&self->steps_idle, g_source_remove);
  G_OBJECT_CLASS (mb_scheduler_parent_class)->dispose (object);
}

static void
mb_scheduler_finalize (GObject *object)
{
  MbScheduler *self = MB_SCHEDULER (object);

  g_clear_pointer (&self->slots, g_hash_table_unref);
  g_clear_pointer (&self->retired, g_ptr_array_unref);
  g_queue_clear (&self->steps);
  g_clear_pointer (&self->timeline, g_sequence_free);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->recovered, g_ptr_array_unref);
  g_clear_object (&self->spool);
  g_clear_pointer (&self->config, mb_relay_config_unref);
  g_clear_object (&self->credentials);
  g_clear_object (&self->log);
  G_OBJECT_CLASS (mb_scheduler_parent_class)->finalize (object);
}

static void
mb_scheduler_class_init (MbSchedulerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = mb_scheduler_dispose;
  object_class->finalize = mb_scheduler_finalize;

  mb_scheduler_signals[SIGNAL_MESSAGE_DELIVERED] = g_signal_new (
      "message-delivered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  mb_scheduler_signals[SIGNAL_MESSAGE_FAILED] = g_signal_new (
      "message-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  mb_scheduler_signals[SIGNAL_QUEUE_CHANGED]
      = g_signal_new ("queue-changed", G_TYPE_FROM_CLASS (klass),
                      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  mb_scheduler_signals[SIGNAL_ROUTE_STATE_CHANGED] = g_signal_new (
      "route-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
      NULL, NULL, NULL, G_TYPE_NONE, 1, MB_TYPE_ROUTE);
}

static void
mb_scheduler_init (MbScheduler *self)
{
  self->clock.now = real_now;
  self->clock.add_timeout = real_add_timeout;
  self->clock.remove_timeout = real_remove_timeout;
  self->idle_timeout = MB_CONNECTION_POOL_DEFAULT_IDLE_TIMEOUT;
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify)entry_free);
  self->timeline = g_sequence_new (NULL);
  g_queue_init (&self->steps);
  self->slots
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                               (GDestroyNotify)mb_scheduler_route_slot_free);
  self->retired = g_ptr_array_new_with_free_func (
      (GDestroyNotify)mb_scheduler_route_slot_free);
}

/* Public API */

const char *
mb_scheduler_state_to_string (MbSchedulerState state)
{
  switch (state)
    {
    case MB_SCHEDULER_STATE_RUNNING:
      return "running";
    case MB_SCHEDULER_STATE_PAUSED:
      return "paused";
    case MB_SCHEDULER_STATE_NO_ROUTE:
      return "no-route-configured";
    default:
      g_return_val_if_reached (NULL);
    }
}

MbScheduler *
mb_scheduler_new (MbSpool       *spool,
                  MbRelayConfig *config,
                  MbCredentials *credentials,
                  MbDeliveryLog *log)
{
  MbScheduler *self;

  g_return_val_if_fail (MB_IS_SPOOL (spool), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (MB_TYPE_SCHEDULER, NULL);
  self->spool = g_object_ref (spool);
  self->config = mb_relay_config_ref (config);
  self->credentials = credentials != NULL ? g_object_ref (credentials) : NULL;
  self->log = log != NULL ? g_object_ref (log) : NULL;
  return self;
}

void
mb_scheduler_set_clock (MbScheduler *self, const MbSchedulerClock *clock)
{
  g_return_if_fail (MB_IS_SCHEDULER (self));
  g_return_if_fail (clock != NULL && clock->now != NULL);
  g_return_if_fail (clock->add_timeout != NULL
                    && clock->remove_timeout != NULL);
  g_return_if_fail (g_hash_table_size (self->slots) == 0);

  self->clock = *clock;
  self->custom_clock = TRUE;
}

void
mb_scheduler_set_idle_timeout (MbScheduler *self, guint seconds)
{
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_if_fail (MB_IS_SCHEDULER (self));

  self->idle_timeout = MAX (seconds, 1);
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    mb_connection_pool_set_idle_timeout (slot->pool, self->idle_timeout);
}

void
mb_scheduler_start_async (MbScheduler        *self,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (MB_IS_SCHEDULER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, mb_scheduler_start_async);

  mb_scheduler_add_routes (self);
  self->committed_handler = g_signal_connect (
      self->spool, "committed", G_CALLBACK (mb_scheduler_on_spool_committed_cb),
      self);
  self->removed_handler
      = g_signal_connect (self->spool, "removed",
                          G_CALLBACK (mb_scheduler_on_spool_removed_cb), self);
  mb_scheduler_load_queue (self, cancellable, g_steal_pointer (&task));
}

gboolean
mb_scheduler_start_finish (MbScheduler  *self,
                           GAsyncResult *result,
                           GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
mb_scheduler_stop (MbScheduler *self)
{
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_if_fail (MB_IS_SCHEDULER (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  mb_scheduler_clear_timeout (self, &self->timer);
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    {
      mb_scheduler_clear_timeout (self, &slot->timer);
      mb_connection_pool_close_idle (slot->pool);
    }
}

void
mb_scheduler_set_paused (MbScheduler *self, gboolean paused)
{
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_if_fail (MB_IS_SCHEDULER (self));

  paused = !!paused;
  if (self->paused == paused)
    return;
  self->paused = paused;
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE",
                    "relay state=%s", paused ? "paused" : "running");
  mb_scheduler_queue_changed (self);
  if (paused)
    return;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    mb_scheduler_pump (slot);
}

gboolean
mb_scheduler_get_paused (MbScheduler *self)
{
  g_return_val_if_fail (MB_IS_SCHEDULER (self), FALSE);
  return self->paused;
}

MbSchedulerState
mb_scheduler_get_state (MbScheduler *self)
{
  g_return_val_if_fail (MB_IS_SCHEDULER (self), MB_SCHEDULER_STATE_RUNNING);

  if (self->paused)
    return MB_SCHEDULER_STATE_PAUSED;
  if (g_hash_table_size (self->slots) == 0
      && g_hash_table_size (self->entries) > 0)
    return MB_SCHEDULER_STATE_NO_ROUTE;
  return MB_SCHEDULER_STATE_RUNNING;
}

static void
retry_entry (MbScheduler *self, Entry *entry, gboolean now)
{
  for (guint i = 0; i < entry->envelope->recipients->len; i++)
    {
      MbRecipient *recipient = entry->envelope->recipients->pdata[i];

      if (recipient->state == MB_RECIPIENT_STATE_DEFERRED)
        recipient->next_attempt = 0;
    }
  if (now && !entry->deliver_now)
    {
      /* Moves it to the urgent queue (process puts it back). */
      ready_remove (entry);
      entry->deliver_now = TRUE;
    }
  if (entry->place != ENTRY_BUSY)
    mb_scheduler_process (self, entry);
}

gboolean
mb_scheduler_retry (MbScheduler *self, const char *id, GError **error)
{
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), FALSE);

  if (id != NULL && !g_hash_table_contains (self->entries, id))
    {
      g_set_error (error, MB_SCHEDULER_ERROR, MB_SCHEDULER_ERROR_NOT_FOUND,
                   "No queued message has the id %s", id);
      return FALSE;
    }
  /* The admin says "now": the connection back-off must not delay it. */
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    mb_connection_pool_reset_backoff (slot->pool);

  /* One message: the admin wants that one now, also while paused.  All
   * of them: a pause holds (resume is the way to release everything). */
  if (id != NULL)
    retry_entry (self, g_hash_table_lookup (self->entries, id), TRUE);
  else
    {
      g_autoptr (GPtrArray) entries = list_entries (self);

      for (guint i = 0; i < entries->len; i++)
        retry_entry (self, entries->pdata[i], FALSE);
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MESSAGE",
                    "retry queue-id=%s%s", id != NULL ? id : "all",
                    id != NULL && self->paused ? " paused=yes deliver=now"
                                               : "");
  mb_scheduler_queue_changed (self);
  return TRUE;
}

guint
mb_scheduler_get_length (MbScheduler *self)
{
  g_return_val_if_fail (MB_IS_SCHEDULER (self), 0);
  return g_hash_table_size (self->entries);
}

guint
mb_scheduler_get_n_deferred (MbScheduler *self)
{
  GHashTableIter iter;
  Entry         *entry;
  guint          n = 0;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), 0);

  /* O(n), but only when asked (status), never per delivery. */
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&entry))
    for (guint i = 0; i < entry->envelope->recipients->len; i++)
      if (((MbRecipient *)entry->envelope->recipients->pdata[i])->state
          == MB_RECIPIENT_STATE_DEFERRED)
        {
          n++;
          break;
        }
  return n;
}

const MbEnvelope *
mb_scheduler_lookup (MbScheduler *self, const char *id)
{
  Entry *entry;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), NULL);

  entry = g_hash_table_lookup (self->entries, id);
  return entry != NULL ? entry->envelope : NULL;
}

gboolean
mb_scheduler_is_busy (MbScheduler *self, const char *id)
{
  Entry *entry;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), FALSE);

  entry = g_hash_table_lookup (self->entries, id);
  return entry != NULL && entry->place == ENTRY_BUSY;
}

GPtrArray *
mb_scheduler_list_ids (MbScheduler *self)
{
  GPtrArray     *ids;
  GHashTableIter iter;
  gpointer       id;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), NULL);

  ids = g_ptr_array_sized_new (g_hash_table_size (self->entries));
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    g_ptr_array_add (ids, id);
  return ids;
}

GPtrArray *
mb_scheduler_get_routes (MbScheduler *self)
{
  GPtrArray     *routes = g_ptr_array_new ();
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), routes);

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    g_ptr_array_add (routes, slot->route);
  return routes;
}

MbRoute *
mb_scheduler_lookup_route (MbScheduler *self, const char *name)
{
  RouteSlot *slot;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), NULL);

  slot = g_hash_table_lookup (self->slots, name);
  return slot != NULL ? slot->route : NULL;
}
