/* mb-scheduler-routes.c - the scheduler's routes: pacing, connections,
 * attempts
 *
 * WHAT IT DOES
 *   One RouteSlot per [route NAME]: its MbRoute, connection pool, sender
 *   policy and ready queue (the messages due on it, first come first
 *   served), and its urgent queue (messages the admin retried by id,
 *   sent first, also while the relay is paused).  The pump sends from the
 *   queues while the route is READY or FAILING, the pacer allows the next
 *   transaction and a connection is idle or may be opened; otherwise it
 *   arms the route's one timer for the pacer's or the back-off's delay,
 *   or waits for a connection to come back.
 *
 * GUARANTEES
 *   - Pacing: never more connections than the pacer allows, never more
 *     transactions in any window than its rate.  The pacer is asked as of
 *     a small margin ago (5 % of the window, 20 ms to 1 s) and every
 *     transaction is counted when it starts, so concurrent connections see
 *     each other and the upstream, which counts a little later than we
 *     do, never sees one more than the limit (M365-FACTS.md 3.1).
 *   - A message is busy from the start of its attempt until mb-delivery
 *     wrote its envelope; only then can it be picked again.
 *   - A failed connect defers the message that asked for it (so the log
 *     and the queue say why) and the others wait for the back-off.  A
 *     route that cannot sign in (NEEDS_SIGNIN, or paused for its secrets)
 *     defers nothing: its messages wait, attempts uncounted, until the
 *     sign-in is repaired (mb_scheduler_reload_credentials_async()).
 *   - Each route's sign-in problem and expiring secret reach the control
 *     object through "route-state-changed", like its state.
 *   - A slot retired by a reload (mb-scheduler-reload.c) starts nothing;
 *     each call counts in its slot, which is freed only after its last
 *     call ended and its last connection closed.
 *
 * WHAT IT DOES NOT DO
 *   It does not decide when a message is due (mb-scheduler.c) or talk
 *   SMTP (mb-connection-pool, mb-delivery).
 *
 * RFC 5321 4.5.4.1 (retry strategy), 4.5.3.1.8 (recipients per
 * transaction).
 */
#define G_LOG_DOMAIN "mb-scheduler"

#include "mb-scheduler-private.h"

#include "mb-delivery.h"
#include "mb-retry.h"

typedef struct
{
  MbScheduler  *self;   /* (owned) */
  RouteSlot    *slot;   /* (unowned) alive while it counts the call */
  Entry        *entry;  /* (unowned) BUSY while the call runs */
  MbSmtpClient *client; /* (owned) (nullable) */
} Call;

static Call *
call_new (MbScheduler *self, RouteSlot *slot, Entry *entry)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->slot = slot;
  call->entry = entry;
  slot->n_calls++;
  return call;
}

/* Frees @call, then pumps its slot (the call no longer counts there, so a
 * retired slot may go). */
static void
call_end (Call *call)
{
  g_autoptr (MbScheduler) self = g_steal_pointer (&call->self);
  RouteSlot *slot = call->slot;

  slot->n_calls--;
  g_clear_object (&call->client);
  g_free (call);
  mb_scheduler_pump (slot);
}

/* Routes: pacing, connections, attempts */

static gint64
pacer_now_cb (gpointer user_data)
{
  RouteSlot   *slot = user_data;
  MbScheduler *self = slot->scheduler;
  gint64 now = self->custom_clock ? self->clock.now (self->clock.user_data)
                                  : g_get_monotonic_time ();

  return now - slot->pacer_skew;
}

/* Microseconds until the route may send a transaction of @n recipients.
 * Asked as of a margin ago: our send times are taken before the upstream
 * counts the message, and jitter between the two must not push a window
 * over the limit. */
static gint64
pacer_delay (RouteSlot *slot, guint n)
{
  MbPacer *pacer = mb_route_get_pacer (slot->route);
  gint64   window = mb_pacer_get_message_window (pacer);
  gint64   delay;

  slot->pacer_skew
      = window > 0 ? CLAMP (window / 20, 20000, G_USEC_PER_SEC) : 0;
  delay = mb_pacer_delay_for_send (pacer, n);
  slot->pacer_skew = 0;
  return delay;
}

static gboolean
on_slot_timer_cb (gpointer user_data)
{
  RouteSlot *slot = user_data;

  slot->timer = 0;
  mb_scheduler_pump (slot);
  return G_SOURCE_REMOVE;
}

static void
arm_slot_timer (RouteSlot *slot, gint64 delay)
{
  MbScheduler *self = slot->scheduler;

  mb_scheduler_clear_timeout (self, &slot->timer);
  slot->timer = mb_scheduler_add_timeout (self, delay, on_slot_timer_cb, slot);
}

/* The recipients of @entry's next transaction on @slot's route: indexes
 * into its recipients. */
static GArray *
next_batch (RouteSlot *slot, Entry *entry, gint64 now)
{
  const MbEnvelope *envelope = entry->envelope;
  g_autoptr (GArray) due = mb_retry_due_recipients (envelope, now);
  g_autoptr (GPtrArray) addresses = g_ptr_array_new ();
  g_autoptr (GPtrArray) batches = NULL;
  g_autoptr (GHashTable) index_of = g_hash_table_new (NULL, NULL);
  GArray    *batch = g_array_new (FALSE, FALSE, sizeof (guint));
  GPtrArray *first;

  for (guint i = 0; i < due->len; i++)
    {
      guint        index = g_array_index (due, guint, i);
      MbRecipient *recipient = envelope->recipients->pdata[index];

      g_ptr_array_add (addresses, recipient->address);
      g_hash_table_insert (index_of, recipient->address,
                           GUINT_TO_POINTER (index));
    }
  if (addresses->len == 0)
    return batch;
  batches = mb_route_split_recipients (slot->route, addresses);
  first = batches->pdata[0];
  for (guint i = 0; i < first->len; i++)
    {
      guint index
          = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, first->pdata[i]));

      g_array_append_val (batch, index);
    }
  return batch;
}

/* (nullable) The message to send next on @slot: one the admin retried
 * first, then the others in order, unless the relay is paused. */
static Entry *
next_entry (RouteSlot *slot)
{
  if (!g_queue_is_empty (&slot->urgent))
    return g_queue_peek_head (&slot->urgent);
  if (slot->scheduler->paused)
    return NULL;
  return g_queue_peek_head (&slot->ready);
}

/* How many messages @slot could send now (see next_entry()). */
static guint
count_sendable (RouteSlot *slot)
{
  return slot->urgent.length
         + (slot->scheduler->paused ? 0 : slot->ready.length);
}

static void
delivery_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call        *call = user_data;
  MbScheduler *self = call->self;
  Entry       *entry = call->entry;
  g_autoptr (MbDeliveryResult) outcome = mb_delivery_run_finish (result);

  mb_envelope_free (entry->envelope);
  entry->envelope = g_steal_pointer (&outcome->envelope);
  entry->dirty = outcome->write_error != NULL;
  if (call->client != NULL)
    mb_connection_pool_release (call->slot->pool, call->client);

  if (mb_scheduler_end_busy (self, entry))
    mb_scheduler_process (self, entry);
  mb_scheduler_queue_changed (self);
  call_end (call);
}

static void
start_delivery (RouteSlot    *slot,
                Entry        *entry,
                GArray       *batch,
                MbSmtpClient *client,
                const GError *connect_error)
{
  MbScheduler      *self = slot->scheduler;
  MbDeliveryRequest request = { 0 };
  Call             *call = call_new (self, slot, entry);

  mb_scheduler_set_busy (self, entry);
  entry->last_attempt = mb_scheduler_now (self);
  if (client != NULL)
    {
      call->client = g_object_ref (client);
      /* Counted now, before the send: concurrent connections must see
       * each other's transactions. */
      mb_pacer_record_message (mb_route_get_pacer (slot->route), batch->len);
    }

  request.spool = self->spool;
  request.log = self->log;
  request.route = slot->route;
  request.client = client;
  request.connect_error = connect_error;
  request.sender_policy = slot->policy;
  request.retry_schedule = self->config->retry_schedule;
  request.envelope = entry->envelope;
  request.batch = batch;
  request.now = entry->last_attempt;
  mb_delivery_run_async (&request, delivery_done_cb, call);
}

static void
open_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call        *call = user_data;
  RouteSlot   *slot = call->slot;
  MbScheduler *self = call->self;
  g_autoptr (MbSmtpClient) client = NULL;
  g_autoptr (GError) error = NULL;

  MbRouteState state;

  slot->n_connecting--;
  client = mb_connection_pool_open_finish (MB_CONNECTION_POOL (source), result,
                                           &error);
  state = mb_route_get_state (slot->route);
  if (client != NULL)
    mb_connection_pool_release (slot->pool, client);
  else if (!self->stopped && next_entry (slot) != NULL
           && state != MB_ROUTE_STATE_NEEDS_SIGNIN
           && state != MB_ROUTE_STATE_PAUSED
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      /* The message that asked for the connection learns why there is
       * none; the others wait for the back-off. */
      Entry *entry = next_entry (slot);
      g_autoptr (GArray) batch
          = next_batch (slot, entry, mb_scheduler_now (self));

      if (batch->len > 0)
        start_delivery (slot, entry, batch, NULL, error);
    }
  call_end (call);
}

void
mb_scheduler_pump (RouteSlot *slot)
{
  MbScheduler *self = slot->scheduler;
  MbRouteState state = mb_route_get_state (slot->route);
  Entry       *entry;

  if (slot->retired)
    {
      mb_scheduler_pump_retired (slot);
      return;
    }
  /* Connections its old settings still hold count against the limit. */
  if (self->retired->len > 0 || slot->borrowed > 0)
    mb_scheduler_sync_borrowed (slot);
  /* The secrets of before the reload may be the wrong ones. */
  if (slot->awaiting_secrets)
    return;
  /* A paused relay still sends what the admin retried by hand
   * (next_entry()); a paused route or one without sign-in sends
   * nothing. */
  if (!self->started || self->stopped || state == MB_ROUTE_STATE_PAUSED
      || state == MB_ROUTE_STATE_NEEDS_SIGNIN)
    return;

  while ((entry = next_entry (slot)) != NULL)
    {
      g_autoptr (GArray) batch
          = next_batch (slot, entry, mb_scheduler_now (self));
      g_autoptr (MbSmtpClient) client = NULL;
      gint64 delay;

      if (batch->len == 0)
        {
          /* Not due after all: look again in a second. */
          mb_scheduler_hold (self, entry, mb_scheduler_now (self) + 1);
          mb_scheduler_end_deliver_now (entry);
          continue;
        }
      delay = pacer_delay (slot, batch->len);
      if (delay != 0)
        {
          arm_slot_timer (slot, delay > 0 ? delay : 60 * G_USEC_PER_SEC);
          return;
        }
      client = mb_connection_pool_take_idle (slot->pool);
      if (client == NULL)
        {
          delay = mb_connection_pool_delay_for_open (slot->pool);
          if (delay > 0)
            arm_slot_timer (slot, delay);
          if (delay != 0 || slot->n_connecting >= count_sendable (slot))
            return;
          slot->n_connecting++;
          mb_connection_pool_open_async (slot->pool, open_done_cb,
                                         call_new (self, slot, NULL));
          continue;
        }
      start_delivery (slot, entry, batch, client, NULL);
    }
}

static void
on_route_state_changed_cb (MbRoute     *route,
                           MbRouteState old_state,
                           gpointer     user_data)
{
  RouteSlot   *slot = user_data;
  MbScheduler *self = slot->scheduler;

  g_signal_emit (self, mb_scheduler_signals[SIGNAL_ROUTE_STATE_CHANGED], 0,
                 route);
  mb_scheduler_queue_changed (self);
  mb_scheduler_pump (slot);
}

static void
on_slot_freed_cb (MbConnectionPool *pool, gpointer user_data)
{
  mb_scheduler_pump (user_data);
}

static void
on_signin_problem_notify_cb (GObject    *object,
                             GParamSpec *pspec,
                             gpointer    user_data)
{
  RouteSlot *slot = user_data;

  g_signal_emit (slot->scheduler,
                 mb_scheduler_signals[SIGNAL_ROUTE_STATE_CHANGED], 0,
                 slot->route);
}

void
mb_scheduler_route_slot_free (RouteSlot *slot)
{
  mb_scheduler_clear_timeout (slot->scheduler, &slot->timer);
  g_clear_signal_handler (&slot->state_handler, slot->route);
  g_clear_signal_handler (&slot->slot_handler, slot->pool);
  if (slot->pool != NULL)
    g_clear_signal_handler (&slot->problem_handler,
                            mb_connection_pool_get_signin (slot->pool));
  g_clear_pointer (&slot->expiry_warning, g_free);
  g_queue_clear (&slot->ready);
  g_queue_clear (&slot->urgent);
  g_clear_object (&slot->pool);
  g_clear_object (&slot->route);
  g_clear_pointer (&slot->policy, mb_sender_policy_config_free);
  g_clear_pointer (&slot->config, mb_relay_config_unref);
  g_free (slot);
}

void
mb_scheduler_add_routes (MbScheduler *self)
{
  for (guint i = 0;
       self->config->routes != NULL && i < self->config->routes->len; i++)
    {
      const MbRouteConfig *config = self->config->routes->pdata[i];
      RouteSlot           *slot;
      RouteSlot           *old;
      MbSenderPolicyMode   mode;

      if (g_hash_table_contains (self->slots, config->name))
        continue;
      slot = g_new0 (RouteSlot, 1);
      slot->scheduler = self;
      slot->config = mb_relay_config_ref (self->config);
      slot->settings = config;
      slot->route = mb_route_new (config);
      mb_pacer_set_clock (mb_route_get_pacer (slot->route), pacer_now_cb, slot);
      /* Replaced by a reload: the upstream still counts what the old
       * settings sent (the same method; another one is another limit). */
      old = mb_scheduler_find_retired (self, config->name);
      if (old != NULL && mb_route_get_method (old->route) == config->method)
        mb_pacer_copy_counts (mb_route_get_pacer (slot->route),
                              mb_route_get_pacer (old->route));
      slot->policy = mb_sender_policy_config_new_from_route (
          config, self->config->admin_address);
      if (config->sender_policy != NULL
          && mb_sender_policy_mode_from_string (config->sender_policy, &mode))
        slot->policy->mode = mode;
      if (config->send_as != NULL)
        {
          g_strfreev (slot->policy->send_as);
          slot->policy->send_as = g_strdupv (config->send_as);
        }
      g_queue_init (&slot->ready);
      g_queue_init (&slot->urgent);
      g_hash_table_insert (self->slots, g_strdup (config->name), slot);

      slot->state_handler
          = g_signal_connect (slot->route, "state-changed",
                              G_CALLBACK (on_route_state_changed_cb), slot);
      slot->pool = mb_connection_pool_new (
          slot->route, config, self->credentials, self->config->hostname,
          self->config->retry_schedule);
      mb_connection_pool_set_idle_timeout (slot->pool, self->idle_timeout);
      slot->slot_handler = g_signal_connect (
          slot->pool, "slot-freed", G_CALLBACK (on_slot_freed_cb), slot);
      slot->problem_handler = g_signal_connect (
          mb_connection_pool_get_signin (slot->pool), "notify::problem",
          G_CALLBACK (on_signin_problem_notify_cb), slot);
      g_info ("route=%s method=%s state=%s", config->name,
              mb_route_method_to_string (config->method),
              mb_route_state_to_string (mb_route_get_state (slot->route)));
    }
}

/* Sign-in */

typedef struct
{
  guint pending;
} ReloadData;

static void
route_reloaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ReloadData *data = g_task_get_task_data (task);

  /* Never fails: a route that cannot sign in says so in its state. */
  mb_route_signin_reload_finish (MB_ROUTE_SIGNIN (source), result, NULL);
  if (--data->pending == 0)
    g_task_return_boolean (task, TRUE);
}

void
mb_scheduler_reload_credentials_async (MbScheduler        *self,
                                       const char         *route,
                                       MbCredentials      *credentials,
                                       GAsyncReadyCallback callback,
                                       gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GPtrArray) released = g_ptr_array_new ();
  ReloadData    *data = g_new0 (ReloadData, 1);
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_if_fail (MB_IS_SCHEDULER (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, mb_scheduler_reload_credentials_async);
  g_task_set_task_data (task, data, g_free);
  if (credentials != NULL)
    g_set_object (&self->credentials, credentials);
  if (route != NULL && !g_hash_table_contains (self->slots, route))
    {
      g_task_return_new_error (task, MB_SCHEDULER_ERROR,
                               MB_SCHEDULER_ERROR_NOT_FOUND,
                               "No route “%s” is configured", route);
      return;
    }
  /* One extra count, so no reload completing early ends the task. */
  data->pending = 1;
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    {
      if (route != NULL && g_strcmp0 (route, mb_route_get_name (slot->route)))
        continue;
      data->pending++;
      /* A new sign-in is the admin's answer to the route's trouble. */
      mb_connection_pool_reset_backoff (slot->pool);
      mb_route_signin_reload_async (mb_connection_pool_get_signin (slot->pool),
                                    self->credentials, route_reloaded_cb,
                                    g_object_ref (task));
      /* A connection asks for its sign-in only once this read is done. */
      if (slot->awaiting_secrets)
        {
          slot->awaiting_secrets = FALSE;
          g_ptr_array_add (released, slot);
        }
    }
  for (guint i = 0; i < released->len; i++)
    mb_scheduler_pump (released->pdata[i]);
  if (--data->pending == 0)
    g_task_return_boolean (task, TRUE);
}

gboolean
mb_scheduler_reload_credentials_finish (MbScheduler  *self,
                                        GAsyncResult *result,
                                        GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
mb_scheduler_get_signin_problem (MbScheduler *self, const char *name)
{
  RouteSlot *slot;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), NULL);

  slot = g_hash_table_lookup (self->slots, name);
  return slot != NULL ? mb_route_signin_get_problem (
             mb_connection_pool_get_signin (slot->pool))
                      : NULL;
}

void
mb_scheduler_set_expiring_secrets (MbScheduler *self,
                                   GPtrArray   *expiring,
                                   gint64       now)
{
  g_autoptr (GHashTable) warnings
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  /* route -> the client secret's expiry, for an application's renewal */
  g_autoptr (GHashTable) secrets
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  GHashTableIter iter;
  RouteSlot     *slot;

  g_return_if_fail (MB_IS_SCHEDULER (self));

  /* Soonest first: a route's first entry is its most urgent. */
  for (guint i = 0; expiring != NULL && i < expiring->len; i++)
    {
      const MbCredentialsExpiry *expiry = expiring->pdata[i];
      g_autoptr (GDateTime) when
          = g_date_time_new_from_unix_utc (expiry->expires_at);
      g_autofree char *date = g_date_time_format (when, "%Y-%m-%d");
      gint64           days = (expiry->expires_at - now) / (24 * 3600);

      if (g_str_equal (expiry->kind, MB_CREDENTIALS_KIND_CLIENT_SECRET))
        g_hash_table_insert (
            secrets, expiry->route,
            g_memdup2 (&expiry->expires_at, sizeof expiry->expires_at));
      if (g_hash_table_contains (warnings, expiry->route))
        continue;
      g_hash_table_insert (
          warnings, expiry->route,
          expiry->expires_at <= now
              ? g_strdup_printf ("the %s expired on %s: store a new one",
                                 expiry->kind, date)
              : g_strdup_printf ("the %s expires on %s (in %" G_GINT64_FORMAT
                                 " days): store a new one before then",
                                 expiry->kind, date, days));
    }
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    {
      const char *name = mb_route_get_name (slot->route);
      const char *warning = g_hash_table_lookup (warnings, name);
      gint64     *secret = g_hash_table_lookup (secrets, name);
      gint64      secret_expires = secret != NULL ? *secret : 0;

      if (g_strcmp0 (warning, slot->expiry_warning) == 0
          && secret_expires == slot->secret_expires)
        continue;
      g_free (slot->expiry_warning);
      slot->expiry_warning = g_strdup (warning);
      slot->secret_expires = secret_expires;
      g_signal_emit (self, mb_scheduler_signals[SIGNAL_ROUTE_STATE_CHANGED], 0,
                     slot->route);
    }
}

const char *
mb_scheduler_get_expiry_warning (MbScheduler *self, const char *name)
{
  RouteSlot *slot;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), NULL);

  slot = g_hash_table_lookup (self->slots, name);
  return slot != NULL ? slot->expiry_warning : NULL;
}

gint64
mb_scheduler_get_secret_expiry (MbScheduler *self, const char *name)
{
  RouteSlot *slot;

  g_return_val_if_fail (MB_IS_SCHEDULER (self), 0);

  slot = g_hash_table_lookup (self->slots, name);
  return slot != NULL ? slot->secret_expires : 0;
}
