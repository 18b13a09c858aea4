/* mb-scheduler-reload.c - a new configuration while messages are under way
 *
 * WHAT IT DOES
 *   mb_scheduler_set_config() compares each running route with the new
 *   file.  A route whose [route NAME] is the same (mb_route_config_equal(),
 *   and the same relay hostname, admin-address and retry-schedule, which
 *   its connections and sender policy were built with) keeps its slot as
 *   it is.  Any other slot is retired: it leaves the table of routes, its
 *   waiting messages are taken out of its queues, its pool is retired
 *   (connects cancelled, idle connections QUIT), and a new slot built from
 *   the new settings (a new MbRoute, pool and sign-in, which reads the
 *   route's secrets anew) takes the waiting messages at once.  A route
 *   that is gone gets no new slot: its messages wait like any message
 *   whose route is not configured (mb_scheduler_process(): held until
 *   their delay notice or expiry, with one "no-route-configured" line).
 *   The retired slot stays, out of sight of the control object, until its
 *   last attempt has been recorded and its last connection closed.
 *
 * GUARANTEES
 *   - No message is lost or sent twice by a reload: an attempt under way
 *     keeps its message busy; it ends on the old settings, its result is
 *     written and logged once, and only then is the message free for the
 *     next attempt, on the new slot.
 *   - No burst above the route's limits: the new slot starts with the
 *     pacing counts of the one it replaces when the method stays the same
 *     (sends and recipients in the windows, mb_pacer_copy_counts()), and
 *     while the retired slot still holds connections, as many connection
 *     slots of the new pacer are borrowed for them.
 *   - A new or replaced route that signs in never uses the secrets read
 *     before the reload: with a secret store it connects only once
 *     mb_scheduler_reload_credentials_async() (which the daemon calls
 *     after every reload, with the store read anew) has started reading
 *     its secrets again.
 *   - The control object sees only the routes in force: the retired
 *     slot's route emits nothing more, and each new or replaced route is
 *     announced with "route-state-changed".
 *   - A replaced route keeps its secret-expiry warning (it is about the
 *     stored secret, which a reload does not change), so the warning does
 *     not flicker off until the daemon's check after the reload, and
 *     stays when that check cannot run (the secrets file refused).
 *
 * WHAT IT DOES NOT DO
 *   It does not notice a changed file that a route only names (a client
 *   certificate rewritten in place) or new secrets: the daemon reads the
 *   secrets again after every reload (mb_scheduler_reload_credentials_*).
 *   A route removed and added back after its old attempts ended starts
 *   with empty pacing counts.
 */
#define G_LOG_DOMAIN "mb-scheduler"

#include "mb-scheduler-private.h"

#include <string.h>

static gboolean
schedules_equal (const GArray *a, const GArray *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->len == b->len
         && memcmp (a->data, b->data, a->len * sizeof (gint64)) == 0;
}

/* Whether @route reads anything from the secret store. */
static gboolean
uses_secrets (const MbRouteConfig *route)
{
  return route->auth != MB_ROUTE_AUTH_NONE || route->client_certificate != NULL;
}

/* Whether @slot was built from what @config says of its route. */
static gboolean
slot_is_current (RouteSlot *slot, const MbRelayConfig *config)
{
  const MbRouteConfig *route
      = mb_relay_config_lookup_route (config, slot->settings->name);

  return route != NULL && mb_route_config_equal (slot->settings, route)
         && g_strcmp0 (slot->config->hostname, config->hostname) == 0
         && g_strcmp0 (slot->config->admin_address, config->admin_address) == 0
         && schedules_equal (slot->config->retry_schedule,
                             config->retry_schedule);
}

/* The slot of @name among those just retired, or NULL. */
static RouteSlot *
find_replaced (GPtrArray *retired, const char *name)
{
  for (guint i = 0; i < retired->len; i++)
    {
      RouteSlot *slot = retired->pdata[i];

      if (g_str_equal (slot->settings->name, name))
        return slot;
    }
  return NULL;
}

/* Takes @slot out of service; its waiting messages are appended to
 * @moved, in the order they were to be sent. */
static void
retire_slot (MbScheduler *self, RouteSlot *slot, GPtrArray *moved)
{
  gint64 now = mb_scheduler_now (self);
  Entry *entry;

  slot->retired = TRUE;
  mb_scheduler_clear_timeout (self, &slot->timer);
  /* Its state is no longer the route's. */
  g_clear_signal_handler (&slot->state_handler, slot->route);
  g_clear_signal_handler (&slot->problem_handler,
                          mb_connection_pool_get_signin (slot->pool));
  /* Urgent first: the order next_entry() would have taken them in. */
  while ((entry = g_queue_peek_head (&slot->urgent)) != NULL
         || (entry = g_queue_peek_head (&slot->ready)) != NULL)
    {
      g_ptr_array_add (moved, entry);
      mb_scheduler_hold (self, entry, now);
    }
  g_info ("route=%s settings=%s attempts-under-way=%u connections=%u",
          slot->settings->name,
          mb_relay_config_lookup_route (self->config, slot->settings->name)
                  != NULL
              ? "changed"
              : "removed",
          slot->n_calls, mb_connection_pool_get_n_open (slot->pool));
  mb_connection_pool_retire (slot->pool);
  g_ptr_array_add (self->retired, slot);
}

RouteSlot *
mb_scheduler_find_retired (MbScheduler *self, const char *name)
{
  for (guint i = self->retired->len; i > 0; i--)
    {
      RouteSlot *slot = self->retired->pdata[i - 1];

      if (g_str_equal (slot->settings->name, name))
        return slot;
    }
  return NULL;
}

void
mb_scheduler_sync_borrowed (RouteSlot *slot)
{
  MbScheduler *self = slot->scheduler;
  MbPacer     *pacer = mb_route_get_pacer (slot->route);
  guint        open = 0;

  for (guint i = 0; i < self->retired->len; i++)
    {
      RouteSlot *old = self->retired->pdata[i];

      if (g_str_equal (old->settings->name, slot->settings->name))
        open += mb_connection_pool_get_n_open (old->pool);
    }
  for (; slot->borrowed > open; slot->borrowed--)
    mb_pacer_release_connection (pacer);
  /* Below the limit only: what does not fit waits for the next sync, and
   * the slot's own connections cannot grow meanwhile (the pacer is
   * full). */
  while (slot->borrowed < open && mb_pacer_try_acquire_connection (pacer))
    slot->borrowed++;
}

void
mb_scheduler_pump_retired (RouteSlot *slot)
{
  MbScheduler     *self = slot->scheduler;
  g_autofree char *name = g_strdup (slot->settings->name);
  RouteSlot       *current;

  if (slot->n_calls == 0 && mb_connection_pool_get_n_open (slot->pool) == 0)
    {
      g_debug ("route=%s old settings released", name);
      g_ptr_array_remove (self->retired, slot);
    }
  /* A connection of the old settings closed: one more for the new. */
  current = g_hash_table_lookup (self->slots, name);
  if (current != NULL)
    mb_scheduler_pump (current);
}

void
mb_scheduler_set_config (MbScheduler *self, MbRelayConfig *config)
{
  g_autoptr (GPtrArray) moved = g_ptr_array_new ();
  g_autoptr (GPtrArray) retired = g_ptr_array_new ();
  g_autoptr (GPtrArray) waiting = g_ptr_array_new ();
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) kept = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer       name;
  RouteSlot     *slot;
  Entry         *entry;

  g_return_if_fail (MB_IS_SCHEDULER (self));
  g_return_if_fail (config != NULL);

  g_clear_pointer (&self->config, mb_relay_config_unref);
  self->config = mb_relay_config_ref (config);

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, &name, (gpointer *)&slot))
    {
      if (slot_is_current (slot, config))
        {
          g_hash_table_add (kept, slot);
          continue;
        }
      g_hash_table_iter_steal (&iter);
      g_free (name);
      retire_slot (self, slot, moved);
      g_ptr_array_add (retired, slot);
    }
  mb_scheduler_add_routes (self);
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&slot))
    {
      RouteSlot *replaced;

      if (g_hash_table_contains (kept, slot))
        continue;
      /* The expiry warning is the secret's, not the settings': it stays
       * until the daemon's next check says otherwise (which a refused
       * secrets file never runs). */
      replaced = find_replaced (retired, slot->settings->name);
      if (replaced != NULL)
        {
          slot->expiry_warning = g_strdup (replaced->expiry_warning);
          slot->secret_expires = replaced->secret_expires;
        }
      /* The store was read before the file changed; the daemon reads it
       * anew and hands it over (mb_scheduler_reload_credentials_async). */
      slot->awaiting_secrets
          = self->credentials != NULL && uses_secrets (slot->settings);
      g_ptr_array_add (added, g_object_ref (slot->route));
    }
  for (guint i = 0; i < added->len; i++)
    g_signal_emit (self, mb_scheduler_signals[SIGNAL_ROUTE_STATE_CHANGED], 0,
                   added->pdata[i]);
  /* Frees those that had nothing under way. */
  for (guint i = 0; i < retired->len; i++)
    mb_scheduler_pump (retired->pdata[i]);

  self->no_route_logged = FALSE;
  /* The moved messages first, in their order; then every waiting one,
   * which may have a route now, or other durations. */
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&entry))
    g_ptr_array_add (waiting, entry);
  g_ptr_array_extend_and_steal (moved, g_steal_pointer (&waiting));
  for (guint i = 0; i < moved->len; i++)
    {
      entry = moved->pdata[i];
      if (entry->place != ENTRY_BUSY)
        mb_scheduler_process (self, entry);
    }
  mb_scheduler_queue_changed (self);
}
